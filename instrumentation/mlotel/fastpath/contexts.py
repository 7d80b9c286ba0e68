"""The current context read and set on the runtime's ContextVar itself, where it is the API's default one.

A request reads the current context (and the span in it) a dozen times and makes its span current
twice (the middleware on the event loop, the recorder in its worker thread,
each with its own copy of the context, so one attach per request cannot
serve both). Through the API each is two Python calls and a Context per
value; here one call and one Context. The ContextVar is the private
``_RUNTIME_CONTEXT._current_context``; with any other runtime context these
are the API's own functions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext
from opentelemetry.trace.propagation import _SPAN_KEY

_logger = logging.getLogger(__name__)


def _runtime_context_var() -> ContextVar[context_api.Context] | None:
    """The ContextVar behind the current context where the runtime context is the default one
    (``ContextVarsRuntimeContext``, read from the private ``_RUNTIME_CONTEXT._current_context``)."""
    runtime = getattr(context_api, "_RUNTIME_CONTEXT", None)
    var = getattr(runtime, "_current_context", None)
    return var if type(runtime) is ContextVarsRuntimeContext and type(var) is ContextVar else None


_context_var = _runtime_context_var()
# Two Python calls less than context.get_current(), which a request makes a dozen times.
current_context: Callable[[], context_api.Context] = (
    _context_var.get if _context_var is not None else context_api.get_current
)


def current_span() -> trace.Span:
    """``trace.get_current_span()``, without its three calls (nor, with no span, an ABC's isinstance check)."""
    span = current_context().get(_SPAN_KEY)
    return span if span is not None and isinstance(span, trace.Span) else trace.INVALID_SPAN


def attach_span(span: trace.Span, key: str | None = None, value: object = None,
                base: context_api.Context | None = None) -> object:
    """``context.attach(context.set_value(key, value, trace.set_span_in_context(span, base)))`` (``key``
    optional): one Context built instead of one per value, set on the ContextVar without the API's two calls."""
    if _context_var is None:
        with_span = trace.set_span_in_context(span, base)
        return context_api.attach(with_span if key is None else context_api.set_value(key, value, with_span))
    values: dict[str, object] = {**(_context_var.get() if base is None else base), _SPAN_KEY: span}
    if key is not None:
        values[key] = value
    return _context_var.set(context_api.Context(values))


def detach(token: object) -> None:
    """``context.detach(token)``: as the API, a token from another context is logged, not raised."""
    if _context_var is None:
        context_api.detach(token)  # type: ignore[arg-type]  # attach_span's token
        return
    try:
        _context_var.reset(token)  # type: ignore[arg-type]  # attach_span's token
    except Exception:
        _logger.exception("Failed to detach context")
