"""Measurements queued on the request path and recorded by the queue's thread."""

import gc
import os
import select
import weakref

import pytest
from opentelemetry import context, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider

from harness.processes import poll_until
from mlotel.fastpath import measurements
from mlotel.fastpath.measurements import DROPPED_METRIC, MeasurementQueue

pytestmark = pytest.mark.fastpath  # mlotel.fastpath itself: only on the SDK releases it is tested with


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


@pytest.fixture
def idle_queue(meter):
    """A queue whose thread stays asleep: only the test's ``force_flush`` records."""
    queue = MeasurementQueue(meter[0], interval_seconds=3600)
    yield queue
    queue.shutdown()


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


def test_nothing_is_recorded_in_place_and_force_flush_records_it_all(meter, idle_queue):
    provider, captured = meter
    counter = provider.get_meter("t").create_counter("predictions")
    for _ in range(3):
        idle_queue.put(counter.add, 1, {"label": "setosa"})
    assert "predictions" not in captured.metrics()
    idle_queue.force_flush()
    (point,) = captured.metrics()["predictions"]
    assert point.value == 3


class CallsOf:
    """An instrument's ``add`` that also notes each call the SDK gets."""

    def __init__(self, counter) -> None:
        self.counter, self.calls = counter, []

    def add(self, value, attributes, context=None) -> None:
        self.calls.append((value, dict(attributes)))
        self.counter.add(value, attributes, context=context)


def test_counter_increments_are_summed_and_the_last_keeps_its_trace_as_exemplar(meter, idle_queue):
    provider, captured = meter
    counter = CallsOf(provider.get_meter("t").create_counter("predictions"))
    histogram = provider.get_meter("t").create_histogram("confidence")
    setosa, versicolor = {"label": "setosa"}, {"label": "versicolor"}
    tracer = TracerProvider().get_tracer("t")
    requests = []
    for label in (setosa, setosa, versicolor, setosa):
        with tracer.start_as_current_span("request") as request:
            idle_queue.put(counter.add, 1, label, summed=True)
            idle_queue.put(histogram.record, 0.9, label)
        requests.append((label["label"], request.get_span_context()))
    with tracer.start_as_current_span("flushing"):
        idle_queue.force_flush()  # where another span is current: the sum must not claim it
    # Per attribute set: the earlier increments as one sum, the last one on its own.
    assert sorted(counter.calls, key=str) == [(1, {"label": "setosa"}), (1, {"label": "versicolor"}), (2, {"label": "setosa"})]
    collected = captured.metrics()  # once: the SDK hands each exemplar out once
    points = {point.attributes["label"]: point for point in collected["predictions"]}
    assert (points["setosa"].value, points["versicolor"].value) == (3, 1)
    last = dict(requests)  # each label's last request
    for label, point in points.items():
        (exemplar,) = point.exemplars
        assert (exemplar.trace_id, exemplar.span_id, exemplar.value) == (last[label].trace_id, last[label].span_id, 1)
    # Histogram measurements are not summed: each recorded, each may be an exemplar.
    assert sum(point.count for point in collected["confidence"]) == 4
    assert [e for point in collected["confidence"] for e in point.exemplars]


def test_equal_but_distinct_attribute_dicts_are_recorded_apart_and_still_add_up(meter, idle_queue):
    provider, captured = meter
    counter = CallsOf(provider.get_meter("t").create_counter("predictions"))
    for _ in range(3):
        idle_queue.put(counter.add, 1, {"label": "setosa"}, summed=True)
    idle_queue.force_flush()
    assert len(counter.calls) == 3
    assert captured.metrics()["predictions"][0].value == 3


def test_force_flush_records_what_was_queued_when_it_began(meter, idle_queue):
    provider, captured = meter
    counter = provider.get_meter("t").create_counter("predictions")
    attributes = {"label": "setosa"}
    requeued: list[int] = []

    def add_and_queue_more(value, attributes_, context=None):
        counter.add(value, attributes_, context=context)
        if len(requeued) < 100:  # bounded: a flush that chases new measurements fails here instead of hanging
            requeued.append(1)
            idle_queue.put(add_and_queue_more, 1, attributes)  # a request queueing while the thread records

    idle_queue.put(add_and_queue_more, 1, attributes)
    idle_queue.put(counter.add, 1, attributes, summed=True)
    idle_queue.force_flush()
    assert captured.metrics()["predictions"][0].value == 2


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


def test_a_failing_measurement_is_logged_and_the_rest_are_recorded(meter, idle_queue, caplog):
    provider, captured = meter
    counter = provider.get_meter("t").create_counter("predictions")

    def broken(value, attributes, context=None):
        raise RuntimeError("instrument broke")

    idle_queue.put(broken, 1, {})
    idle_queue.put(counter.add, 1, {})
    idle_queue.force_flush()
    assert captured.metrics()["predictions"][0].value == 1
    assert "Recording a measurement failed" in caplog.text and "instrument broke" in caplog.text


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


def test_add_queues_a_summed_increment_or_adds_in_place_without_a_queue(meter, idle_queue):
    provider, captured = meter
    counter = CallsOf(provider.get_meter("t").create_counter("predictions"))
    attributes = {"label": "setosa"}
    measurements.add(counter.add, 1, attributes)
    assert counter.calls == [(1, attributes)]
    measurements.install(idle_queue)  # uninstalled again when the fixture shuts it down
    measurements.add(counter.add, 1, attributes)
    measurements.add(counter.add, 1, attributes)
    assert len(counter.calls) == 1
    idle_queue.force_flush()
    assert counter.calls[1:] == [(1, attributes), (1, attributes)]  # the sum of those before the last, and the last
    assert captured.metrics()["predictions"][0].value == 3


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


def test_a_forked_child_leaves_the_parents_queued_measurements_to_the_parent(idle_queue, pipe):
    read_end, write_end = pipe

    def child() -> bool:
        idle_queue.force_flush()  # must not record the parent's measurement a second time
        idle_queue.put(_writes(write_end, b"child;"), 1, {})
        idle_queue.force_flush()
        return True

    idle_queue.put(_writes(write_end, b"parent;"), 1, {})
    assert _exit_code_of_child(child) == 0
    idle_queue.force_flush()
    assert os.read(read_end, 100) == b"child;parent;"


def test_a_predictions_measurements_are_one_entry_recorded_as_each_alone_with_its_trace(meter, idle_queue):
    provider, captured = meter
    meter_ = provider.get_meter("t")
    histogram, counter = meter_.create_histogram("confidence"), CallsOf(meter_.create_counter("predictions"))
    setosa, versicolor = {"label": "setosa"}, {"label": "versicolor"}
    measurements.install(idle_queue)  # uninstalled again when the fixture shuts it down
    with TracerProvider().get_tracer("t").start_as_current_span("predict") as span:
        measurements.record_all([histogram.record, 0.9, setosa, False, counter.add, 1, setosa, True,
                                 histogram.record, 0.4, versicolor, False, counter.add, 1, versicolor, True,
                                 counter.add, 1, setosa, True, span])
    assert len(idle_queue._queue) == 1 and "confidence" not in captured.metrics()
    idle_queue.force_flush()
    # Summed per attribute set as add() entries are: the sum before the last, then the last.
    assert counter.calls == [(1, setosa), (1, setosa), (1, versicolor)]
    points = {point.attributes["label"]: point for point in captured.metrics()["confidence"]}
    assert {label: (point.count, point.sum) for label, point in points.items()} == {"setosa": (1, 0.9), "versicolor": (1, 0.4)}
    assert {point.exemplars[0].span_id for point in points.values()} == {span.get_span_context().span_id}


def test_a_predictions_entry_keeps_its_span_not_the_context_it_was_taken_in(meter, idle_queue):
    provider, captured = meter
    histogram = provider.get_meter("t").create_histogram("confidence")
    measurements.install(idle_queue)

    class UnderWay:  # what the recorder puts in the prediction's context: with it, all it holds
        pass

    under_way = UnderWay()
    kept = weakref.ref(under_way)
    with TracerProvider().get_tracer("t").start_as_current_span("predict") as span:
        token = context.attach(context.set_value("prediction", under_way))
        measurements.record_all([histogram.record, 0.9, {}, False, span])
        context.detach(token)
    del under_way
    gc.collect()
    assert kept() is None and len(idle_queue._queue) == 1  # queued, and the context's values gone
    idle_queue.force_flush()
    (point,) = captured.metrics()["confidence"]
    assert point.exemplars[0].span_id == span.get_span_context().span_id


def test_without_an_installed_queue_record_all_records_each_in_place(meter):
    provider, captured = meter
    histogram = provider.get_meter("t").create_histogram("latency")
    measurements.record_all([histogram.record, 0.5, {}, False, histogram.record, 0.7, {}, False, trace.INVALID_SPAN])
    assert _histogram_count(captured, "latency") == 2


def test_the_bound_counts_measurements_not_entries(meter):
    provider, captured = meter
    counter = provider.get_meter("t").create_counter("predictions")
    queue = MeasurementQueue(provider, max_size=4, interval_seconds=3600)
    measurements.install(queue)
    try:
        measurements.record_all([counter.add, 1, {}, True] * 4 + [trace.INVALID_SPAN])  # a prediction of four measurements
        measurements.add(counter.add, 1, {})  # one entry, but the queue holds four measurements: turned away
        measurements.record_all([counter.add, 1, {}, True] * 2 + [trace.INVALID_SPAN])  # turned away too
        queue.force_flush()
        measurements.add(counter.add, 1, {})  # room again once drained
        queue.force_flush()
        (recorded,) = captured.metrics()["predictions"]
        (dropped,) = captured.metrics()[DROPPED_METRIC]
        assert (recorded.value, dropped.value) == (5, 3)
    finally:
        queue.shutdown()
