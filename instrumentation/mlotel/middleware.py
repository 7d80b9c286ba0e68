"""HTTP server instrumentation for any ASGI app (FastAPI, Starlette).

One SERVER span per request, named ``{method} {route}``, with the stable HTTP
semantic-convention attributes; ``http.server.request.duration`` in seconds,
taken while the span is current so that its exemplar carries the trace id
(with ``MLOTEL_FASTPATH``, recorded off the request path: :mod:`mlotel.request_path`);
W3C trace context continued from ``traceparent`` and a ``traceresponse``
header on the way out. The attributes are built once for requests alike
(:mod:`mlotel.http_attributes`).

Written here rather than taken from a library because ``benchmarks/overhead.py``
measured the alternatives at this machine's scale (fast model, one instance,
throughput as a share of telemetry off, in one A/B run): this middleware 0.84,
FastAPI's own native telemetry 0.76 (it also keeps an active-requests counter and
re-examines the middleware stack per request), ``opentelemetry-instrumentation-
fastapi`` 0.46 (it wraps every ASGI message and emits old and new semantic
conventions). ``instrument_app`` switches FastAPI's native telemetry off so
that a request is traced once.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from functools import cached_property, partial
from typing import Any

from opentelemetry import context, metrics, propagate, trace
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import SpanKind, Status, StatusCode

from mlotel import request_path
from mlotel.config import TelemetryConfig
from mlotel.http_attributes import W3C_FIELDS, Head, HttpAttributes
from mlotel.semconv import SCHEMA_URL, __version__
from mlotel.semconv import error_type as error_type_of
from mlotel_contract import HTTP_SERVER_DURATION, HTTP_SERVER_DURATION_BUCKETS

# The ASGI types, as Starlette spells them (this middleware does not need Starlette).
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_SCOPE = "mlotel.http"
_ERROR = Status(StatusCode.ERROR)
_NOTHING_PROPAGATED = context.Context()  # immutable: one serves every request


class _HeaderGetter(Getter[Scope]):
    """A propagator's header from the scope, as ``opentelemetry-instrumentation-asgi``'s ``asgi_getter`` reads it.

    Its getter decodes every header's name to compare it, for each field of
    each propagator; this compares the bytes and decodes only what matches.
    """

    def get(self, carrier: Scope, key: str) -> list[str] | None:
        wanted = key.lower().encode("latin-1")
        found = [_decoded(value) for name, value in carrier.get("headers") or () if name.lower() == wanted]
        return found or None

    def keys(self, carrier: Scope) -> list[str]:
        return [_decoded(name) for name, _ in carrier.get("headers") or ()]


def _decoded(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except ValueError:
        return raw.decode("unicode_escape")  # as asgi_getter: the bytes as the ASGI server passed them


_HEADERS = _HeaderGetter()


class TelemetryMiddleware:
    """Pure ASGI middleware: no per-message spans, no body buffering."""

    def __init__(self, app: ASGIApp, config: TelemetryConfig | None = None) -> None:
        self.app = app
        self.config = config or TelemetryConfig.from_env()
        self._record_all = request_path.all_recorder(self.config)
        self._attach, self._detach = request_path.context_setters(self.config)
        self._current_span = request_path.current_span_reader(self.config)
        self._traceresponse, self._finish = request_path.span_ends_for(self.config)
        excluded = self.config.excluded_urls
        self._excluded = excluded.fullmatch if excluded is not None else None
        self._attributes = HttpAttributes(self.config.known_http_methods)
        self._textmap: object = None
        self._textmap_is_w3c = False

    # Looked up at the first request, after the lifespan has installed the providers:
    # taken earlier (Starlette builds middleware before the lifespan runs) they are
    # proxies, one more call in every span and measurement.
    @cached_property
    def tracer(self) -> trace.Tracer:
        return request_path.get_tracer(_SCOPE, self.config)

    @cached_property
    def duration(self) -> metrics.Histogram:
        return metrics.get_meter(_SCOPE, __version__, schema_url=SCHEMA_URL).create_histogram(
            HTTP_SERVER_DURATION,
            unit="s",
            description="Duration of HTTP server requests.",
            explicit_bucket_boundaries_advisory=HTTP_SERVER_DURATION_BUCKETS,
        )

    @cached_property
    def _record_duration(self) -> Callable[..., None]:
        return self.duration.record  # a bound method made once, not at each request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self._excluded is not None and self._excluded(scope["path"])):
            await self.app(scope, receive, send)
            return

        start = time.perf_counter()
        head, propagated = self._attributes.head(scope)
        current = self._current_span()
        # Another instrumentation's server span for this request (opentelemetry-instrumentation-
        # fastapi's, say): one server span, with mlotel's attributes on it, measured by its owner.
        untraced = current is trace.INVALID_SPAN  # no span current (most requests): neither look below needed
        owned = untraced or getattr(current, "kind", None) is not SpanKind.SERVER
        parent = extracted = None
        if owned:
            # The active context when there is one (the request is already traced), else traceparent.
            if not untraced and current.get_span_context().is_valid:
                parent = None
            elif propagated or not self._w3c_propagation():
                # What the caller propagated (its span, its baggage) is the request's context.
                parent = extracted = propagate.extract(scope, getter=_HEADERS)
            else:  # what the W3C propagators extract from a request without their headers, for ~15 k instructions
                parent = _NOTHING_PROPAGATED
            span = self.tracer.start_span(head[0], context=parent, kind=SpanKind.SERVER, attributes=head[1])
        else:
            span = current
            span.set_attributes(head[1])
        token = self._attach(span, base=extracted)
        response = _new_response()
        response.send, response.status, response.traceresponse = send, 500, self._traceresponse(span, parent)
        # Its owner may end it with the response, before the app returns.
        response.on_start = None if owned else partial(self._set_outcome, span, head, scope)

        error_type = None
        try:
            await self.app(scope, receive, response.send_with_status)
        except BaseException as exc:
            error_type = error_type_of(exc)
            span.record_exception(exc)
            raise
        finally:
            status = response.status
            if owned:
                name, outcome, measured, failed = self._attributes.outcome(head, scope, status, error_type)
                # With the span rather than the context (mlotel.fastpath.measurements: what it keeps alive).
                self._record_all((self._record_duration, time.perf_counter() - start, measured, False, span))
                self._finish(span, name, outcome, failed)
            elif error_type:
                self._set_outcome(span, head, scope, status, error_type)
            self._detach(token)

    def _w3c_propagation(self) -> bool:
        """Whether the global propagator is the default one, looked at again when it is replaced."""
        textmap = propagate.get_global_textmap()
        if textmap is not self._textmap:
            self._textmap = textmap
            self._textmap_is_w3c = type(textmap) is CompositePropagator and textmap.fields == W3C_FIELDS
        return self._textmap_is_w3c

    def _set_outcome(self, span: trace.Span, head: Head, scope: Scope, status: int,
                     error_type: str | None) -> dict[str, Any]:
        """Put what the response tells on the span; return the measurement's attributes."""
        name, outcome, measured, failed = self._attributes.outcome(head, scope, status, error_type)
        if name is not None:
            span.update_name(name)
        if failed:
            span.set_status(_ERROR)
        span.set_attributes(outcome)
        return measured


class _Response:
    """What the app sends, passed on: its status noted and the ``traceresponse`` header added.

    An object rather than a closure in ``__call__``: a closure is a function and a cell for each
    name it shares, ~9 objects a request for the garbage collector to count (what an object a
    request makes costs: ``docs/performance.md``); this is two, itself and its bound method.
    Made by ``_new_response`` with ``object.__new__``, its slots set by the middleware: an
    ``__init__`` is one more Python frame a request.
    """

    __slots__ = ("send", "status", "traceresponse", "on_start")
    send: Send
    status: int
    traceresponse: bytes | None
    on_start: Callable[[int, str | None], object] | None  # the outcome set on a span someone else owns

    # Not a coroutine function: it returns send's awaitable, which the app awaits, one coroutine less a message.
    def send_with_status(self, message: Message) -> Awaitable[None]:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            if self.traceresponse is not None:
                message["headers"] = [*message.get("headers", ()), (b"traceresponse", self.traceresponse)]
            if self.on_start is not None:
                self.on_start(self.status, None)
        return self.send(message)


_new_response = partial(object.__new__, _Response)


def instrument_app(app: Any, config: TelemetryConfig | None = None) -> None:
    """Add :class:`TelemetryMiddleware` once; a second call does nothing.

    Nothing is added when telemetry is off (``OTEL_SDK_DISABLED``) or the
    ``fastapi`` instrumentation is disabled. FastAPI's native telemetry
    (FastAPI 0.160+) is switched off either way: mlotel decides what is traced.
    """
    config = config or TelemetryConfig.from_env()
    native = getattr(app, "_telemetry", None)
    if isinstance(native, dict):
        # FastAPI reads this dict on every request; it has no public setter after construction.
        native.update(tracing=False, metrics=False, logs=False)
    if getattr(app, "_is_instrumented_by_mlotel", False) or not config.enabled("fastapi"):
        return
    app.add_middleware(TelemetryMiddleware, config=config)
    app._is_instrumented_by_mlotel = True
