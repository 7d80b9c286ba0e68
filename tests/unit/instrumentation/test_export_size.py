"""Span export requests stay under their byte budget: the bound holds and the batch is split, not lost."""

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as sdk_encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, StatusCode, TraceFlags, TraceState

from mlotel.export_size import SizeBoundedSpanExporter, chunks, group_size_bound, span_size_bound
from mlotel.fastpath.span_encoding import encode_spans as fastpath_encode_spans

ENCODERS = [sdk_encode_spans, fastpath_encode_spans]


def _spans(path_length: int = 10, count: int = 1) -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "ml-api", "ünïcode": "värde" * 20}, "https://s/1"))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("mlotel.http", "1.2.3", schema_url="https://s/2", attributes={"scope.flag": True})
    other = provider.get_tracer("mlotel.prediction")
    parent = SpanContext(0x1234, 0x5678, is_remote=True, trace_flags=TraceFlags(1), trace_state=TraceState([("v", "1")]))
    for index in range(count):
        with tracer.start_as_current_span(
            "POST /predict",
            context=trace.set_span_in_context(NonRecordingSpan(parent)),
            kind=SpanKind.SERVER,
            links=[Link(SpanContext(0x99, 0x88, True, TraceFlags(1), TraceState([("k", "v")])), {"attempt": 2})],
            attributes={
                "url.path": "/" + "p" * path_length,
                "emoji": "🙂" * 50,
                "status": 200,
                "negative": -(2**63),
                "ratio": 0.75,
                "flag": False,
                "rows": [1, 2, 3],
                "names": ("a", "ö", ""),
                "index": index,
            },
        ) as span:
            with other.start_as_current_span("predict iris") as inner:
                inner.add_event("batch", {"size": 3, "ok": True, "note": "é" * 30})
                inner.record_exception(ValueError("x" * 200))
                inner.set_status(StatusCode.ERROR, "failed: " + "ø" * 40)
            span.set_attribute("late", "x")
    return list(exporter.get_finished_spans())


def _bound(spans) -> int:
    groups = {(id(s.resource), s.instrumentation_scope): s for s in spans}
    return sum(map(span_size_bound, spans)) + sum(group_size_bound(s.resource, s.instrumentation_scope) for s in groups.values())


@pytest.mark.parametrize("encode", ENCODERS)
@pytest.mark.parametrize("path_length", [0, 10, 5000])
def test_the_bound_is_never_below_the_encoded_size(encode, path_length):
    spans = _spans(path_length, count=3)
    for span in spans:
        assert _bound([span]) >= encode([span]).ByteSize()
    assert _bound(spans) >= encode(spans).ByteSize()
    # An upper bound, not a guess ten times too high (non-ASCII text counts four bytes a character here).
    plain = [s for s in spans if s.name == "POST /predict"]
    assert _bound(plain) < 2 * encode(plain).ByteSize()


@pytest.mark.parametrize("encode", ENCODERS)
def test_chunks_keep_order_and_stay_under_the_budget(encode):
    spans = _spans(path_length=40_000, count=30)  # 60 spans, ~1.2 MB of paths
    budget = 200_000
    parts = list(chunks(spans, budget))
    assert [s for part in parts for s in part] == spans
    assert len(parts) > 1
    assert all(encode(part).ByteSize() <= budget for part in parts)


def test_a_span_over_the_budget_goes_alone():
    spans = _spans(path_length=50_000, count=2)
    parts = list(chunks(spans, 10_000))
    big = [part for part in parts if any(len(s.attributes.get("url.path", "")) > 10_000 for s in part)]
    assert big and all(len(part) == 1 for part in big)
    assert [s for part in parts for s in part] == spans


class _RefusesLarge(SpanExporter):
    """Refuses a request that would be over ``limit`` bytes, as a receiver does with its message limit."""

    def __init__(self, limit: int) -> None:
        self.limit, self.received = limit, []

    def export(self, spans):
        if sdk_encode_spans(spans).ByteSize() > self.limit:
            return SpanExportResult.FAILURE
        self.received.extend(spans)
        return SpanExportResult.SUCCESS


def test_one_refused_request_costs_only_its_own_spans():
    normal = _spans(path_length=10, count=20)
    huge = _spans(path_length=300_000, count=1)
    batch = normal[:20] + huge + normal[20:]
    inner = _RefusesLarge(limit=250_000)
    result = SizeBoundedSpanExporter(inner, max_bytes=250_000).export(batch)
    # The over-budget span went alone and was refused; every other span arrived, in order.
    assert result is SpanExportResult.FAILURE
    assert inner.received == [s for s in batch if len(s.attributes.get("url.path", "")) < 300_000]
    assert len(inner.received) == len(batch) - 1
    assert SizeBoundedSpanExporter(_RefusesLarge(250_000), 250_000).export(normal) is SpanExportResult.SUCCESS
