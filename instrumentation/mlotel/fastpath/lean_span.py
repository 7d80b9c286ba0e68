"""The span :mod:`~mlotel.fastpath.lean_spans` starts: a ``ReadableSpan`` that is its own record.

A :class:`LeanSpan` keeps plain attributes (str, bool, int, float) as they
are and only hands the rest to the SDK's cleaning (a dict checked when it was
made, :mod:`mlotel.plain_attributes`, is not checked again), and it is handed to the
span processors as it is when it ends, not copied. The fields the SDK's
``ReadableSpan`` reads (``_name``, ``_context``, ``_attributes`` ...) are its
own; those that most spans never change (``_end_time``, ``_events``,
``_links``, ``_status``, ``_dropped_attributes``, ``_instrumentation_info``)
are the class's until a span sets its own, so that a start writes six fields
fewer. Read them with ``getattr`` (as ``ReadableSpan`` and mlotel's encoder
do), not from the instance's ``__dict__``.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanLimits
from opentelemetry.sdk.util import BoundedList
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode
from opentelemetry.util import types

from mlotel import span_ends
from mlotel.plain_attributes import PLAIN_TYPES as _PLAIN
from mlotel.plain_attributes import PlainAttributes

_logger = logging.getLogger(__name__)
_ERROR = Status(StatusCode.ERROR)


# A provider's span limits, and the two that every attribute stored is checked against, as numbers: a str
# attribute's length and a span's count of attributes (sys.maxsize where the provider sets none). A plain
# tuple: unpacked once per call, which Python 3.11 specialises for a tuple and not for a NamedTuple.
Bounds = tuple[SpanLimits, int, int]


def bounds(limits: SpanLimits) -> Bounds:
    longest, most = limits.max_span_attribute_length, limits.max_span_attributes
    return limits, sys.maxsize if longest is None else longest, sys.maxsize if most is None else most


class LeanSpan(trace.Span, ReadableSpan):
    """A recording span for one request's work; see the module docstring."""

    # Until a span sets its own: what ReadableSpan.__init__ would set them to.
    _instrumentation_info = None
    _end_time: int | None = None
    _events: Sequence[Event] = ()
    _links: Sequence[Link] = ()
    _status = Status(StatusCode.UNSET)  # immutable, as ReadableSpan's default
    _dropped_attributes = 0

    def __init__(self, name: str, span_context: SpanContext, parent: SpanContext | None, kind: SpanKind,
                 resource: Resource, scope: InstrumentationScope, bounds: Bounds, start_time: int | None,
                 on_end: Callable[[Any], None]) -> None:
        # ReadableSpan.__init__'s fields, set here: its call, with keywords, cost a third of a span's start.
        self._name = name
        self._context = span_context
        self._kind = kind
        self._instrumentation_scope = scope
        self._parent = parent
        self._start_time = start_time if start_time is not None else time.time_ns()
        self._attributes: dict[str, types.AnyValue] = {}
        self._resource = resource
        self._on_end = on_end  # the provider's processors' on_end, or what it comes to (fastpath/span_processing.py)
        self._bounds = bounds
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
            lock = self._lock  # set_attributes({key: value}), one call less
            lock.acquire()
            try:
                if self._end_time is None or not self._ended("set_attribute"):
                    self._store({key: value})
            finally:
                lock.release()
            return
        with self._lock:
            if not self._ended("set_attribute"):  # as the SDK: one key is not converted to a string
                _logger.warning("Invalid attribute key %r: must be a non-empty string. Dropped.", key)
                self._dropped_attributes += 1

    def set_attributes(self, attributes: Mapping[str, types.AnyValue]) -> None:
        lock = self._lock
        # Not `with lock`: it makes a bound __exit__ and calls it with three arguments, ~1 k instructions more.
        lock.acquire()
        try:
            if self._end_time is None or not self._ended("set_attributes"):  # one call less while it runs
                self._store(attributes)
        finally:
            lock.release()

    def _store(self, attributes: Mapping[str, types.AnyValue]) -> None:
        stored = self._attributes  # the dict the constructor made
        _, longest, most = self._bounds
        # Checked once rather than for each attribute: whether any can push an older one out.
        roomy = len(stored) + len(attributes) <= most
        # Checked when made (mlotel.plain_attributes): stored at once if it fits.
        if type(attributes) is PlainAttributes and attributes.longest <= longest and roomy and (
            not stored or stored.keys().isdisjoint(attributes)
        ):
            stored.update(attributes)
            return
        # The usual case: new keys, all non-empty strings, plain values, none too long; stored at once when all are.
        if roomy and (not stored or stored.keys().isdisjoint(attributes)) and "" not in attributes:
            for key, value in attributes.items():
                if type(key) is not str:
                    break
                kind = type(value)
                if kind is str:
                    if len(value) > longest:  # type: ignore[arg-type]  # a str
                        break
                elif kind not in _PLAIN:
                    break
            else:
                stored.update(attributes)
                return
        limit = self._bounds[0].max_span_attribute_length
        for key, value in attributes.items():
            if (
                type(value) not in _PLAIN
                or type(key) is not str
                or not key
                or (type(value) is str and len(value) > longest)
            ):
                cleaned = BoundedAttributes(None, {key: value}, max_value_len=limit)
                if not cleaned:
                    self._dropped_attributes += 1
                    continue
                ((key, value),) = cleaned.items()
            if key in stored:
                del stored[key]  # re-set moves to the end, as in the SDK
            elif not roomy and len(stored) >= most:
                if not stored:
                    self._dropped_attributes += 1
                    continue
                del stored[next(iter(stored))]  # the oldest goes, as in the SDK
                self._dropped_attributes += 1
            stored[key] = value

    def add_event(self, name: str, attributes: types.Attributes = None, timestamp: int | None = None) -> None:
        event = Event(name, self._frozen(attributes, self._bounds[0].max_event_attributes), timestamp)
        with self._lock:
            if not self._ended("add_event"):
                self._events = _appended(self._events, self._bounds[0].max_events, event)

    def add_link(self, context: SpanContext, attributes: types.Attributes = None) -> None:
        if not (context and (context.is_valid or attributes or context.trace_state)):
            return
        link = Link(context, self._frozen(attributes, self._bounds[0].max_link_attributes))
        with self._lock:
            if not self._ended("add_link"):
                self._links = _appended(self._links, self._bounds[0].max_links, link)

    def _frozen(self, attributes: types.Attributes, max_count: int | None) -> BoundedAttributes:
        """An event's or link's attributes, cleaned and bounded as the SDK's."""
        return BoundedAttributes(max_count, attributes, immutable=True, max_value_len=self._bounds[0].max_attribute_length)

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

    def record_exception(self, exception: BaseException, attributes: types.Attributes = None,
                         timestamp: int | None = None, escaped: bool = False) -> None:
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
        lock = self._lock  # acquired and released as in set_attributes
        lock.acquire()
        try:
            if self._end_time is not None and self._ended("end"):
                return
            self._end_time = end_time if end_time is not None else time.time_ns()
        finally:
            lock.release()
        self._on_end(self)  # no copy: an ended span takes no more changes

    def _ended(self, operation: str) -> bool:
        if self._end_time is None:
            return False
        _logger.warning("Tried calling %s on an ended span.", operation)
        return True

    def __repr__(self) -> str:
        return f'{type(self).__name__}(name="{self._name}", context={self._context})'


def traceresponse(span: trace.Span, parent: Any) -> bytes | None:
    """:func:`mlotel.span_ends.traceresponse`, for a ``LeanSpan`` without a call to it (its fields by place)."""
    if type(span) is LeanSpan and span._end_time is None:  # a span just started: recording
        span_context: SpanContext = span._context  # type: ignore[assignment]  # always set
        # By place: 0 trace id, 1 span id, 3 flags, 5 is valid.
        if span_context[5]:
            return b"00-%032x-%016x-%02x" % (span_context[0], span_context[1], span_context[3])
    return span_ends.traceresponse(span, parent)


def finish(span: trace.Span, name: str | None, attributes: Mapping[str, types.AnyValue], failed: bool) -> None:
    """:func:`mlotel.span_ends.finish`, for a ``LeanSpan`` under its lock once rather than four calls that take it."""
    if type(span) is not LeanSpan:
        span_ends.finish(span, name, attributes, failed)  # type: ignore[arg-type]  # a dict
        return
    lock = span._lock
    lock.acquire()
    try:
        ended = span._end_time is not None
        if not ended:
            if name is not None:
                span._name = name
            # As set_status(ERROR): OK is final.
            if failed and span._status.status_code is not StatusCode.OK:
                span._status = _ERROR
            if attributes:
                span._store(attributes)
            span._end_time = time.time_ns()
    finally:
        lock.release()
    if ended:  # as the SDK: a warning for each call on an ended span
        span_ends.finish(span, name, attributes, failed)  # type: ignore[arg-type]  # a dict
        return
    span._on_end(span)


def _appended(items: Sequence[Any], max_items: int | None, item: Any) -> BoundedList:
    """``items`` with ``item`` added, as a BoundedList made at the first add: most spans have no events or links."""
    if not isinstance(items, BoundedList):
        items = BoundedList(max_items)
    items.append(item)
    return items
