"""XGBoost's models, predictions traced with no code (entry point ``mlotel_xgboost``).

Wrapped, when ``xgboost`` is imported: the scikit-learn API
(``XGBClassifier.predict_proba`` and ``predict``: labels and confidences,
the latter from the booster call inside it; ``XGBModel.predict``, i.e. a regressor:
span, duration and batch size) and the native ``Booster.predict`` and
``Booster.inplace_predict``, whose probabilities give labels (class indices)
and confidences when the objective yields them (``binary:logistic``,
``multi:softprob``; ``multi:softmax`` gives labels). A booster's calls during
training, and margins, leaf indices or contributions, are no prediction and
are left alone. ``XGBClassifier`` calling its booster is one prediction.
Default name: the class name; version: a fingerprint of the pickled model
(:mod:`mlotel.instrumentors.identity`).
"""

from __future__ import annotations

import json
import weakref
from typing import Any

from mlotel.instrumentors import results
from mlotel.instrumentors.results import Results
from mlotel.instrumentors.wrapper import ModelLibraryInstrumentor, Wrapped

_instruments = ("xgboost >= 2.0, < 4",)

_objectives: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def _objective(booster: Any) -> str:
    """The booster's objective, read once per booster (its configuration is a JSON document)."""
    objective = _objectives.get(booster)
    if objective is None:
        objective = json.loads(booster.save_config())["learner"]["objective"]["name"]
        _objectives[booster] = objective
    return objective


def booster_results(booster: Any, output: Any) -> Results | None:
    objective = _objective(booster)
    if objective in ("binary:logistic", "multi:softprob"):
        return results.probabilities(booster, output)
    if objective == "multi:softmax":
        return [int(label) for label in output], ()
    return None


def _dmatrix_rows(args: tuple, kwargs: dict) -> int:
    data = args[0] if args else kwargs["data"]
    return int(data.num_row())


def _not_margin(model: Any, kwargs: dict) -> bool:
    return not kwargs.get("output_margin")


def _booster_prediction(model: Any, kwargs: dict) -> bool:
    return not any(kwargs.get(flag) for flag in ("training", "output_margin", "pred_leaf", "pred_contribs", "pred_interactions"))


def _inplace_prediction(model: Any, kwargs: dict) -> bool:
    return kwargs.get("predict_type", "value") == "value"


class XGBoostInstrumentor(ModelLibraryInstrumentor):
    """One prediction per call a user makes to an XGBoost model."""

    _instruments = _instruments
    table = (
        Wrapped("xgboost.sklearn", "XGBClassifier.predict_proba", results.probabilities),
        Wrapped("xgboost.sklearn", "XGBClassifier.predict", results.labels, is_prediction=_not_margin),
        Wrapped("xgboost.sklearn", "XGBModel.predict", results.none, is_prediction=_not_margin),
        Wrapped("xgboost.core", "Booster.predict", booster_results, _dmatrix_rows, _booster_prediction),
        Wrapped("xgboost.core", "Booster.inplace_predict", booster_results, is_prediction=_inplace_prediction),
    )
