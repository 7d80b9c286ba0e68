"""A request's span at its two ends, through the public API: the ``traceresponse`` it names, and its finish.

:mod:`mlotel.request_path` hands these out with ``MLOTEL_FASTPATH`` off and
for spans that are not :class:`~mlotel.fastpath.lean_span.LeanSpan` s; with it
on, :mod:`mlotel.fastpath.lean_span` does the same for its own spans in one
call each (a span's ``get_span_context``, ``is_recording``, ``update_name``,
``set_status``, ``set_attributes`` and ``end`` are a Python call each, and
``SpanContext``'s fields a property call each).
"""

from __future__ import annotations

from typing import Any

from opentelemetry import context, trace
from opentelemetry.trace import Status, StatusCode

_ERROR = Status(StatusCode.ERROR)


def traceresponse(span: trace.Span, parent: context.Context | None) -> bytes | None:
    """The W3C ``traceresponse`` header's value naming ``span``, or None where it names no span of this server.

    None for a span that is only the caller's context carried on (no tracer
    provider, traces off): its id is the caller's own span's, which a
    traceresponse would name as this server's.
    """
    span_context = span.get_span_context()
    if span_context.is_valid and (
        span.is_recording() or span_context.span_id != trace.get_current_span(parent).get_span_context().span_id
    ):
        # printf-style: an f-string's format specs cost twice as much.
        return b"00-%032x-%016x-%02x" % (span_context.trace_id, span_context.span_id, span_context.trace_flags)
    return None


def finish(span: trace.Span, name: str | None, attributes: dict[str, Any], failed: bool) -> None:
    """Rename ``span`` (unless ``name`` is None), add ``attributes``, mark it failed if so, and end it."""
    if name is not None:
        span.update_name(name)
    if failed:
        span.set_status(_ERROR)
    if attributes:
        span.set_attributes(attributes)
    span.end()
