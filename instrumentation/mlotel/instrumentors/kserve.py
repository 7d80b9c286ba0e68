"""KServe's model server, zero-code: each inference request is one prediction.

Usage (nothing of mlotel in the model's code)::

    pip install mlotel kserve
    opentelemetry-instrument python my_model.py   # kserve.ModelServer().start([MyModel("iris")])

``opentelemetry-instrument`` finds :class:`KServeInstrumentor` through the
``opentelemetry_instrumentor`` entry point ``kserve``. It wraps
``kserve.Model.__call__``, the lifecycle every v1 (``:predict``) and v2
(``/infer``) request goes through, in one ``predict <model>`` span inside the
request's server span (from mlotel's ``mlotel_http``: KServe serves with
FastAPI), with the ML metrics of :class:`~mlotel.PredictionRecorder`.
The lifecycle's hooks are its stages: ``preprocess``, ``predict`` (the stage
named ``inference``, as everywhere in mlotel) and ``postprocess``, whichever
class of the model defines them, timed on the span as
``ml.stage.<stage>.duration_ms`` (and as child spans when slow or failed).

- model name: the ``kserve.Model``'s ``name``, the one in the URL;
- model version: the v2 request's ``model_version`` when it names one (KServe
  itself has no model versions yet), else the model object's
  ``mlotel_model_version`` attribute, ``MLOTEL_MODEL_VERSION``, or ``unknown``;
- batch size: v1 ``instances`` (or ``inputs``) rows, v2 the first input's first dimension;
- results: the response's ``predictions`` (v1) or first output (v2), one row
  per instance (:func:`mlotel.instrumentors.serving.results_from_rows`),
  unless a model library inside gave them.
"""

from __future__ import annotations

import inspect
from typing import Any

import wrapt
from opentelemetry.instrumentation.utils import unwrap

from mlotel.instrumentors import serving
from mlotel.recorder import current_prediction

# KServe's hook -> mlotel's stage name.
STAGES = {"preprocess": "preprocess", "predict": "inference", "postprocess": "postprocess"}


def _batch_size(body: Any) -> int:
    if isinstance(body, dict):
        rows = body.get("instances", body.get("inputs"))
        return len(rows) if isinstance(rows, list) else 1
    inputs = getattr(body, "inputs", None)  # a v2 InferRequest
    if inputs and inputs[0].shape:
        return int(inputs[0].shape[0])
    return 1


def _version(model: Any, body: Any) -> str:
    return serving.version_of(getattr(body, "model_version", None), model)


def _rows(response: Any) -> list:
    if isinstance(response, dict):
        rows = response.get("predictions", ())
        return rows if isinstance(rows, list) else []
    outputs = getattr(response, "outputs", None)  # a v2 InferResponse
    if outputs:
        return outputs[0].as_numpy().tolist()
    return []


async def _call(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    body = args[0] if args else kwargs.get("body")
    async with serving.server_prediction(instance.name, _version(instance, body), _batch_size(body)) as prediction:
        response = await wrapped(*args, **kwargs)
        if prediction is not None and isinstance(response, tuple):
            serving.set_results(prediction, _rows(response[0]))
        return response


def _stage(stage: str) -> Any:
    def timed(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
        prediction = current_prediction()
        if prediction is None:
            return wrapped(*args, **kwargs)
        if inspect.iscoroutinefunction(wrapped):
            async def awaited() -> Any:
                with prediction.stage(stage):
                    return await wrapped(*args, **kwargs)

            return awaited()
        with prediction.stage(stage):
            return wrapped(*args, **kwargs)

    return timed


class KServeInstrumentor(serving.ServerInstrumentor):
    """A prediction per ``kserve.Model`` call, its lifecycle hooks as stages."""

    _instruments = ("kserve >= 0.17",)
    # Not in __init__: the launcher may construct this singleton again, re-running __init__.
    _hooked: set[tuple[type, str]] = set()

    def wrappers(self) -> tuple[tuple[str, str, Any], ...]:
        return (("kserve.model", "Model.__call__", _call), ("kserve.model", "Model.__init__", self._hook_stages))

    def _hook_stages(self, wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
        """Wrap the hooks where this model's class finds them: a subclass overrides them."""
        wrapped(*args, **kwargs)
        for hook, stage in STAGES.items():
            owner = next(klass for klass in type(instance).__mro__ if hook in vars(klass))
            if (owner, hook) not in self._hooked:
                wrapt.wrap_function_wrapper(owner, hook, _stage(stage))
                self._hooked.add((owner, hook))

    def _uninstrument(self, **kwargs: Any) -> None:
        super()._uninstrument(**kwargs)
        for owner, hook in self._hooked:
            unwrap(owner, hook)
        self._hooked.clear()
