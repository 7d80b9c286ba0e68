"""LightGBM's models, predictions traced with no code (entry point ``mlotel_lightgbm``).

Wrapped, when ``lightgbm`` is imported: the scikit-learn API
(``LGBMClassifier.predict_proba`` and ``predict``, which calls it: labels and
confidences; ``LGBMModel.predict``, i.e. a regressor or ranker: span,
duration and batch size) and the native ``Booster.predict``, whose output
gives labels (class indices) and confidences when the objective is
``binary``, ``multiclass`` or ``multiclassova``. Raw scores, leaf indices and
contributions are no prediction and are left alone. A classifier calling its
booster is one prediction. Default name: the class name; version: a
fingerprint of the pickled model (:mod:`mlotel.instrumentors.identity`).
"""

from __future__ import annotations

import weakref
from typing import Any

from mlotel.instrumentors import results
from mlotel.instrumentors.results import Results
from mlotel.instrumentors.wrapper import ModelLibraryInstrumentor, Wrapped

_instruments = ("lightgbm >= 4.0, < 5",)
PROBABILITY_OBJECTIVES = ("binary", "multiclass", "multiclassova")

_objectives: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def _objective(booster: Any) -> str:
    """The booster's objective as LightGBM names it (aliases resolved), read once per booster from its model text."""
    objective = _objectives.get(booster)
    if objective is None:
        header = booster.model_to_string().split("\nTree=", 1)[0]
        line = next((line for line in header.splitlines() if line.startswith("objective=")), "objective=")
        objective = line.partition("=")[2].split(" ")[0]
        _objectives[booster] = objective
    return objective


def booster_results(booster: Any, output: Any) -> Results | None:
    return results.probabilities(booster, output) if _objective(booster) in PROBABILITY_OBJECTIVES else None


def _not_raw(model: Any, kwargs: dict) -> bool:
    return not any(kwargs.get(flag) for flag in ("raw_score", "pred_leaf", "pred_contrib"))


def _rows(args: tuple, kwargs: dict) -> int:
    """Rows of an array, DataFrame or list; 0 for a file name (LightGBM reads it itself)."""
    data = args[0] if args else kwargs.get("data", kwargs.get("X"))
    shape = getattr(data, "shape", None)
    return int(shape[0]) if shape else len(data) if isinstance(data, list) else 0


class LightGBMInstrumentor(ModelLibraryInstrumentor):
    """One prediction per call a user makes to a LightGBM model."""

    _instruments = _instruments
    table = (
        Wrapped("lightgbm.sklearn", "LGBMClassifier.predict_proba", results.probabilities, _rows, _not_raw),
        Wrapped("lightgbm.sklearn", "LGBMClassifier.predict", results.labels, _rows, _not_raw),
        Wrapped("lightgbm.sklearn", "LGBMModel.predict", results.none, _rows, _not_raw),
        Wrapped("lightgbm.basic", "Booster.predict", booster_results, _rows, _not_raw),
    )
