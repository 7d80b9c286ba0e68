"""mlotel's own spans, started and ended for a fraction of what an SDK span costs.

Every traced request makes two spans here: the server span and ``predict
<model>``. With the SDK's ``Tracer.start_span`` they were the largest cost of
telemetry on the request path: starting one costs ~19 µs with four
attributes (~9 µs without: each attribute is cleaned by generic code that
tests it against every type OTLP allows), setting seven more ~10 µs, and
ending it copies it into a new ``ReadableSpan``. In a loop, the server span
with its six attributes took 30 µs and takes 13 here; ``predict`` with the
recorder's work around it 105 µs and 46 here.
A :class:`~mlotel.fastpath.lean_span.LeanSpan` keeps plain attributes as they
are and is handed to the span processors as it is when it ends, not copied.

Starting one is counted in bytecodes (``python -m benchmarks.request_path``,
``span``): the SDK's ``RandomIdGenerator`` is drawn from inline (the same
``random.getrandbits`` calls in the same order, without the two calls around
each), the flags are made once, the always-on/off samplers' decisions are
worked out once per sampler, and what the provider's processors do at a
span's start and end is worked out once per set of processors
(:mod:`~mlotel.fastpath.span_processing`).

It is still the SDK's pipeline: the provider's sampler decides (a dropped
span is the SDK's ``NonRecordingSpan``), its id generator makes the ids, its
resource, span limits and span processors are used. A ``LeanSpan`` is a ``ReadableSpan``, so
processors and exporters read it as any other; ``tests/unit/instrumentation/fastpath/test_lean_spans.py``
checks that it exports field for field as an SDK span given the same calls.
Left out: the SDK's tracer self-metrics (``otel.sdk.span.*``, off by default)
and the experimental ``_on_ending`` hook of span processors (no processor of
the SDK's uses it). Where the tracer is not the SDK's (telemetry off,
another SDK) or lacks a part read here (a later SDK release), :func:`get_tracer`
returns that tracer itself, and spans are the SDK's again.
"""

from __future__ import annotations

import random

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.sdk import trace as sdk_trace
from opentelemetry.sdk.trace import SpanLimits

try:  # the experimental tracer configurator's per-tracer config (SDK 1.38+)
    from opentelemetry.sdk.trace import _TracerConfig
except ImportError:
    _TracerConfig = ()  # type: ignore[assignment,misc]  # isinstance(anything, ()) is False: the tracer is asked
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import Decision, ParentBased, Sampler, StaticSampler
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import (
    DEFAULT_TRACE_STATE,
    INVALID_SPAN_CONTEXT,
    INVALID_SPAN_ID,
    INVALID_TRACE_ID,
    SpanContext,
    SpanKind,
    TraceFlags,
)
from opentelemetry.trace.propagation import _SPAN_KEY
from opentelemetry.util import types

from mlotel.fastpath.contexts import current_context
from mlotel.fastpath.lean_span import LeanSpan, bounds
from mlotel.fastpath.span_processing import Processing

__all__ = ["LeanSpan", "LeanTracer", "get_tracer"]

# What a LeanTracer reads from the SDK's tracer; all public.
_SDK_TRACER_PARTS = ("sampler", "id_generator", "resource", "span_processor", "instrumentation_info")
_SAMPLE, _DROP = Decision.RECORD_AND_SAMPLE, Decision.DROP
_TRACE_ID_MAX = 2**128 - 1
_SAMPLED, _RANDOM_TRACE_ID = int(TraceFlags.SAMPLED), 0x02  # the W3C flags' bits, as TraceFlags' properties test them
_SPAN_ID_MAX = 2**64 - 1
# A span's flags, made once: [sampled + 2 * random trace id].
_TRACE_FLAGS = tuple(
    TraceFlags((TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT) | (TraceFlags.RANDOM_TRACE_ID if rnd else 0))
    for rnd in (False, True) for sampled in (False, True)
)


def get_tracer(
    name: str,
    version: str | None = None,
    schema_url: str | None = None,
    tracer_provider: trace.TracerProvider | None = None,
) -> LeanTracer | trace.Tracer:
    """A :class:`LeanTracer` over the provider's tracer for this scope if it is the SDK's (global provider by default)."""
    tracer = trace.get_tracer(name, version, tracer_provider, schema_url)
    if isinstance(tracer, sdk_trace.Tracer) and all(hasattr(tracer, part) for part in _SDK_TRACER_PARTS):
        return LeanTracer(tracer)
    return tracer  # another SDK, or an SDK release that no longer has what a LeanTracer reads: its own spans


class LeanTracer:
    """Starts :class:`LeanSpan` s with an SDK tracer's sampler, ids, resource and processors."""

    def __init__(self, tracer: sdk_trace.Tracer) -> None:
        self._tracer = tracer
        info = tracer.instrumentation_info  # the scope, as the SDK's own spans of this tracer carry it
        self._scope = InstrumentationScope(info.name, info.version, info.schema_url)
        # The provider's limits; the SDK keeps them private, so where they are not found, the environment's.
        self._bounds = bounds(getattr(tracer, "_span_limits", None) or SpanLimits())
        # The experimental tracer configurator's switch, private too: always on where there is none. Its
        # config read as Tracer._is_enabled reads it, where it is kept so, without the call (one a span).
        self._is_enabled = getattr(tracer, "_is_enabled", lambda: True)
        self._configured = tracer if isinstance(getattr(tracer, "_tracer_config", None), _TracerConfig) else None
        self._processing = Processing(tracer.span_processor)
        self._sampler: Sampler | None = None  # the sampler whose decisions are in _decisions
        self._decisions: tuple[Decision, ...] | None = None

    def start_span(
        self,
        name: str,
        context: context_api.Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        start_time: int | None = None,
    ) -> trace.Span:
        tracer = self._tracer
        # trace.get_current_span(context).get_span_context(), without its calls where the span is none or lean.
        span_in_context = (current_context() if context is None else context).get(_SPAN_KEY)
        current: SpanContext
        if type(span_in_context) is LeanSpan:
            current = span_in_context._context  # type: ignore[assignment]  # always set: LeanSpan takes one
        elif span_in_context is None or not isinstance(span_in_context, trace.Span):
            current = INVALID_SPAN_CONTEXT
        else:
            current = span_in_context.get_span_context()
        configured = self._configured
        if not (configured._tracer_config.is_enabled if configured is not None else self._is_enabled()):
            return trace.NonRecordingSpan(current)  # the provider's tracer configurator switched this scope off
        # A SpanContext's fields by their place in its tuple (its properties are a Python call each):
        # 0 trace id, 1 span id, 2 is remote, 3 trace flags, 4 trace state, 5 is valid.
        parent = current if current is not INVALID_SPAN_CONTEXT and current[5] else None
        ids = tracer.id_generator
        # The SDK's RandomIdGenerator's draws, without its two calls around each (a zero is drawn again there).
        random_ids = type(ids) is RandomIdGenerator
        if parent is not None:
            trace_id = parent[0]
            random_trace_id = parent[3] & _RANDOM_TRACE_ID != 0
        elif random_ids:
            trace_id = random.getrandbits(128) or ids.generate_trace_id()
            random_trace_id = True
        else:
            trace_id = ids.generate_trace_id()
            random_trace_id = bool(ids.is_trace_id_random())
        sampler = tracer.sampler
        if sampler is not self._sampler:
            self._sampler, self._decisions = sampler, _static_decisions(sampler)
        decisions = self._decisions
        if decisions is None:
            decision = None
        elif parent is None:
            decision = decisions[0]
        else:
            decision = decisions[1 + 2 * parent[2] + (parent[3] & _SAMPLED)]
        if decision is None:
            sampling = tracer.sampler.should_sample(context, trace_id, name, kind, attributes, ())
            decision, attributes, trace_state = sampling.decision, sampling.attributes, sampling.trace_state
        else:  # what the SDK's static samplers return: the attributes given, the parent's trace state
            trace_state = parent[4] if parent is not None else None
        sampled = decision is _SAMPLE  # decision.is_sampled(), inlined
        span_id = (random.getrandbits(64) or ids.generate_span_id()) if random_ids else ids.generate_span_id()
        # SpanContext's own __new__ does this, in a call with keywords that costs as much again; random ids
        # are in range (128 and 64 bits, not zero), and so is a valid parent's trace id.
        is_valid = random_ids or (
            INVALID_TRACE_ID < trace_id <= _TRACE_ID_MAX and INVALID_SPAN_ID < span_id <= _SPAN_ID_MAX
        )
        if trace_state is None:
            trace_state = DEFAULT_TRACE_STATE
        flags = _TRACE_FLAGS[sampled + 2 * random_trace_id]
        span_context = tuple.__new__(SpanContext, (trace_id, span_id, False, flags, trace_state, is_valid))
        if decision is _DROP:  # not decision.is_recording()
            return trace.NonRecordingSpan(span_context)
        processing = self._processing
        calls = processing.calls
        if calls.seen is not processing.watched._span_processors:  # a processor was added
            calls = processing.work_out()
        span = LeanSpan(
            name, span_context, parent, kind, tracer.resource, self._scope, self._bounds, start_time,
            calls.on_end_sampled if sampled else calls.on_end_unsampled,
        )
        if attributes:
            span._store(attributes)  # no lock: no one else has the span yet
        if calls.on_start is not None:
            calls.on_start(span, parent_context=context)
        return span


def _static_decisions(sampler: Sampler) -> tuple[Decision, ...] | None:
    """The decisions of the SDK's always-on or always-off sampler, alone or under ``ParentBased``, made once.

    By parent: (none, local not sampled, local sampled, remote not sampled,
    remote sampled). Asking costs a ``SamplingResult`` and two more lookups
    of the parent per span; None for any other sampler, which is asked.
    Reads ``ParentBased``'s private delegates and ``StaticSampler._decision``.
    """
    if type(sampler) is ParentBased:
        delegates = (sampler._root, sampler._local_parent_not_sampled, sampler._local_parent_sampled,
                     sampler._remote_parent_not_sampled, sampler._remote_parent_sampled)
    else:
        delegates = (sampler,) * 5
    if all(type(each) is StaticSampler for each in delegates):
        return tuple(each._decision for each in delegates)  # type: ignore[attr-defined]  # all StaticSamplers
    return None
