"""scikit-learn's estimators and pipelines, predictions traced with no code.

Usage: ``opentelemetry-instrument python my_server.py`` with mlotel and
scikit-learn installed (entry point ``mlotel_sklearn``), or in code::

    from mlotel.instrumentors.sklearn import SklearnInstrumentor
    SklearnInstrumentor().instrument()

Wrapped: ``predict``, ``predict_proba`` and ``decision_function`` of every
public estimator in the modules below (found by walking their classes when
each is imported, so a fitted model loaded with joblib or pickle is covered),
``Pipeline`` and search/meta-estimators included. ``predict_proba`` gives
labels (``classes_``) and confidences (the top probability); a classifier's
``predict`` and ``decision_function`` give labels only, unless a
``predict_proba`` inside them gave confidences first (a random forest's
``predict`` does); a regressor's or clusterer's ``predict`` gives the span,
duration and batch size. A pipeline calling its final step, or ``predict``
calling ``predict_proba``, is one prediction. Default name: the class name,
a ``Pipeline``'s final step's; version: a fingerprint of the pickled model
(:mod:`mlotel.instrumentors.identity`).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator
from types import ModuleType
from typing import Any

from mlotel.instrumentors import results
from mlotel.instrumentors.identity import class_name
from mlotel.instrumentors.wrapper import ModelLibraryInstrumentor, Wrapped

_instruments = ("scikit-learn >= 1.3, < 2",)

# The public modules whose estimators predict (sklearn.utils.discovery.all_estimators() finds
# these, but takes over a second, importing every module: here nothing is imported for mlotel).
MODULES = (
    "sklearn.calibration", "sklearn.cluster", "sklearn.compose", "sklearn.covariance",
    "sklearn.cross_decomposition", "sklearn.discriminant_analysis", "sklearn.dummy", "sklearn.ensemble",
    "sklearn.feature_selection", "sklearn.gaussian_process", "sklearn.isotonic", "sklearn.kernel_ridge",
    "sklearn.linear_model", "sklearn.mixture", "sklearn.model_selection", "sklearn.multiclass",
    "sklearn.multioutput", "sklearn.naive_bayes", "sklearn.neighbors", "sklearn.neural_network",
    "sklearn.pipeline", "sklearn.semi_supervised", "sklearn.svm", "sklearn.tree",
)  # fmt: skip
# The table, by method: each estimator class found is wrapped where it defines these.
METHODS = {
    "predict": results.labels,
    "predict_proba": results.probabilities,
    "decision_function": results.scores,
}


class SklearnInstrumentor(ModelLibraryInstrumentor):
    """One prediction per ``predict``/``predict_proba``/``decision_function`` call a user makes."""

    _instruments = _instruments

    def modules(self) -> Iterable[str]:
        return MODULES

    def rows(self, module: ModuleType) -> Iterator[tuple[type, str, Wrapped]]:
        from sklearn.base import BaseEstimator

        for name, cls in vars(module).items():
            if name.startswith("_") or not inspect.isclass(cls) or not issubclass(cls, BaseEstimator):
                continue
            for method, to_results in METHODS.items():
                # Wrapped on the class that defines it (often a base shared by many estimators), once.
                owner = next((c for c in cls.__mro__ if method in vars(c)), None)
                if owner is not None and owner.__module__.startswith("sklearn."):
                    yield owner, method, Wrapped(owner.__module__, f"{owner.__qualname__}.{method}", to_results)

    def default_name(self, model: Any) -> str:
        steps = getattr(model, "steps", None)  # a Pipeline: its final step names what it predicts
        if steps and isinstance(steps, list):
            return self.default_name(steps[-1][1])
        return class_name(model)
