"""How a model library's output becomes a prediction's labels and confidences.

Each function takes the model and what the wrapped method returned, and
gives ``(labels, confidences)`` for :meth:`mlotel.Prediction.set_results`,
or None when the output says nothing the metrics can use (a regressor's
values, a clusterer's ids without classes, a multi-output array): the
prediction is then recorded with its span, duration and batch size only.
Labels are the model's ``classes_`` where it has them, else class indices;
a confidence is the top class's probability, never a raw score.

The top class of a small output (``SMALL`` numbers: a request's few rows)
is found in Python, not with numpy's ``argmax`` and fancy indexing: numpy
lets the GIL go in those whatever the size, and in a server of many
threads each release is one more wait for the GIL, a context switch, for a
handful of numbers (``make bench``'s ``mlotel-sklearn``: 29.5 switches a
request against mlotel's 17.8, three of these calls a prediction). The
same labels and confidences either way, NaN first as in ``argmax``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

Results = tuple[Sequence[Any], Sequence[float]]
# Outputs of at most this many numbers are read in Python (the module docstring).
SMALL = 1024


def class_labels(model: Any, index: np.ndarray | list[int]) -> list[Any]:
    """The model's class for each index (its ``classes_``), or the index itself."""
    classes = getattr(model, "classes_", None)
    if isinstance(index, list):
        if classes is None:
            return index
        classes = np.asarray(classes)
        if classes.size <= SMALL:
            every = classes.tolist()
            chosen = [every[i] for i in index]
            if classes.dtype.kind == "f" and all(value.is_integer() for value in chosen):
                return [int(value) for value in chosen]  # as _integral
            return chosen
        index = np.asarray(index, dtype=np.intp)
    if classes is None:
        return index.tolist()
    return _integral(np.asarray(classes)[index]).tolist()


def _top(array: np.ndarray) -> tuple[np.ndarray | list[int], np.ndarray | list[Any]]:
    """Each row's top column and its value, as ``argmax`` finds them (the first NaN, else the first largest)."""
    if array.size > SMALL:
        index = array.argmax(axis=1)
        return index, array[np.arange(len(array)), index]
    index, values = [], []
    for row in array.tolist():
        best, top = 0, row[0]
        if top == top:  # not NaN: a NaN further on wins, as in argmax
            for column in range(1, len(row)):
                value = row[column]
                if value > top or value != value:
                    best, top = column, value
                    if value != value:
                        break
        index.append(best)
        values.append(top)
    return index, values


def _integral(values: np.ndarray) -> np.ndarray:
    """Whole-number float classes as integers: some estimators keep ``y``'s 0, 1 as 0.0, 1.0."""
    if values.dtype.kind == "f" and np.all(np.mod(values, 1) == 0):
        return values.astype(np.int64)
    return values


def probabilities(model: Any, output: Any) -> Results | None:
    """Class probabilities: rows of one per class, or one per row for the positive class (binary boosters)."""
    array = np.asarray(output)
    index: np.ndarray | list[int]
    confidences: np.ndarray | list[Any]
    if array.ndim == 1:
        positive = array >= 0.5
        index = positive.astype(np.intp)
        confidences = np.where(positive, array, 1.0 - array)
    elif array.ndim == 2 and array.shape[1] > 0:
        index, confidences = _top(array)
    else:
        return None
    return class_labels(model, index), confidences if isinstance(confidences, list) else confidences.tolist()


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
        return class_labels(model, _top(array)[0]), ()
    return None


def none(model: Any, output: Any) -> None:
    """Values that are no class (a regressor's, a margin): the span, duration and batch size only."""
    return None
