"""The tracer and measurement recording of the request path, as ``MLOTEL_FASTPATH`` says.

On: :mod:`mlotel.fastpath`'s stand-ins for SDK internals. Off: the SDK's
public APIs, and no module of :mod:`mlotel.fastpath` is imported. The
middleware and the recorder take both from here, so that one switch decides.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry import context, trace

from mlotel import span_ends
from mlotel.config import TelemetryConfig
from mlotel.semconv import SCHEMA_URL, __version__

Record = Callable[[Callable[..., None], float, dict[str, Any]], None]
# Several measurements taken together in a span, current where they are taken: flat, four items each (an
# instrument's record or add, value, attributes, whether a counter's sum), then the span.
RecordAll = Callable[[Sequence[Any]], None]
# attach(span, key=None, value=None) -> token: the span current, and a value under key; detach(token) undoes it.
Attach = Callable[..., object]
Detach = Callable[[Any], None]


def get_tracer(name: str, config: TelemetryConfig) -> trace.Tracer:
    """The global provider's tracer for mlotel's scope ``name``."""
    if config.fastpath:
        from mlotel.fastpath import lean_spans

        return lean_spans.get_tracer(name, __version__, SCHEMA_URL)  # type: ignore[return-value]  # a Tracer's API
    return trace.get_tracer(name, __version__, schema_url=SCHEMA_URL)


def recorders(config: TelemetryConfig) -> tuple[Record, Record]:
    """``record`` and ``add``: each takes an instrument's ``record``/``add``, a value and attributes."""
    if config.fastpath:
        from mlotel.fastpath import measurements

        return measurements.record, measurements.add
    return _in_place, _in_place


def all_recorder(config: TelemetryConfig) -> RecordAll:
    """``record_all``: a prediction's measurements at once (queued as one entry with the fast path)."""
    if config.fastpath:
        from mlotel.fastpath import measurements

        return measurements.record_all
    return _all_in_place


def current_span_reader(config: TelemetryConfig) -> Callable[[], trace.Span]:
    """What ``trace.get_current_span()`` returns, read as the switch says."""
    if config.fastpath:
        from mlotel.fastpath import contexts

        return contexts.current_span
    return trace.get_current_span


def context_setters(config: TelemetryConfig) -> tuple[Attach, Detach]:
    """``attach`` and ``detach``: make a span (and one more value) current for a request's work, and undo it."""
    if config.fastpath:
        from mlotel.fastpath import contexts

        return contexts.attach_span, contexts.detach
    return _attach_span, context.detach


def span_ends_for(config: TelemetryConfig) -> tuple[Callable[..., bytes | None], Callable[..., None]]:
    """``traceresponse(span, parent)`` and ``finish(span, name, attributes, failed)`` (:mod:`mlotel.span_ends`)."""
    if config.fastpath:
        from mlotel.fastpath import lean_span

        return lean_span.traceresponse, lean_span.finish
    return span_ends.traceresponse, span_ends.finish


def _attach_span(span: trace.Span, key: str | None = None, value: object = None,
                 base: context.Context | None = None) -> object:
    values = trace.set_span_in_context(span, base)
    return context.attach(values if key is None else context.set_value(key, value, values))


def _in_place(method: Callable[..., None], value: float, attributes: dict[str, Any]) -> None:
    method(value, attributes)


def _all_in_place(entry: Sequence[Any]) -> None:
    # In the current context, which is the span's (the entry's last item).
    for at in range(0, len(entry) - 1, 4):
        entry[at](entry[at + 1], entry[at + 2])
