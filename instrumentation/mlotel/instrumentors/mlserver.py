"""MLServer, zero-code: each inference request is one prediction.

Usage (nothing of mlotel in the model or its settings)::

    pip install mlotel mlserver mlserver-sklearn
    opentelemetry-instrument mlserver start ./models   # a model-settings.json per model

``opentelemetry-instrument`` finds :class:`MLServerInstrumentor` through the
``opentelemetry_instrumentor`` entry point ``mlserver``. It wraps
``DataPlane.infer``, where MLServer's REST and gRPC servers both hand over an
inference request, in one ``predict <model>`` span with the ML metrics of
:class:`~mlotel.PredictionRecorder`; on REST it is inside the request's
server span (from mlotel's ``mlotel_http``: MLServer serves with FastAPI).
The prediction is made in the server's process, so it is there whether the
model runs in it (``parallel_workers: 0``), where the model library's call
adds its results to it, or in MLServer's parallel workers (the default),
where the library's call is left unrecorded and the results are the
response's.

- model name and version: the model's own (``name`` and
  ``parameters.version`` of its model-settings.json, as MLServer resolved
  the request to it; without a version there, ``MLOTEL_MODEL_VERSION`` or ``unknown``);
- batch size: the first input's first dimension;
- results: the ``predict_proba`` output when the request asked for it, else
  the first output, one row per instance
  (:func:`mlotel.instrumentors.serving.results_from_rows`): a classifier's
  labels alone give the predictions' count but no confidence.

A request for a model that is not there is MLServer's 404 and no prediction.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.instrumentation.utils import suppress_instrumentation

from mlotel.instrumentors import serving

PROBABILITIES = "predict_proba"  # mlserver-sklearn's name for a classifier's class probabilities


def _arguments(payload: Any, name: str, version: str | None = None) -> tuple[Any, str, str | None]:
    return payload, name, version


def _batch_size(payload: Any) -> int:
    inputs = payload.inputs
    return int(inputs[0].shape[0]) if inputs and inputs[0].shape else 1


def _rows(response: Any) -> list:
    from mlserver.codecs import NumpyCodec

    outputs = response.outputs
    if not outputs:
        return []
    chosen = next((o for o in outputs if o.name == PROBABILITIES), outputs[0])
    return NumpyCodec.decode_output(chosen).tolist()


async def _infer(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    payload, name, version = _arguments(*args, **kwargs)
    try:
        # The registry is DataPlane's own attribute, the one it resolves the request with (there is no public one).
        model = await instance._model_registry.get_model(name, version)
    except Exception:
        return await wrapped(*args, **kwargs)  # MLServer's own answer (an unknown model: 404), not a prediction
    async with serving.server_prediction(model.name, serving.version_of(model.version), _batch_size(payload)) as prediction:
        response = await wrapped(*args, **kwargs)
        if prediction is not None:
            serving.set_results(prediction, _rows(response))
        return response


async def _in_worker(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    # A parallel worker's model call is the server process's prediction, recorded there: not a second one here.
    with suppress_instrumentation():
        return await wrapped(*args, **kwargs)


class MLServerInstrumentor(serving.ServerInstrumentor):
    """A prediction per MLServer inference request."""

    _instruments = ("mlserver >= 1.6",)

    def wrappers(self) -> tuple[tuple[str, str, Any], ...]:
        return (
            ("mlserver.handlers.dataplane", "DataPlane.infer", _infer),
            ("mlserver.parallel.worker", "Worker._process_request", _in_worker),
        )
