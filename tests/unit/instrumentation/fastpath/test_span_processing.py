"""Lean spans through the SDK's batch span processor: queued, bounded, dropped and exported as SDK spans are."""

import random
import threading

import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult

from mlotel.fastpath import lean_spans
from mlotel.fastpath.span_encoding import encode_spans

pytestmark = pytest.mark.fastpath


def _batched(sampler=None, **options):
    provider = TracerProvider(resource=Resource.create({"service.name": "ml-api"}), sampler=sampler)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=3_600_000, **options))
    return provider, exporter


def _requests(tracer, count):
    for n in range(count):
        server = tracer.start_span("POST /predict", kind=trace.SpanKind.SERVER, attributes={"n": n}, start_time=1)
        tracer.start_span("predict iris", context=trace.set_span_in_context(server), start_time=2).end(end_time=3)
        server.end(end_time=4)


def test_spans_through_a_batch_processor_export_as_sdk_spans_with_the_same_random_ids():
    exported = []
    for lean in (False, True):
        provider, exporter = _batched()
        tracer = lean_spans.get_tracer("t", tracer_provider=provider) if lean else provider.get_tracer("t")
        random.seed(24)  # the same draws: the SDK's RandomIdGenerator and a lean tracer draw ids in the same order
        _requests(tracer, 3)
        provider.force_flush()
        exported.append(encode_spans(exporter.get_finished_spans()))
        provider.shutdown()
    assert exported[0] == exported[1]
    assert exported[1].resource_spans[0].scope_spans[0].spans[0].flags & 0x100  # W3C's random trace id flag


def _points(reader):
    """The batch processor's self-metrics: (name, attributes) -> value; each processor's name is numbered apart."""
    found = {}
    for resource_metrics in reader.get_metrics_data().resource_metrics:
        for scope in resource_metrics.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    attributes = {k: v for k, v in point.attributes.items() if k != "otel.component.name"}
                    found[(metric.name, tuple(sorted(attributes.items())))] = getattr(point, "value", None)
    return found


def test_a_full_queue_drops_and_counts_as_the_sdks_and_a_shut_down_one_takes_nothing():
    # It reads private SDK modules: imported where the test runs, so that releases without them still collect the file.
    from mlotel.fastpath.sdk_metrics import count_drops

    results = []
    for lean in (False, True):
        reader = InMemoryMetricReader()
        provider, exporter = _batched(max_queue_size=3, max_export_batch_size=3)
        processor = provider._active_span_processor._span_processors[0]
        count_drops(processor, MeterProvider(metric_readers=[reader]))  # as mlotel's setup does
        batch = processor._batch_processor
        # Its worker sleeps on the event it has, so that the queue fills up: woken at shutdown only.
        sleeping_on, batch._worker_awaken = batch._worker_awaken, threading.Event()
        tracer = lean_spans.get_tracer("t", tracer_provider=provider) if lean else provider.get_tracer("t")
        _requests(tracer, 3)  # six spans into a queue of three
        provider.force_flush()
        names = [s.name for s in exporter.get_finished_spans()]
        batch._worker_awaken = sleeping_on
        provider.shutdown()
        _requests(tracer, 1)
        results.append((names, len(exporter.get_finished_spans()), _points(reader)))
    assert results[0] == results[1]
    names, exported, points = results[1]
    assert len(names) == exported == 3
    dropped = {key: value for key, value in points.items() if ("error.type", "queue_full") in key[1]}
    assert list(dropped.values()) == [3]


def test_a_processor_added_later_sees_the_next_spans_and_spans_not_sampled_are_not_queued():
    provider, exporter = _batched()
    tracer = lean_spans.get_tracer("t", tracer_provider=provider)
    tracer.start_span("before").end()
    seen = []

    class Watching(SpanProcessor):
        def on_start(self, span, parent_context=None):
            seen.append(("start", span.name))

        def on_end(self, span):
            seen.append(("end", span.name))

    provider.add_span_processor(Watching())
    tracer.start_span("after").end()
    assert seen == [("start", "after"), ("end", "after")]

    class RecordOnly(Sampler):
        def should_sample(self, *args, **kwargs):
            return SamplingResult(Decision.RECORD_ONLY)

        def get_description(self):
            return "RecordOnly"

    unsampled_provider, unsampled_exporter = _batched(RecordOnly())
    unsampled_tracer = lean_spans.get_tracer("t", tracer_provider=unsampled_provider)
    span = unsampled_tracer.start_span("recorded, not sampled")
    assert span.is_recording()
    span.end()
    provider.force_flush()
    unsampled_provider.force_flush()
    assert [s.name for s in exporter.get_finished_spans()] == ["before", "after"]
    assert unsampled_exporter.get_finished_spans() == ()
    provider.shutdown()
    unsampled_provider.shutdown()
