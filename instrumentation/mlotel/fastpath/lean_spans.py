"""mlotel's own spans, started and ended for a third of what an SDK span costs.

Every traced request makes two spans here: the server span and ``predict
<model>``. With the SDK's ``Tracer.start_span`` they were the largest cost of
telemetry on the request path: starting one costs ~19 µs with four
attributes (~9 µs without: each attribute is cleaned by generic code that
tests it against every type OTLP allows), setting seven more ~10 µs, and
ending it copies it into a new ``ReadableSpan``. In a loop, the server span
with its six attributes took 30 µs and takes 13 here; ``predict`` with the
recorder's work around it 105 µs and 46 here. ``benchmarks/instructions.py``:
telemetry's cost per request fell from 1.21 M to 0.94 M instructions, and
``benchmarks/overhead.py`` from 0.71-0.76 of telemetry off to 0.78-0.85.
A :class:`LeanSpan` keeps
plain attributes (str, bool, int, float) as they are and only hands the rest
to the SDK's cleaning, and it is handed to the span processors as it is
when it ends, not copied.

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

import logging
import threading
import time
import traceback
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk import trace as sdk_trace
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanLimits
from opentelemetry.sdk.trace.sampling import Decision, ParentBased, Sampler, StaticSampler
from opentelemetry.sdk.util import BoundedList
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import (
    DEFAULT_TRACE_STATE,
    INVALID_SPAN_ID,
    INVALID_TRACE_ID,
    Link,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
)
from opentelemetry.trace.propagation import _SPAN_KEY
from opentelemetry.util import types

from mlotel.fastpath.contexts import current_context

# Stored as given; anything else goes through the SDK's cleaning.
_PLAIN = frozenset((str, bool, int, float))
# What a LeanTracer reads from the SDK's tracer; all public.
_SDK_TRACER_PARTS = ("sampler", "id_generator", "resource", "span_processor", "instrumentation_info")
_logger = logging.getLogger(__name__)
_UNSET = Status(StatusCode.UNSET)
_SAMPLE, _DROP = Decision.RECORD_AND_SAMPLE, Decision.DROP  # immutable, as ReadableSpan's default
_TRACE_ID_MAX = 2**128 - 1
_SPAN_ID_MAX = 2**64 - 1


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
        self._limits = getattr(tracer, "_span_limits", None) or SpanLimits()
        # The experimental tracer configurator's switch, private too: always on where there is none.
        self._is_enabled = getattr(tracer, "_is_enabled", lambda: True)

    def start_span(
        self,
        name: str,
        context: context_api.Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        start_time: int | None = None,
    ) -> trace.Span:
        tracer = self._tracer
        # trace.get_current_span(context), without its three calls.
        span_in_context = (current_context() if context is None else context).get(_SPAN_KEY)
        if not isinstance(span_in_context, trace.Span):
            span_in_context = trace.INVALID_SPAN
        current = span_in_context.get_span_context()
        if not self._is_enabled():  # the provider's tracer configurator switched this scope off
            return trace.NonRecordingSpan(current)
        parent = current if current.is_valid else None
        if parent is not None:
            trace_id = parent.trace_id
            random_trace_id = parent.trace_flags.random_trace_id
        else:
            trace_id = tracer.id_generator.generate_trace_id()
            random_trace_id = tracer.id_generator.is_trace_id_random()
        decision = _static_decision(tracer.sampler, parent)
        if decision is None:
            sampling = tracer.sampler.should_sample(context, trace_id, name, kind, attributes, ())
            decision, attributes, trace_state = sampling.decision, sampling.attributes, sampling.trace_state
        else:  # what the SDK's static samplers return: the attributes given, the parent's trace state
            trace_state = parent.trace_state if parent is not None else None
        flags = TraceFlags.SAMPLED if decision is _SAMPLE else TraceFlags.DEFAULT  # decision.is_sampled(), inlined
        if random_trace_id:
            flags |= TraceFlags.RANDOM_TRACE_ID
        span_id = tracer.id_generator.generate_span_id()
        # SpanContext's own __new__ does this, in a call with keywords that costs as much again.
        is_valid = INVALID_TRACE_ID < trace_id <= _TRACE_ID_MAX and INVALID_SPAN_ID < span_id <= _SPAN_ID_MAX
        if trace_state is None:
            trace_state = DEFAULT_TRACE_STATE
        span_context = tuple.__new__(SpanContext, (trace_id, span_id, False, TraceFlags(flags), trace_state, is_valid))
        if decision is _DROP:  # not decision.is_recording()
            return trace.NonRecordingSpan(span_context)
        span = LeanSpan(name, span_context, parent, kind, tracer, self._scope, self._limits, start_time)
        if attributes:
            span._store(attributes)  # no lock: no one else has the span yet
        tracer.span_processor.on_start(span, parent_context=context)  # type: ignore[arg-type]  # a LeanSpan is a Span to processors
        return span


def _static_decision(sampler: Sampler, parent: SpanContext | None) -> Decision | None:
    """The decision of the SDK's always-on or always-off sampler, alone or under ``ParentBased``, without asking it.

    Asking costs a ``SamplingResult`` and two more lookups of the parent per
    span; None for any other sampler, which is asked. Reads ``ParentBased``'s
    private delegates and ``StaticSampler._decision``.
    """
    if type(sampler) is ParentBased:
        if parent is None:
            sampler = sampler._root
        elif parent.is_remote:
            sampler = sampler._remote_parent_sampled if parent.trace_flags.sampled else sampler._remote_parent_not_sampled
        else:
            sampler = sampler._local_parent_sampled if parent.trace_flags.sampled else sampler._local_parent_not_sampled
    if type(sampler) is StaticSampler:
        return sampler._decision
    return None


class LeanSpan(trace.Span, ReadableSpan):
    """A recording span for one request's work; see the module docstring."""

    def __init__(
        self,
        name: str,
        span_context: SpanContext,
        parent: SpanContext | None,
        kind: SpanKind,
        tracer: sdk_trace.Tracer,
        scope: InstrumentationScope,
        limits: SpanLimits,
        start_time: int | None,
    ) -> None:
        # ReadableSpan.__init__'s fields, set here: its call, with keywords, cost a third of a span's start.
        self._name = name
        self._context = span_context
        self._kind = kind
        self._instrumentation_info = None
        self._instrumentation_scope = scope
        self._parent = parent
        self._start_time = start_time if start_time is not None else time.time_ns()
        self._end_time: int | None = None
        self._attributes: dict[str, types.AnyValue] = {}
        self._events: Sequence[Event] = ()
        self._links: Sequence[Link] = ()
        self._resource = tracer.resource
        self._status = _UNSET
        self._processor = tracer.span_processor
        self._limits = limits
        self._dropped_attributes = 0
        # A user may touch the span from several threads: the limits and the single end need it.
        self._lock = threading.Lock()

    @property
    def dropped_attributes(self) -> int:
        return self._dropped_attributes

    def get_span_context(self) -> SpanContext:
        return self._context  # type: ignore[return-value]  # always set: the constructor takes one

    def is_recording(self) -> bool:
        return self._end_time is None

    def set_attribute(self, key: str, value: types.AnyValue) -> None:
        if key and isinstance(key, str):
            self.set_attributes({key: value})
            return
        with self._lock:
            if not self._ended("set_attribute"):  # as the SDK: one key is not converted to a string
                _logger.warning("Invalid attribute key %r: must be a non-empty string. Dropped.", key)
                self._dropped_attributes += 1

    def set_attributes(self, attributes: Mapping[str, types.AnyValue]) -> None:
        with self._lock:
            if self._end_time is None or not self._ended("set_attributes"):  # one call less while it runs
                self._store(attributes)

    def _store(self, attributes: Mapping[str, types.AnyValue]) -> None:
        stored = self._attributes  # the dict the constructor made
        limit = self._limits.max_span_attribute_length
        max_count = self._limits.max_span_attributes
        # Checked once rather than for each attribute: whether any can push an older one out.
        roomy = max_count is None or len(stored) + len(attributes) <= max_count
        for key, value in attributes.items():
            if (
                type(value) not in _PLAIN
                or type(key) is not str
                or not key
                or (type(value) is str and limit is not None and len(value) > limit)
            ):
                cleaned = BoundedAttributes(None, {key: value}, max_value_len=limit)
                if not cleaned:
                    self._dropped_attributes += 1
                    continue
                ((key, value),) = cleaned.items()
            if key in stored:
                del stored[key]  # re-set moves to the end, as in the SDK
            elif not roomy and len(stored) >= max_count:  # type: ignore[operator]  # not roomy: a count
                if not stored:
                    self._dropped_attributes += 1
                    continue
                del stored[next(iter(stored))]  # the oldest goes, as in the SDK
                self._dropped_attributes += 1
            stored[key] = value

    def add_event(self, name: str, attributes: types.Attributes = None, timestamp: int | None = None) -> None:
        event = Event(name, self._frozen(attributes, self._limits.max_event_attributes), timestamp)
        with self._lock:
            if not self._ended("add_event"):
                self._events = _appended(self._events, self._limits.max_events, event)

    def add_link(self, context: SpanContext, attributes: types.Attributes = None) -> None:
        if not (context and (context.is_valid or attributes or context.trace_state)):
            return
        link = Link(context, self._frozen(attributes, self._limits.max_link_attributes))
        with self._lock:
            if not self._ended("add_link"):
                self._links = _appended(self._links, self._limits.max_links, link)

    def _frozen(self, attributes: types.Attributes, max_count: int | None) -> BoundedAttributes:
        """An event's or link's attributes, cleaned and bounded as the SDK's."""
        return BoundedAttributes(max_count, attributes, immutable=True, max_value_len=self._limits.max_attribute_length)

    def update_name(self, name: str) -> None:
        if not self._ended("update_name"):
            self._name = name

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        if self._ended("set_status"):
            return
        if not isinstance(status, Status):
            status = Status(status, description)
        # As the SDK: OK is final, and UNSET never replaces a status.
        if self._status.status_code is StatusCode.OK or status.status_code is StatusCode.UNSET:
            return
        self._status = status

    def record_exception(
        self,
        exception: BaseException,
        attributes: types.Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        kind = type(exception)
        module = kind.__module__
        event: dict[str, Any] = {
            "exception.type": f"{module}.{kind.__qualname__}" if module and module != "builtins" else kind.__qualname__,
            "exception.message": str(exception),
            "exception.stacktrace": "".join(traceback.format_exception(exception)),
            "exception.escaped": str(escaped),
        }
        self.add_event("exception", {**event, **(attributes or {})}, timestamp)

    def end(self, end_time: int | None = None) -> None:
        with self._lock:
            if self._end_time is not None and self._ended("end"):
                return
            self._end_time = end_time if end_time is not None else time.time_ns()
        self._processor.on_end(self)  # no copy: an ended span takes no more changes

    def _ended(self, operation: str) -> bool:
        if self._end_time is None:
            return False
        _logger.warning("Tried calling %s on an ended span.", operation)
        return True

    def __repr__(self) -> str:
        return f'{type(self).__name__}(name="{self._name}", context={self._context})'


def _appended(items: Sequence[Any], max_items: int | None, item: Any) -> BoundedList:
    """``items`` with ``item`` added, as a BoundedList made at the first add: most spans have no events or links."""
    if not isinstance(items, BoundedList):
        items = BoundedList(max_items)
    items.append(item)
    return items
