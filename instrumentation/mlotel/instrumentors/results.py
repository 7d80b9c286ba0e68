"""How a model library's output becomes a prediction's labels and confidences.

Each function takes the model and what the wrapped method returned, and
gives ``(labels, confidences)`` for :meth:`mlotel.Prediction.set_results`,
or None when the output says nothing the metrics can use (a regressor's
values, a clusterer's ids without classes, a multi-output array): the
prediction is then recorded with its span, duration and batch size only.
Labels are the model's ``classes_`` where it has them, else class indices;
a confidence is the top class's probability, never a raw score.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

Results = tuple[Sequence[Any], Sequence[float]]


def class_labels(model: Any, index: np.ndarray) -> list[Any]:
    """The model's class for each index (its ``classes_``), or the index itself."""
    classes = getattr(model, "classes_", None)
    if classes is None:
        return index.tolist()
    chosen = np.asarray(classes)[index]
    return _integral(chosen).tolist()


def _integral(values: np.ndarray) -> np.ndarray:
    """Whole-number float classes as integers: some estimators keep ``y``'s 0, 1 as 0.0, 1.0."""
    if values.dtype.kind == "f" and np.all(np.mod(values, 1) == 0):
        return values.astype(np.int64)
    return values


def probabilities(model: Any, output: Any) -> Results | None:
    """Class probabilities: rows of one per class, or one per row for the positive class (binary boosters)."""
    array = np.asarray(output)
    if array.ndim == 1:
        positive = array >= 0.5
        index = positive.astype(np.intp)
        confidences = np.where(positive, array, 1.0 - array)
    elif array.ndim == 2 and array.shape[1] > 0:
        index = array.argmax(axis=1)
        confidences = array[np.arange(len(array)), index]
    else:
        return None
    return class_labels(model, index), confidences.tolist()


def labels(model: Any, output: Any) -> Results | None:
    """A classifier's predicted classes, no confidences; nothing for a regressor (it has no ``classes_``)."""
    if getattr(model, "classes_", None) is None:
        return None
    array = np.asarray(output)
    return (_integral(array).tolist(), ()) if array.ndim == 1 else None


def scores(model: Any, output: Any) -> Results | None:
    """``decision_function``: the class it picks, no confidence (a score is not a probability)."""
    if getattr(model, "classes_", None) is None:
        return None
    array = np.asarray(output)
    if array.ndim == 1:
        return class_labels(model, (array > 0).astype(np.intp)), ()
    if array.ndim == 2 and array.shape[1] > 0:
        return class_labels(model, array.argmax(axis=1)), ()
    return None


def none(model: Any, output: Any) -> None:
    """Values that are no class (a regressor's, a margin): the span, duration and batch size only."""
    return None
