"""Measurements queued on the request path and recorded by the queue's thread."""

import os
import select

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider

from instrumentation import measurements
from instrumentation.measurements import DROPPED_METRIC, MeasurementQueue
from tests.otlp_receiver import poll_until


class Reader:
    """What the meter provider holds, read without flushing any queue."""

    def __init__(self, reader: InMemoryMetricReader) -> None:
        self._reader = reader

    def metrics(self) -> dict[str, list]:
        data = self._reader.get_metrics_data()
        return {
            metric.name: list(metric.data.data_points)
            for resource_metrics in (data.resource_metrics if data else ())
            for scope_metrics in resource_metrics.scope_metrics
            for metric in scope_metrics.metrics
        }


@pytest.fixture
def meter():
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    yield provider, Reader(reader)
    provider.shutdown()


def _histogram_count(captured: Reader, name: str) -> int:
    return sum(point.count for point in captured.metrics().get(name, []))


def test_the_thread_records_what_requests_queued_with_their_trace_as_exemplar(meter):
    provider, captured = meter
    histogram = provider.get_meter("t").create_histogram("latency")
    queue = MeasurementQueue(provider, interval_seconds=0.05)
    try:
        with TracerProvider().get_tracer("t").start_as_current_span("request") as span:
            queue.put(histogram.record, 0.25, {"route": "/predict"})
        trace_id = span.get_span_context().trace_id
        # Not by this thread: the queue's thread records it within an interval or so.
        (point,) = poll_until(lambda: captured.metrics().get("latency"), timeout=5)
        assert point.count == 1 and point.sum == 0.25 and dict(point.attributes) == {"route": "/predict"}
        (exemplar,) = [e for e in point.exemplars]
        assert exemplar.trace_id == trace_id and exemplar.value == 0.25
    finally:
        queue.shutdown()


def test_nothing_is_recorded_in_place_and_force_flush_records_it_all(meter):
    provider, captured = meter
    counter = provider.get_meter("t").create_counter("predictions")
    queue = MeasurementQueue(provider, interval_seconds=3600)  # the thread stays asleep
    try:
        for _ in range(3):
            queue.put(counter.add, 1, {"label": "setosa"})
        assert "predictions" not in captured.metrics()
        queue.force_flush()
        (point,) = captured.metrics()["predictions"]
        assert point.value == 3
    finally:
        queue.shutdown()


def test_a_full_queue_turns_measurements_away_and_counts_them(meter):
    provider, captured = meter
    counter = provider.get_meter("t").create_counter("predictions")
    queue = MeasurementQueue(provider, max_size=2, interval_seconds=3600)
    try:
        for _ in range(5):
            queue.put(counter.add, 1, {})
        queue.force_flush()
        (recorded,) = captured.metrics()["predictions"]
        (dropped,) = captured.metrics()[DROPPED_METRIC]
        assert (recorded.value, dropped.value) == (2, 3)
    finally:
        queue.shutdown()


def test_a_failing_measurement_is_logged_and_the_rest_are_recorded(meter, caplog):
    provider, captured = meter
    counter = provider.get_meter("t").create_counter("predictions")
    queue = MeasurementQueue(provider, interval_seconds=3600)

    def broken(value, attributes, context=None):
        raise RuntimeError("instrument broke")

    try:
        queue.put(broken, 1, {})
        queue.put(counter.add, 1, {})
        queue.force_flush()
        assert captured.metrics()["predictions"][0].value == 1
        assert "Recording a measurement failed" in caplog.text and "instrument broke" in caplog.text
    finally:
        queue.shutdown()


def test_shutdown_records_what_is_still_queued(meter):
    provider, captured = meter
    histogram = provider.get_meter("t").create_histogram("latency")
    queue = MeasurementQueue(provider, interval_seconds=3600)
    queue.put(histogram.record, 1.0, {})
    queue.shutdown()
    assert _histogram_count(captured, "latency") == 1


def test_without_an_installed_queue_record_records_in_place(meter):
    provider, captured = meter
    histogram = provider.get_meter("t").create_histogram("latency")
    assert measurements.installed() is None
    measurements.record(histogram.record, 0.5, {})
    assert _histogram_count(captured, "latency") == 1


def test_with_an_installed_queue_record_queues(meter):
    provider, captured = meter
    histogram = provider.get_meter("t").create_histogram("latency")
    queue = MeasurementQueue(provider, interval_seconds=3600)
    measurements.install(queue)
    try:
        measurements.record(histogram.record, 0.5, {})
        assert _histogram_count(captured, "latency") == 0
        queue.force_flush()
        assert _histogram_count(captured, "latency") == 1
    finally:
        queue.shutdown()
    assert measurements.installed() is None  # a queue that shuts down uninstalls itself


@pytest.fixture
def pipe():
    read_end, write_end = os.pipe()
    yield read_end, write_end
    os.close(read_end)
    os.close(write_end)


def _exit_code_of_child(body) -> int:
    """Fork; the child runs ``body`` and exits 0 if it returns true. Returns the child's exit code."""
    pid = os.fork()
    if pid == 0:
        os._exit(0 if body() else 1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _writes(fd: int, word: bytes):
    """A stand-in record method that writes ``word`` to ``fd`` when called."""
    return lambda value, attributes, context=None: os.write(fd, word)


def test_a_child_forked_after_set_up_gets_its_own_recording_thread(meter, pipe):
    provider, _ = meter
    read_end, write_end = pipe
    queue = MeasurementQueue(provider, interval_seconds=0.05)

    def child() -> bool:  # queue one measurement and leave it to the child's thread
        queue.put(_writes(write_end, b"recorded"), 1, {})
        ready, _, _ = select.select([read_end], [], [], 5)
        return bool(ready)

    try:
        assert _exit_code_of_child(child) == 0
        assert os.read(read_end, 100) == b"recorded"
    finally:
        queue.shutdown()


def test_a_forked_child_leaves_the_parents_queued_measurements_to_the_parent(meter, pipe):
    provider, _ = meter
    read_end, write_end = pipe
    queue = MeasurementQueue(provider, interval_seconds=3600)

    def child() -> bool:
        queue.force_flush()  # must not record the parent's measurement a second time
        queue.put(_writes(write_end, b"child;"), 1, {})
        queue.force_flush()
        return True

    try:
        queue.put(_writes(write_end, b"parent;"), 1, {})
        assert _exit_code_of_child(child) == 0
        queue.force_flush()
        assert os.read(read_end, 100) == b"child;parent;"
    finally:
        queue.shutdown()
