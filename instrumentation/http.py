"""HTTP server instrumentation for FastAPI.

FastAPI (0.160 and later) traces and measures requests natively once
OpenTelemetry providers exist: one SERVER span per request named
``{method} {route}`` with the stable HTTP semantic conventions,
``http.server.request.duration`` recorded while the span is current (so its
exemplars carry the trace id), W3C trace context continued from
``traceparent``. mlotel configures that instead of adding a second
middleware, and adds only what FastAPI lacks: the ``traceresponse`` header.

Usage::

    app = FastAPI(telemetry=fastapi_telemetry(config))
    instrument_app(app, config)
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace

from instrumentation.config import TelemetryConfig


def fastapi_telemetry(config: TelemetryConfig | None = None) -> dict[str, Any]:
    """Options for ``FastAPI(telemetry=...)`` that follow mlotel's toggles."""
    config = config or TelemetryConfig.from_env()
    on = config.enabled("fastapi")
    return {
        "tracing": on and config.traces_on,
        "metrics": on and config.metrics_on,
        "logs": on and config.logs_on,
        # Dependency/endpoint/serialization spans triple the spans per request;
        # the predict span already shows where prediction time goes.
        "operation_spans": False,
        "exclude": lambda scope: config.is_excluded(scope.get("path", "")),
    }


class TraceResponseMiddleware:
    """Adds the W3C ``traceresponse`` header naming the request's server span."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        span_context = trace.get_current_span().get_span_context()
        if not span_context.is_valid:
            await self.app(scope, receive, send)
            return
        header = (
            f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-{span_context.trace_flags:02x}"
        ).encode()

        async def send_with_traceresponse(message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), (b"traceresponse", header)]
            await send(message)

        await self.app(scope, receive, send_with_traceresponse)


def instrument_app(app, config: TelemetryConfig | None = None) -> None:
    """Add the ``traceresponse`` header once; nothing when tracing is off."""
    config = config or TelemetryConfig.from_env()
    if getattr(app, "_is_instrumented_by_mlotel", False) or not (config.enabled("fastapi") and config.traces_on):
        return
    app.add_middleware(TraceResponseMiddleware)
    app._is_instrumented_by_mlotel = True
