"""mlotel's native span encoder (``mlotel_native``): the Python one's bytes, the SDK's, and Python wherever it is absent or off.

The differential tests of every shape are in test_span_encoding.py, run on
both encoders; here, the spans the native encoder writes itself (the fast
path's plain ones), those it hands to Python, and the switch.
"""

import math
import sys

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as sdk_encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from mlotel import TelemetryConfig
from mlotel.fastpath import lean_spans
from mlotel.fastpath.span_encoding import GrpcSpanExporter, serialize_spans
from mlotel.fastpath.span_request import SpanRequestEncoder, span_request_encoder

pytestmark = pytest.mark.fastpath  # mlotel.fastpath itself: only on the SDK releases it is tested with

# Values at the edges of what a plain attribute can be; 2**70 is one OTLP cannot carry (left out, said).
VALUES = [0, 1, -1, 127, 128, 2**63 - 1, -(2**63), 2**70, 0.0, -0.0, 1.5e-300, math.inf, -math.inf, math.nan,
          True, False, "", "x", "ünïcødé ✓ 🙂", "y" * 300]


def _plain_request(**attributes) -> list:
    """A traced request as the fast path makes it, no trace state: what the native encoder writes itself."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "ml-api", "ü": "✓"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    server = lean_spans.get_tracer("mlotel.http", "1.2.3", "https://s/2", tracer_provider=provider)
    prediction = lean_spans.get_tracer("mlotel.prediction", tracer_provider=provider)
    parent = SpanContext(0xABC << 100, 0xDEF << 40, is_remote=True, trace_flags=TraceFlags(1))
    span = server.start_span("POST /prédict", context=trace.set_span_in_context(trace.NonRecordingSpan(parent)),
                             kind=SpanKind.SERVER, attributes={"http.request.method": "POST", **attributes})
    with trace.use_span(span, end_on_exit=True):
        prediction.start_span("predict iris", attributes={"ml.model.name": "iris", "": "no key"}).end()
        failed = prediction.start_span("predict digits", kind=SpanKind.CLIENT, start_time=0)
        failed.set_status(Status(StatusCode.ERROR, "ValueError: ✗"))
        failed.end()
        done = prediction.start_span("", kind=SpanKind.PRODUCER)
        done.set_status(StatusCode.OK)
        done.end(end_time=2**64 - 1)
    return list(exporter.get_finished_spans())


def _handed_to_python(monkeypatch) -> list[str]:
    """The names of the spans the Python encoder is asked for, from now on."""
    asked: list[str] = []
    span = SpanRequestEncoder.span
    monkeypatch.setattr(SpanRequestEncoder, "span", lambda self, s: asked.append(s.name) or span(self, s))
    return asked


@pytest.mark.usefixtures("each_encoder")
@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_a_plain_request_encodes_as_the_sdks_whatever_its_values(value):
    spans = _plain_request(value=value, also=1)
    assert serialize_spans(spans) == serialize_spans(spans) == sdk_encode_spans(spans).SerializeToString()


def test_the_native_encoder_writes_plain_lean_spans_itself_and_hands_python_the_rest(monkeypatch):
    pytest.importorskip("mlotel_native", reason="the native encoder is not installed (no cargo?): nothing to test")
    encoder = span_request_encoder()
    plain = _plain_request(mean=0.75)
    asked = _handed_to_python(monkeypatch)
    assert encoder.encode(plain) == sdk_encode_spans(plain).SerializeToString()
    assert asked == []
    # Beyond int64; an attribute no plain type; events; a trace state: the Python encoder's, for the same bytes.
    odd = _plain_request(huge=2**70) + _plain_request(rows=(1, 2)) + _plain_request()
    odd[-1]._events = (Event("late", {"a": 1}, 5),)  # an ended span takes none: set as an exporter could find it
    state = _plain_request()
    state[0]._context = SpanContext(1, 2, False, TraceFlags(1), TraceState([("k", "v")]))
    spans = odd + state
    assert encoder.encode(spans) == sdk_encode_spans(spans).SerializeToString()
    assert asked == ["POST /prédict", "POST /prédict", "POST /prédict", "predict iris"]


@pytest.mark.usefixtures("each_encoder")
def test_a_span_neither_can_encode_fails_the_same_in_both():
    (span, *_) = _plain_request()
    span._name = "\ud800"  # a name OTLP cannot carry: the SDK's encoder fails the batch too
    with pytest.raises(UnicodeEncodeError):
        serialize_spans([span])


def test_without_the_native_module_or_with_it_switched_off_the_python_encoder_is_used(monkeypatch):
    assert type(span_request_encoder(native=False)) is SpanRequestEncoder
    assert TelemetryConfig.from_env({"MLOTEL_NATIVE": "false"}).native is False
    assert TelemetryConfig.from_env({}).native is True
    monkeypatch.setitem(sys.modules, "mlotel_native", None)  # as where it was never built: its import fails
    assert type(span_request_encoder()) is SpanRequestEncoder
    exporter = GrpcSpanExporter(endpoint="http://127.0.0.1:9", insecure=True)
    try:
        assert type(exporter._encoder) is SpanRequestEncoder
        spans = _plain_request()
        assert exporter._translate_data(spans) == sdk_encode_spans(spans).SerializeToString()
    finally:
        exporter.shutdown()
