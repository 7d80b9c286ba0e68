"""What the model-server instrumentors share: one prediction per request, made by the server.

A server instrumentor (:mod:`~mlotel.instrumentors.kserve`,
:mod:`~mlotel.instrumentors.mlserver`, :mod:`~mlotel.instrumentors.bentoml`)
wraps the server's own inference entry point in :func:`server_prediction`:
the ``predict <model>`` span and the ML metrics come from one
:class:`~mlotel.PredictionRecorder`, exactly as a hand-written server gets
them, named with the model name and version the server itself knows. While
it is open, :func:`current` returns it, so that the stages the server runs
(KServe's preprocess, predict, postprocess) are timed on it and a model
library called inside adds its results to it instead of making a second
prediction.

Results: a server's response is read with :func:`results_from_rows`, one row
per instance; a row of class probabilities gives its top class and that
probability as the confidence, a bare label gives the label alone (counted in
no confidence histogram: there is none to record).
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from mlotel.recorder import Prediction, PredictionRecorder

_CURRENT: contextvars.ContextVar[Prediction | None] = contextvars.ContextVar("mlotel_server_prediction", default=None)
# A probability row sums to 1 up to float32 rounding of a handful of classes.
_SUM_TOLERANCE = 1e-3


@functools.cache
def recorder() -> PredictionRecorder:
    """One recorder per process, built at the first request: the providers are installed by then."""
    return PredictionRecorder()


def current() -> Prediction | None:
    """The server prediction under way in this context, if any."""
    return _CURRENT.get()


@asynccontextmanager
async def server_prediction(model: str, version: str, batch_size: int) -> AsyncIterator[Prediction | None]:
    """The request's one prediction; yields None (and records nothing) when suppressed or switched off."""
    if not is_instrumentation_enabled() or _CURRENT.get() is not None:
        yield None
        return
    with recorder().predict(model, version, batch_size) as prediction:
        if not isinstance(prediction, Prediction):  # the recorder is switched off
            yield None
            return
        token = _CURRENT.set(prediction)
        try:
            yield prediction
        finally:
            _CURRENT.reset(token)


def results_from_rows(rows: Sequence[Any]) -> tuple[list[Any], list[float]]:
    """Labels and confidences from one output row per instance (see the module docstring)."""
    labels: list[Any] = []
    confidences: list[float] = []
    for row in rows:
        if _is_probabilities(row):
            top = max(range(len(row)), key=row.__getitem__)
            labels.append(top)
            confidences.append(float(row[top]))
        elif isinstance(row, str | int | bool) or (isinstance(row, float) and row.is_integer()):
            labels.append(row if not isinstance(row, float) else int(row))
        else:
            return [], []  # not a classifier's output: nothing to say about labels
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
