"""BentoML services, zero-code: each call of a service API is one prediction.

Usage (nothing of mlotel in the service)::

    pip install mlotel bentoml
    opentelemetry-instrument bentoml serve service:IrisClassifier

``opentelemetry-instrument`` finds :class:`BentoMLInstrumentor` through the
``opentelemetry_instrumentor`` entry point ``mlotel_bentoml``; BentoML's
worker processes inherit the launcher's environment and are instrumented
too. In each service worker it wraps, in ``_bentoml_impl.server.app``:

- ``ServiceAppFactory.__call__``, the service's Starlette app: mlotel's
  middleware gives each request its server span and
  ``http.server.request.duration`` (:mod:`mlotel.middleware`), in place of
  BentoML's own OpenTelemetry middleware, whose tracer provider samples
  nothing unless BentoML's ``tracing`` is configured, and whose spans would
  otherwise stand between the server span and the prediction;
- ``ServiceAppFactory.api_endpoint``, where an API request is served: one
  ``predict <model>`` span with the ML metrics of :class:`~mlotel.PredictionRecorder`.

- model name and version: the service's model from BentoML's model store
  (``bentoml.models.BentoModel("iris:latest")`` as a class attribute:
  its name and resolved version); a service with no model, or several, is
  named by the service's name, version ``MLOTEL_MODEL_VERSION`` or ``unknown``;
- batch size: the first API argument's length (rows of an array, items of a list);
- results: the model library's call inside gives them; else the API's return
  value, one row per instance (:func:`mlotel.instrumentors.serving.results_from_rows`).
"""

from __future__ import annotations

import functools
from typing import Any

from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

from mlotel.instrumentors import serving
from mlotel.middleware import instrument_app
from mlotel.recorder import current_prediction

APP_MODULE = "_bentoml_impl.server.app"
IO_MODULE = "_bentoml_sdk.io_models"


@functools.cache
def _identity(service: Any) -> tuple[str, str]:
    """Once per service: a model store look-up."""
    models = list(getattr(service, "models", []))
    stored = getattr(models[0], "stored", None) if len(models) == 1 else None
    if stored is not None:
        return stored.tag.name, serving.version_of(stored.tag.version)
    return service.name, serving.version_of(None)


def _app(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    app = wrapped(*args, **kwargs)
    instrument_app(app)
    if getattr(app, "_is_instrumented_by_mlotel", False):  # not when mlotel's is switched off: BentoML's stays then
        app.user_middleware = [m for m in app.user_middleware if m.cls is not OpenTelemetryMiddleware]
    return app


async def _api_endpoint(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    name, version = _identity(instance.service)
    # The batch size is set once the request is parsed (_parsed), inside.
    async with serving.server_prediction(name, version, batch_size=1):
        return await wrapped(*args, **kwargs)


def _rows(value: Any) -> list:
    value = value.tolist() if hasattr(value, "tolist") else value
    return value if isinstance(value, list) else []


async def _parsed(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    parsed = await wrapped(*args, **kwargs)
    prediction = current_prediction()
    if prediction is not None:
        first = getattr(parsed, "root", None) if "root" in type(parsed).model_fields else next(
            (getattr(parsed, field) for field in type(parsed).model_fields), None)
        shape = getattr(first, "shape", None)
        if shape:
            prediction.set_batch_size(int(shape[0]))
        elif isinstance(first, list | tuple):
            prediction.set_batch_size(len(first))
    return parsed


async def _responded(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    prediction = current_prediction()
    if prediction is not None and args:
        serving.set_results(prediction, _rows(args[0]))
    return await wrapped(*args, **kwargs)


class BentoMLInstrumentor(serving.ServerInstrumentor):
    """A server span and a prediction per BentoML service API request."""

    _instruments = ("bentoml >= 1.4",)

    def wrappers(self) -> tuple[tuple[str, str, Any], ...]:
        return (
            (APP_MODULE, "ServiceAppFactory.__call__", _app),
            (APP_MODULE, "ServiceAppFactory.api_endpoint", _api_endpoint),
            (IO_MODULE, "IOMixin.from_http_request", _parsed),
            (IO_MODULE, "IOMixin.to_http_response", _responded),
        )
