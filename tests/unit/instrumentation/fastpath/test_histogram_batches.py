"""Histogram measurements recorded in batches come out as the SDK's record() of each makes them."""

import math

import pytest
from opentelemetry.context import attach, detach
from opentelemetry.sdk.metrics import AlwaysOnExemplarFilter, Histogram, MeterProvider, TraceBasedExemplarFilter
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import set_span_in_context

from mlotel.fastpath import histogram_batches
from mlotel.fastpath.measurements import MeasurementQueue

pytestmark = pytest.mark.fastpath  # mlotel.fastpath itself: only on the SDK releases it is tested with

BOUNDS = (0.1, 0.5, 0.9)
NAMES = ("confidence", "labelled", "exponential")


def _provider(temporality: AggregationTemporality, exemplar_filter=None) -> tuple[MeterProvider, InMemoryMetricReader]:
    reader = InMemoryMetricReader(preferred_temporality={Histogram: temporality})
    views = [
        View(instrument_name="confidence", aggregation=ExplicitBucketHistogramAggregation(BOUNDS)),
        # Only the label is kept: the rest of a measurement's attributes go to its exemplar.
        View(instrument_name="labelled", attribute_keys={"label"}),
        View(instrument_name="exponential", aggregation=ExponentialBucketHistogramAggregation()),
    ]
    exemplar_filter = exemplar_filter or TraceBasedExemplarFilter()
    return MeterProvider(metric_readers=[reader], views=views, exemplar_filter=exemplar_filter), reader


def _points(reader: InMemoryMetricReader) -> dict:
    """Each point's fields, exemplars by value, trace and span, without the clock's readings."""
    data = reader.get_metrics_data()
    found = {}
    for metric in (m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics):
        if metric.name not in NAMES:  # the queue's own dropped count
            continue
        for point in metric.data.data_points:
            exemplars = sorted(
                (e.value, e.trace_id, e.span_id, dict(e.filtered_attributes or {})) for e in point.exemplars
            )
            key = (metric.name, tuple(sorted(point.attributes.items())))
            buckets = getattr(point, "bucket_counts", None) or tuple(point.positive.bucket_counts)
            found[key] = (point.count, point.sum, buckets, point.min, point.max, exemplars)
    return found


def _measurements():
    """Values with the contexts they were taken in: sampled spans, an unsampled one, none.

    In some buckets the last value is not sampled: the exemplar is the one before it.
    """
    sampled = TracerProvider().get_tracer("t")
    unsampled = TracerProvider(sampler=ALWAYS_OFF).get_tracer("t")
    traced = [set_span_in_context(sampled.start_span(f"r{i}")) for i in range(4)]
    dropped = set_span_in_context(unsampled.start_span("dropped"))
    return [(0.05, traced[0]), (0.3, traced[1]), (0.7, traced[2]), (0.95, traced[3]), (0.32, dropped),
            (0.99, None), (0.31, traced[0]), (0.1, traced[1]), (0.5, dropped), (0.2, None), (0.6, traced[2])]


@pytest.mark.parametrize("temporality", [AggregationTemporality.CUMULATIVE, AggregationTemporality.DELTA])
@pytest.mark.parametrize("exemplar_filter", [TraceBasedExemplarFilter, AlwaysOnExemplarFilter])
def test_a_batch_records_what_the_sdk_records_one_by_one(temporality, exemplar_filter):
    in_place, in_place_reader = _provider(temporality, exemplar_filter())
    batched, batched_reader = _provider(temporality, exemplar_filter())
    queue = MeasurementQueue(batched, interval_seconds=3600)
    try:
        attribute_sets = [{"label": "setosa", "model": "iris"}, {"label": "virginica", "model": "iris"}]
        instruments = [(in_place.get_meter("t").create_histogram(name), batched.get_meter("t").create_histogram(name))
                       for name in NAMES]
        for shift in (0, 0.2):  # a second batch into the same aggregations, read after each
            for sdk, ours in instruments:
                for index, (value, context) in enumerate(_measurements()):
                    attributes = attribute_sets[index // 6]
                    sdk.record(value + shift, attributes, context=context)
                    token = attach(context) if context is not None else None
                    queue.put(ours.record, value + shift, attributes)  # in the context it was taken in
                    if token is not None:
                        detach(token)
            queue.force_flush()
            expected = _points(in_place_reader)
            assert len(expected) == 6 and all(point[5] for point in expected.values())  # exemplars to compare
            assert _points(batched_reader) == expected
        assert histogram_batches.foldable(instruments[0][1].record)
    finally:
        queue.shutdown()
        in_place.shutdown()
        batched.shutdown()


@pytest.mark.parametrize(
    ("refused", "warnings"),
    [((math.nan, -1.0), ("not finite", "non-negative")), ((math.nan,), ("not finite",)), ((math.inf,), ("not finite",))],
)
def test_values_the_sdk_refuses_are_left_to_its_record(caplog, refused, warnings):
    provider, reader = _provider(AggregationTemporality.CUMULATIVE)
    queue = MeasurementQueue(provider, interval_seconds=3600)
    try:
        histogram = provider.get_meter("t").create_histogram("confidence")
        for value in (0.5, *refused, 0.7):
            queue.put(histogram.record, value, {"label": "setosa"})
        queue.force_flush()
        ((count, total, *_),) = _points(reader).values()
        assert (count, total) == (2, 1.2)
        assert all(warning in caplog.text for warning in warnings)
    finally:
        queue.shutdown()
        provider.shutdown()


def test_other_callables_are_not_folded():
    provider, _ = _provider(AggregationTemporality.CUMULATIVE)
    try:
        assert not histogram_batches.foldable(provider.get_meter("t").create_counter("c").add)
        assert not histogram_batches.foldable(lambda value, attributes, context=None: None)
    finally:
        provider.shutdown()
