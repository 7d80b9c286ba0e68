"""What the model-server instrumentors share: one prediction per request, made by the server.

A server instrumentor (:mod:`~mlotel.instrumentors.kserve`,
:mod:`~mlotel.instrumentors.mlserver`, :mod:`~mlotel.instrumentors.bentoml`)
wraps the server's own inference call in :func:`server_prediction`: the
``predict <model>`` span and the ML metrics come from one
:class:`~mlotel.PredictionRecorder`, exactly as a hand-written server gets
them, named with the model name and version the server itself knows. While it
is open it is :func:`mlotel.recorder.current_prediction`, so the stages the
server runs (KServe's preprocess, predict, postprocess) are timed on it, and a
model library called inside (scikit-learn's ``predict_proba``) adds its labels
and confidences to it instead of making a second prediction
(:mod:`mlotel.instrumentors.wrapper`).

Version, when the server has none for the model: the model object's
``mlotel_model_version`` attribute, else ``MLOTEL_MODEL_VERSION``, else
``unknown``. Results, when no library inside gave them: the server's
response, one row per instance (:func:`results_from_rows`).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from types import ModuleType
from typing import Any

import wrapt
from opentelemetry.instrumentation.utils import is_instrumentation_enabled, unwrap

from mlotel.instrumentors.identity import UNKNOWN_VERSION, VERSION_ATTRIBUTE
from mlotel.instrumentors.wrapper import CheckedInstrumentor
from mlotel.recorder import Prediction, PredictionRecorder, current_prediction

# A probability row sums to 1 up to float32 rounding of a handful of classes.
_SUM_TOLERANCE = 1e-3


@functools.cache
def recorder() -> PredictionRecorder:
    """One recorder per process, built at the first request: the providers are installed by then."""
    return PredictionRecorder()


def version_of(known: str | None, model: Any = None) -> str:
    """The server's version for the model if it has one, else the defaults in the module docstring."""
    explicit = known or getattr(model, VERSION_ATTRIBUTE, None) or recorder().config.model_version
    return str(explicit) if explicit else UNKNOWN_VERSION


@asynccontextmanager
async def server_prediction(model: str, version: str, batch_size: int) -> AsyncIterator[Prediction | None]:
    """The request's one prediction; None (and nothing recorded) when suppressed, switched off or nested."""
    if not is_instrumentation_enabled() or current_prediction() is not None:
        yield None
        return
    with recorder().predict(model, version, batch_size) as prediction:
        yield prediction if isinstance(prediction, Prediction) else None


def results_from_rows(rows: Sequence[Any]) -> tuple[list[Any], list[float]]:
    """Labels and confidences, one row per instance: a row of class probabilities gives its top
    class's index and probability; a bare label gives the label, no confidence; anything else, nothing."""
    labels: list[Any] = []
    confidences: list[float] = []
    for row in rows:
        if _is_probabilities(row):
            top = max(range(len(row)), key=row.__getitem__)
            labels.append(top)
            confidences.append(float(row[top]))
        elif isinstance(row, str | int) or (isinstance(row, float) and row.is_integer()):
            labels.append(int(row) if isinstance(row, float) else row)
        else:
            return [], []  # not a classifier's output (a regressor's values): no labels to count
    return (labels, confidences) if len(confidences) in (0, len(labels)) else ([], [])


def _is_probabilities(row: Any) -> bool:
    if not isinstance(row, Sequence) or isinstance(row, str) or len(row) < 2:
        return False
    if not all(isinstance(p, float | int) and 0 <= p <= 1 for p in row):
        return False
    return abs(sum(row) - 1) <= _SUM_TOLERANCE


def set_results(prediction: Prediction | None, rows: Sequence[Any]) -> None:
    """Give the prediction the response's results, unless a model library inside already did."""
    if prediction is None or prediction.labels:
        return
    labels, confidences = results_from_rows(rows)
    if labels:
        prediction.set_results(labels, confidences)


class ServerInstrumentor(CheckedInstrumentor):
    """Wraps its :meth:`wrappers` when their module is imported (never imports the server itself)."""

    _active = False

    def wrappers(self) -> tuple[tuple[str, str, Callable[..., Any]], ...]:
        """``(module, "Class.method", wrapt wrapper)`` rows."""
        return ()

    def _instrument(self, **kwargs: Any) -> None:
        self._active = True  # before the hooks: a module already imported is wrapped at registration
        for module in {module for module, _, _ in self.wrappers()}:
            wrapt.register_post_import_hook(self._wrap_module, module)

    def _wrap_module(self, module: ModuleType) -> None:
        if not self._active:
            return  # a hook registered before uninstrument(): wrapt cannot take it back
        for name, method, wrapper in self.wrappers():
            if name == module.__name__:
                wrapt.wrap_function_wrapper(module, method, wrapper)

    def _uninstrument(self, **kwargs: Any) -> None:
        self._active = False
        for name, method, _ in self.wrappers():
            if name in sys.modules:
                class_name, _, method_name = method.rpartition(".")
                unwrap(getattr(sys.modules[name], class_name), method_name)
