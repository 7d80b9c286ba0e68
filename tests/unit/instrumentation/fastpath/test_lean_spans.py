"""A LeanSpan exports what an SDK span would, given the same calls, and honours the SDK's pipeline."""

import itertools
from enum import StrEnum

import pytest
from opentelemetry import context, trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as sdk_encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanLimits, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace import Tracer as SdkTracer
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased, TraceIdRatioBased
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from mlotel.fastpath import contexts, lean_spans
from mlotel.fastpath.lean_spans import LeanSpan, LeanTracer
from mlotel.fastpath.span_encoding import encode_spans
from mlotel.plain_attributes import PlainAttributes, plain

pytestmark = pytest.mark.fastpath  # mlotel.fastpath itself: only on the SDK releases it is tested with


class CountingIds(IdGenerator):
    """The same ids in the same order for each provider, so that two pipelines can be compared."""

    def __init__(self) -> None:
        self._next = itertools.count(0x1000_0000_0000_0000, 0x0123_4567_89AB_CDEF)

    def generate_span_id(self) -> int:
        return next(self._next) & 0xFFFF_FFFF_FFFF_FFFF

    def generate_trace_id(self) -> int:
        return next(self._next) << 64 | next(self._next)


def _pipeline(sampler=ALWAYS_ON, **limits) -> tuple[TracerProvider, InMemorySpanExporter]:
    provider = TracerProvider(
        resource=Resource.create({"service.name": "ml-api"}),
        sampler=sampler,
        id_generator=CountingIds(),
        span_limits=SpanLimits(**limits) if limits else None,
    )
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def _sdk_and_lean(sampler=ALWAYS_ON, **limits):
    """An SDK tracer and a LeanTracer over a twin provider, each with its exporter."""
    sdk_provider, sdk_exporter = _pipeline(sampler, **limits)
    lean_provider, lean_exporter = _pipeline(sampler, **limits)
    lean = lean_spans.get_tracer("mlotel.http", tracer_provider=lean_provider)
    assert isinstance(lean, LeanTracer)
    return (sdk_provider.get_tracer("mlotel.http"), sdk_exporter), (lean, lean_exporter)


REMOTE_PARENT = SpanContext(
    0xABC, 0xDEF, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED), trace_state=TraceState([("v", "1")])
)


def _a_request(tracer) -> None:
    """What the middleware and the recorder do, and what a user may do to a span they are handed."""
    server = tracer.start_span(
        "POST",
        context=trace.set_span_in_context(NonRecordingSpan(REMOTE_PARENT)),
        kind=SpanKind.SERVER,
        attributes={"http.request.method": "POST", "url.path": "/predict", "ok": True, "tags": ["a", "b"]},
        start_time=1_000,
    )
    server.set_attributes({"http.response.status_code": 200, "http.route": "/predict"})
    server.update_name("POST /predict")
    predict = tracer.start_span(
        "predict iris", context=trace.set_span_in_context(server), attributes={"ml.batch.size": 2}, start_time=2_000
    )
    predict.set_attribute("ml.prediction.confidence.mean", 0.75)
    predict.set_attribute("ml.batch.size", 3)  # set again: moves to the end
    predict.set_attribute("payload", b"\x00\x01")
    predict.set_attribute("counts", (1, 2, 3))
    predict.set_attribute("sparse", [1, None, 3])
    predict.set_attribute("", "no key")
    predict.set_attribute(7, "not a string key")
    predict.set_attributes({8: "key made a string", "": "no key", "opaque": object(), "error": ValueError("a string")})
    predict.add_event("low_confidence", {"count": 1, "threshold": 0.5}, timestamp=3_000)
    predict.add_link(SpanContext(0x9, 0x8, is_remote=True), {"reason": "retry"})
    predict.add_link(trace.INVALID_SPAN_CONTEXT)  # neither valid nor carrying anything: not kept
    try:
        raise ValueError("bad row")
    except ValueError as error:
        predict.record_exception(error, {"extra": 1}, timestamp=4_000, escaped=True)
    predict.set_status(Status(StatusCode.ERROR, "ValueError"))
    predict.set_status(StatusCode.UNSET)  # never replaces a status
    predict.end(end_time=5_000)
    predict.set_attribute("after", 1)  # ended: ignored
    predict.update_name("renamed")
    predict.add_event("late")
    predict.end(end_time=6_000)
    server.set_status(StatusCode.OK)
    server.set_status(StatusCode.ERROR, "OK is final")
    server.end(end_time=7_000)


def _exported(exporter):
    spans = exporter.get_finished_spans()
    return sdk_encode_spans(spans), encode_spans(spans), spans


@pytest.mark.usefixtures("each_encoder")  # mlotel's encoders, Python and native
def test_a_request_exports_field_for_field_as_with_sdk_spans():
    (sdk, sdk_exporter), (lean, lean_exporter) = _sdk_and_lean()
    _a_request(sdk)
    _a_request(lean)
    sdk_request, _, _ = _exported(sdk_exporter)
    lean_request, lean_ours, lean_finished = _exported(lean_exporter)
    assert [type(s) for s in lean_finished] == [LeanSpan, LeanSpan]
    assert [s.name for s in lean_finished] == ["predict iris", "POST /predict"]
    assert lean_request == sdk_request
    assert lean_ours == sdk_request  # mlotel's encoder reads a LeanSpan as the SDK's does
    assert lean_finished[0].dropped_attributes == 3
    # What the console exporter prints.
    assert lean_finished[1].to_json() == sdk_exporter.get_finished_spans()[1].to_json()


# Attributes as a dict, and as the checked-once dicts the middleware and the recorder hand spans.
as_given_and_checked = pytest.mark.parametrize("made", [dict, plain], ids=["dict", "plain"])


@as_given_and_checked
def test_the_providers_limits_hold_as_for_sdk_spans(made):
    limits = dict(
        max_span_attributes=2, max_attribute_length=4, max_events=1, max_event_attributes=1, max_links=1,
        max_link_attributes=1,
    )
    (sdk, sdk_exporter), (lean, lean_exporter) = _sdk_and_lean(**limits)
    for tracer in (sdk, lean):
        span = tracer.start_span("crowded", attributes=made({"a": "truncated", "b": 2, "c": 3}), start_time=1)
        span.set_attributes({"b": ("long", "longer"), "d": "truncated"})
        span.set_attributes(made({"e": "fits"}))  # short enough, but no room: the oldest goes
        span.add_event("one", timestamp=2)
        span.add_event("two", {"x": 1, "y": "truncated"}, timestamp=3)
        span.add_link(SpanContext(0x9, 0x8, is_remote=False), {"x": 1, "y": 2})
        span.add_link(SpanContext(0x7, 0x6, is_remote=False))
        span.end(end_time=4)
    ((lean_span,), (sdk_span,)) = lean_exporter.get_finished_spans(), sdk_exporter.get_finished_spans()
    assert dict(lean_span.attributes) == {"d": "trun", "e": "fits"}
    dropped = [(s.dropped_attributes, s.dropped_events, s.dropped_links) for s in (lean_span, sdk_span)]
    assert dropped == [(3, 1, 1), (3, 1, 1)]
    assert _exported(lean_exporter)[0] == _exported(sdk_exporter)[0]


@as_given_and_checked
def test_limits_of_zero_drop_and_count_everything_as_for_sdk_spans(made):
    (sdk, sdk_exporter), (lean, lean_exporter) = _sdk_and_lean(max_span_attributes=0, max_events=0, max_links=0)
    for tracer in (sdk, lean):
        span = tracer.start_span("bare", attributes=made({"a": 1}), start_time=1)
        span.set_attribute("b", 2)
        for n in range(3):
            span.add_event(f"event {n}", timestamp=2)
            span.add_link(SpanContext(0x9 + n, 0x8, is_remote=False))
        span.end(end_time=3)
    ((lean_span,), (sdk_span,)) = lean_exporter.get_finished_spans(), sdk_exporter.get_finished_spans()
    dropped = [(s.dropped_attributes, s.dropped_events, s.dropped_links) for s in (lean_span, sdk_span)]
    assert dropped == [(2, 3, 3), (2, 3, 3)]
    assert _exported(lean_exporter)[0] == _exported(sdk_exporter)[0]


@pytest.mark.parametrize(
    "sampler, parent_flags",
    [
        (ALWAYS_OFF, TraceFlags.SAMPLED),
        (ParentBased(ALWAYS_ON), TraceFlags.DEFAULT),  # an unsampled caller: not recorded
        (ParentBased(ALWAYS_ON), TraceFlags.SAMPLED | TraceFlags.RANDOM_TRACE_ID),
        (TraceIdRatioBased(0.5), TraceFlags.SAMPLED),
    ],
)
def test_the_providers_sampler_decides_as_for_sdk_spans(sampler, parent_flags):
    (sdk, sdk_exporter), (lean, lean_exporter) = _sdk_and_lean(sampler)
    parent = trace.set_span_in_context(NonRecordingSpan(SpanContext(0xABC, 0xDEF, True, TraceFlags(parent_flags))))
    started = {
        tracer: [tracer.start_span("root", start_time=1) for _ in range(8)]
        + [tracer.start_span("child", context=parent, start_time=1)]
        for tracer in (sdk, lean)
    }
    for sdk_span, lean_span in zip(started[sdk], started[lean]):
        assert lean_span.get_span_context() == sdk_span.get_span_context()
        assert lean_span.get_span_context().trace_flags == sdk_span.get_span_context().trace_flags
        assert lean_span.is_recording() == sdk_span.is_recording()
        assert type(lean_span) is (LeanSpan if sdk_span.is_recording() else NonRecordingSpan)
        sdk_span.end(end_time=10)
        lean_span.end(end_time=10)
    assert _exported(lean_exporter)[0] == _exported(sdk_exporter)[0]


def test_span_processors_see_each_span_start_with_its_parent_context_and_end():
    seen = []

    class Watching(SpanProcessor):
        def on_start(self, span, parent_context=None):
            seen.append(("start", span, parent_context))

        def on_end(self, span):
            seen.append(("end", span, None))

    provider = TracerProvider()
    provider.add_span_processor(Watching())
    tracer = lean_spans.get_tracer("t", tracer_provider=provider)
    parent_context = trace.set_span_in_context(NonRecordingSpan(REMOTE_PARENT))
    span = tracer.start_span("work", context=parent_context)
    span.end()
    assert seen == [("start", span, parent_context), ("end", span, None)]
    assert span.parent == REMOTE_PARENT and span.get_span_context().trace_id == REMOTE_PARENT.trace_id


def test_another_sdks_tracer_is_used_as_it_is():
    assert isinstance(lean_spans.get_tracer("t", tracer_provider=trace.NoOpTracerProvider()), trace.NoOpTracer)


def test_a_tracer_its_provider_switched_off_starts_no_span():
    from opentelemetry.sdk.trace import _TracerConfig  # experimental in the SDK, hence private

    provider, exporter = _pipeline()
    tracer = lean_spans.get_tracer("off", tracer_provider=provider)
    tracer._tracer._set_tracer_config(_TracerConfig(is_enabled=False))
    span = tracer.start_span("work")
    span.end()
    assert not span.is_recording() and exporter.get_finished_spans() == ()


def test_an_sdk_tracer_without_the_parts_a_lean_tracer_reads_makes_its_own_spans(monkeypatch):
    provider, _ = _pipeline()
    # Stands for an SDK release whose tracer keeps its parts under other names.
    monkeypatch.setattr(SdkTracer, "__init__", lambda self, *args, **kwargs: None)
    tracer = lean_spans.get_tracer("t", tracer_provider=provider)
    assert isinstance(tracer, SdkTracer)


def test_attach_span_makes_the_span_and_a_value_current_as_the_context_api_would(caplog):
    key = context.create_key("mlotel-test")
    span = NonRecordingSpan(REMOTE_PARENT)
    outer = context.attach(context.set_value("kept", 1))
    try:
        token = contexts.attach_span(span, key, "value")
        assert trace.get_current_span() is span
        assert context.get_value(key) == "value" and context.get_value("kept") == 1
        contexts.detach(token)
        assert trace.get_current_span() is trace.INVALID_SPAN and context.get_value(key) is None
        contexts.detach(token)  # used twice: the API logs it and the app goes on
        assert "Failed to detach context" in caplog.text
    finally:
        context.detach(outer)


def _ended_at_both_ends(tracer, traceresponse, finish) -> list[bytes | None]:
    """What the middleware and the recorder do at a span's two ends, and what a user may have done before."""
    server = tracer.start_span("POST", kind=SpanKind.SERVER, attributes={"url.path": "/predict"})
    headers = [traceresponse(server, None)]
    finish(server, "POST /predict", {"http.response.status_code": 500, "error.type": "500"}, True)
    kept_ok = tracer.start_span("predict iris")
    kept_ok.set_status(StatusCode.OK)
    finish(kept_ok, None, {"ml.batch.size": 1, "tags": ["a"]}, True)  # OK is final; a list goes through the cleaning
    ended = tracer.start_span("ended by its user")
    ended.end()
    headers.append(traceresponse(ended, None))
    finish(ended, "renamed", {"after": 1}, True)  # ended: nothing changes, and it is warned about
    return headers


def test_a_lean_spans_ends_in_one_call_each_as_through_the_public_api(caplog):
    from mlotel import span_ends
    from mlotel.fastpath import lean_span

    (sdk, sdk_exporter), (lean, lean_exporter) = _sdk_and_lean()
    with caplog.at_level("WARNING"):
        sdk_headers = _ended_at_both_ends(sdk, span_ends.traceresponse, span_ends.finish)
        sdk_warnings = [record.getMessage() for record in caplog.records]
        caplog.clear()
        lean_headers = _ended_at_both_ends(lean, lean_span.traceresponse, lean_span.finish)
        lean_warnings = [record.getMessage() for record in caplog.records]
    assert len(lean_warnings) == len(sdk_warnings) == 4, (sdk_warnings, lean_warnings)  # rename, status, set, end
    sdk_spans, lean_spans_ = sdk_exporter.get_finished_spans(), lean_exporter.get_finished_spans()
    assert [type(s) for s in lean_spans_] == [LeanSpan] * 3

    def seen(span):  # all but the times, which differ between the two runs
        return span.name, dict(span.attributes), span.status.status_code, span.status.description, span.kind

    assert [seen(s) for s in lean_spans_] == [seen(s) for s in sdk_spans]
    assert [seen(s) for s in lean_spans_][0] == (
        "POST /predict", {"url.path": "/predict", "http.response.status_code": 500, "error.type": "500"},
        StatusCode.ERROR, None, SpanKind.SERVER,
    )
    assert lean_spans_[1].status.status_code is StatusCode.OK and lean_spans_[1].attributes["tags"] == ("a",)
    server, ended = (span.get_span_context() for span in (lean_spans_[0], lean_spans_[2]))
    assert lean_headers == sdk_headers == [b"00-%032x-%016x-01" % (c.trace_id, c.span_id) for c in (server, ended)]


@as_given_and_checked
def test_checked_attributes_that_fit_are_stored_as_given_and_exported_as_for_sdk_spans(made):
    (sdk, sdk_exporter), (lean, lean_exporter) = _sdk_and_lean()
    for tracer in (sdk, lean):
        span = tracer.start_span("POST", attributes=made({"url.path": "/predict", "ok": True, "n": 1, "x": 0.5}), start_time=1)
        span.set_attributes(made({"http.response.status_code": 200}))
        span.set_attributes(made({"n": 2}))  # set again: moves to the end, as in the SDK
        span.end(end_time=2)
    ((lean_span,), _) = lean_exporter.get_finished_spans(), sdk_exporter.get_finished_spans()
    assert list(lean_span.attributes.items()) == [
        ("url.path", "/predict"), ("ok", True), ("x", 0.5), ("http.response.status_code", 200), ("n", 2)
    ]
    assert _exported(lean_exporter)[0] == _exported(sdk_exporter)[0]


def test_only_dicts_of_plain_keys_and_values_are_marked_checked_with_their_longest_string():
    checked = plain({"a": "four", "b": True, "c": 1, "d": 2.5})
    assert type(checked) is PlainAttributes and checked == {"a": "four", "b": True, "c": 1, "d": 2.5}
    assert checked.longest == 4 and plain({"n": 1}).longest == 0
    for not_plain in ({"": 1}, {7: 1}, {"a": [1]}, {"a": b"x"}, {"a": None}, {"a": StrEnum("E", "x").x}):
        made = plain(not_plain)
        assert type(made) is dict and made == not_plain
