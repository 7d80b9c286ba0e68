"""mlotel's span encoder sends what the SDK's would, for spans of every shape."""

import enum

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as sdk_encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from mlotel.fastpath.span_encoding import encode_spans

pytestmark = pytest.mark.fastpath  # mlotel.fastpath itself: only on the SDK releases it is tested with


class Colour(str, enum.Enum):  # noqa: UP042 -- the str-mixin enum users' code has, not StrEnum
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


def _provider(exporter, resource, **limits) -> TracerProvider:
    provider = TracerProvider(resource=resource, span_limits=SpanLimits(**limits) if limits else None)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


@pytest.fixture
def spans_of_every_shape() -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    main = _provider(exporter, Resource.create({"service.name": "ml-api", "process.pid": 42}, schema_url="https://s/1"))
    tracer = main.get_tracer("mlotel.http", "1.2.3", schema_url="https://s/2", attributes={"scope.flag": True})
    other_tracer = main.get_tracer("mlotel.prediction")
    remote_parent = SpanContext(
        0x1234, 0x5678, is_remote=True, trace_flags=TraceFlags(1), trace_state=TraceState([("vendor", "v1")])
    )
    linked = SpanContext(0x9999, 0x8888, is_remote=True, trace_flags=TraceFlags(1))
    with tracer.start_as_current_span(
        "POST /predict",
        context=trace.set_span_in_context(NonRecordingSpan(remote_parent)),
        kind=SpanKind.SERVER,
        links=[Link(linked, {"link.reason": "retry", "link.attempt": 2})],
        attributes={
            "http.request.method": "POST",
            "http.response.status_code": 200,
            "ml.prediction.confidence.mean": 0.75,
            "flag": False,
            "payload": b"\x00\x01",
            "labels": ("setosa", "virginica"),
            "counts": [1, 2, 3],
            "scores": [0.5, 0.25],
            "flags": [True, False],
            "sparse": [1, None, 3],
            "nothing": None,
            "colour": Colour.RED,
            "level": Level.HIGH,
        },
    ):
        with other_tracer.start_as_current_span("predict iris") as span:
            span.add_event("low_confidence", {"threshold": 0.5, "count": 1})
            span.record_exception(ValueError("bad row"))
            span.set_status(Status(StatusCode.ERROR, "ValueError"))
        with other_tracer.start_as_current_span("predict digits", kind=SpanKind.CLIENT) as span:
            span.set_status(Status(StatusCode.OK))
    # A second resource, and limits low enough that attributes, events and links are dropped.
    limited = _provider(
        exporter,
        Resource.create({"service.name": "other"}),
        max_attributes=1,
        max_events=1,
        max_links=1,
        max_event_attributes=1,
        max_link_attributes=1,
    )
    span = limited.get_tracer("x").start_span(
        "crowded",
        kind=SpanKind.PRODUCER,
        attributes={"a": 1, "b": 2},
        # Bounded lists keep the newest: the last link and event are sent, with an attribute dropped.
        links=[Link(remote_parent), Link(linked, {"a": 1, "b": 2})],
    )
    span.add_event("one")
    span.add_event("two", {"a": 1, "b": 2})
    span.end()
    limited.get_tracer("x").start_span("consumer", kind=SpanKind.CONSUMER).end()
    return list(exporter.get_finished_spans())


def test_request_equals_the_sdks_field_for_field(spans_of_every_shape):
    ours, sdk = encode_spans(spans_of_every_shape), sdk_encode_spans(spans_of_every_shape)
    assert len(ours.resource_spans) == 2
    assert sum(len(s.spans) for r in ours.resource_spans for s in r.scope_spans) == len(spans_of_every_shape) == 5
    assert ours == sdk
    assert ours.SerializeToString(deterministic=True) == sdk.SerializeToString(deterministic=True)


def test_a_value_otlp_cannot_carry_is_left_out_and_the_rest_goes(spans_of_every_shape, caplog):
    span = spans_of_every_shape[0]
    odd = ReadableSpan(
        name="odd",
        context=span.context,
        resource=span.resource,
        attributes={"kept": "yes", "object": object(), "huge": 2**70, "surrogate": "\ud800", "also_kept": 1},
        instrumentation_scope=span.instrumentation_scope,
    )
    ours = encode_spans([odd])
    (encoded,) = ours.resource_spans[0].scope_spans[0].spans
    assert [kv.key for kv in encoded.attributes] == ["kept", "also_kept"]
    assert "'object'" in caplog.text
    assert ours == sdk_encode_spans([odd])


def test_spans_from_two_tracers_with_one_scope_share_a_scope_entry():
    exporter = InMemorySpanExporter()
    provider = _provider(exporter, Resource.create({}))
    provider.get_tracer("same", "1").start_span("a").end()
    provider.get_tracer("same", "1").start_span("b").end()
    ours = encode_spans(exporter.get_finished_spans())
    assert [len(s.spans) for s in ours.resource_spans[0].scope_spans] == [2]
    assert ours == sdk_encode_spans(exporter.get_finished_spans())
