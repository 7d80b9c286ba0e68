"""mlotel's span encoder sends what the SDK's would, for spans of every shape."""

import enum

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as sdk_encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from harness.otlp_receiver import OtlpReceiver
from mlotel.export_health import EXPORT_HEALTH
from mlotel.fastpath import lean_spans
from mlotel.fastpath.lean_spans import LeanSpan
from mlotel.fastpath.span_encoding import GrpcSpanExporter, encode_spans, serialize_spans

pytestmark = [
    pytest.mark.fastpath,  # mlotel.fastpath itself: only on the SDK releases it is tested with
    pytest.mark.usefixtures("each_encoder"),  # on the Python encoder, and on the native one where installed
]


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


def _lean_spans_of_every_shape() -> list[ReadableSpan]:
    """The shapes above as the fast path's own spans make them (a LeanTracer starts no links: they are added)."""
    exporter = InMemorySpanExporter()
    main = _provider(exporter, Resource.create({"service.name": "ml-api", "ünïcødé": "✓"}))
    limited = _provider(exporter, Resource.create({"service.name": "other"}), max_attributes=2, max_events=1, max_links=1,
                        max_event_attributes=1, max_link_attributes=1)
    remote_parent = SpanContext(
        0x1234, 0x5678, is_remote=True, trace_flags=TraceFlags(1), trace_state=TraceState([("vendor", "v1")])
    )
    server = lean_spans.get_tracer("mlotel.http", "1.2.3", "https://s/2", tracer_provider=main)
    prediction = lean_spans.get_tracer("mlotel.prediction", tracer_provider=main)
    span = server.start_span(
        "POST /prédict", context=trace.set_span_in_context(NonRecordingSpan(remote_parent)), kind=SpanKind.SERVER,
        attributes={"http.request.method": "POST", "http.response.status_code": 200, "bytes": b"\x00", "labels": ("a", "b")},
    )
    span.set_attributes({"mean": 0.75, "zero": 0.0, "negative": -5, "big": 2**63 - 1, "empty": "", "flag": False})
    span.add_link(SpanContext(0x9999, 0x8888, is_remote=True, trace_flags=TraceFlags(1)), {"link.attempt": 2})
    with trace.use_span(span, end_on_exit=True):
        child = prediction.start_span("predict iris", attributes={"ml.model.name": "iris", "ml.batch.size": 1})
        child.record_exception(ValueError("mauvaise ligne ✗"))
        child.set_status(Status(StatusCode.ERROR, "ValueError: ✗"))
        child.end()
        prediction.start_span("predict digits", kind=SpanKind.CLIENT).end()
    crowded = lean_spans.get_tracer("x", tracer_provider=limited).start_span("crowded", kind=SpanKind.CONSUMER,
                                                                            attributes={"a": 1, "b": 2, "c": 3})
    crowded.add_event("one")
    crowded.add_event("two", {"a": 1, "b": 2})
    crowded.add_link(remote_parent)
    crowded.add_link(SpanContext(0x9, 0x8, is_remote=False), {"a": 1, "b": 2})
    crowded.end()
    return list(exporter.get_finished_spans())


def _odd_spans(span: ReadableSpan) -> list[ReadableSpan]:
    """Spans made directly, as another SDK's processors might hand them over: values no tracer would let through."""
    values = {
        "bytes": b"\xff\x00", "no bytes": b"", "byte list": [b"a", b"b"], "bytearray": bytearray(b"\x01\x02"),
        "nested": [[1, 2], ["x"]], "mapping": {"k": 1, 2: ["v"]}, "empty list": [], "empty mapping": {}, "none": None,
        "mixed": [1, "a", 0.5, True, None], "negative": -(2**63), "largest": 2**63 - 1, "nan-free float": -1.5e300,
        "": "empty key", "ключ": "значение", "colour": Colour.RED, "level": Level.HIGH,
    }
    return [
        ReadableSpan(name="", context=span.context, resource=span.resource, attributes=values,
                     instrumentation_scope=None, status=Status(StatusCode.OK)),
        ReadableSpan(name="événement", context=span.context, parent=span.parent, resource=span.resource, start_time=0,
                     end_time=None, events=[Event("é", {"a": []}, timestamp=1), Event("", None, timestamp=2)],
                     instrumentation_scope=InstrumentationScope("scope ✓", "", "", {"s": 1}), kind=SpanKind.CLIENT),
    ]


@pytest.fixture(params=["sdk", "lean"])
def spans(request, spans_of_every_shape) -> list[ReadableSpan]:
    if request.param == "sdk":
        return spans_of_every_shape + _odd_spans(spans_of_every_shape[0])
    lean = _lean_spans_of_every_shape()
    assert {type(s) for s in lean} == {LeanSpan}
    return lean


def test_request_equals_the_sdks_field_for_field(spans):
    ours, sdk = encode_spans(spans), sdk_encode_spans(spans)
    assert len(ours.resource_spans) == 2
    assert sum(len(s.spans) for r in ours.resource_spans for s in r.scope_spans) == len(spans)
    assert ours == sdk
    # Byte for byte too: fields in protobuf's order, lengths as protobuf writes them.
    assert serialize_spans(spans) == sdk.SerializeToString()


def test_what_is_kept_encoded_from_one_batch_encodes_the_next_the_same(spans):
    first, again = serialize_spans(spans), serialize_spans(spans)
    assert first == again == sdk_encode_spans(spans).SerializeToString()
    # One span at a time, in another order: each group as the SDK makes it.
    for span in reversed(spans):
        assert serialize_spans([span]) == sdk_encode_spans([span]).SerializeToString()


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


def test_the_exporter_sends_the_bytes_to_a_real_receiver_in_requests_under_its_bound(spans_of_every_shape, each_encoder):
    EXPORT_HEALTH.reset()
    spans = (spans_of_every_shape + _lean_spans_of_every_shape()) * 10
    native = each_encoder == "native"
    with OtlpReceiver() as receiver:
        whole = GrpcSpanExporter(endpoint=receiver.endpoint("grpc"), insecure=True, max_bytes=1 << 20, native=native)
        bounded = GrpcSpanExporter(endpoint=receiver.endpoint("grpc"), insecure=True, max_bytes=2_000, native=native)
        try:
            assert whole.export(spans) is SpanExportResult.SUCCESS
            assert bounded.export(spans) is SpanExportResult.SUCCESS
        finally:
            whole.shutdown()
            bounded.shutdown()
        requests = [request for _, _, request in receiver.requests]
    assert requests[0] == sdk_encode_spans(spans)  # the receiver parsed what protobuf would have sent
    chunks = requests[1:]
    assert len(chunks) > 5 and all(chunk.ByteSize() <= 2_000 for chunk in chunks)
    received = [span for chunk in chunks for r in chunk.resource_spans for s in r.scope_spans for span in s.spans]
    assert [s.span_id for s in received] == [s.context.span_id.to_bytes(8, "big") for s in spans]
    assert EXPORT_HEALTH.snapshot()["traces"]["exported"] == 2 * len(spans)
