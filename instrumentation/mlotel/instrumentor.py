"""mlotel's HTTP server instrumentation for every FastAPI app, found by ``opentelemetry-instrument``.

Usage (nothing in the app's code)::

    opentelemetry-instrument python -m my_model_server

The launcher finds :class:`MlotelInstrumentor` through the
``opentelemetry_instrumentor`` entry point ``mlotel_http`` and calls
``instrument()``: from then on, every FastAPI app adds
:class:`~mlotel.middleware.TelemetryMiddleware` when it builds its
middleware stack (at its first request, after the app's own middleware is
added). An app that called :func:`~mlotel.instrument_app` itself is
left as it is, so the in-code API and the launcher combine. Prediction spans
and ML metrics come from the app's :class:`~mlotel.PredictionRecorder`
as always; the providers from mlotel's configurator (:mod:`mlotel.distro`).

Switches: ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=mlotel_http`` keeps the
launcher from loading this (apps that call ``instrument_app`` keep their
middleware); ``fastapi`` there, or ``OTEL_SDK_DISABLED=true``, makes every
app skip the middleware, as :func:`~mlotel.instrument_app` does.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]  # not in its __all__

from mlotel.config import TelemetryConfig
from mlotel.middleware import instrument_app

# The oldest FastAPI it is tested on is what the model servers bring: MLServer 1.6 its 0.110, KServe 0.17
# its 0.163 (tests/integrations); the launcher itself checks only mlotel's own requirements.
_instruments = ("fastapi >= 0.110",)


class MlotelInstrumentor(BaseInstrumentor):
    """Adds mlotel's server span and ``http.server.request.duration`` to every FastAPI app."""

    _original_build_middleware_stack = None

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        import fastapi

        config = kwargs.get("config") or TelemetryConfig.from_env()
        original = fastapi.FastAPI.build_middleware_stack
        self._original_build_middleware_stack = original

        def build_middleware_stack(app: fastapi.FastAPI) -> Any:
            # Here rather than in __init__: the app's own middleware and its own instrument_app come first.
            instrument_app(app, config)
            return original(app)

        fastapi.FastAPI.build_middleware_stack = build_middleware_stack  # type: ignore[method-assign,assignment]  # the patch

    def _uninstrument(self, **kwargs: Any) -> None:
        import fastapi

        fastapi.FastAPI.build_middleware_stack = self._original_build_middleware_stack  # type: ignore[method-assign,assignment]
