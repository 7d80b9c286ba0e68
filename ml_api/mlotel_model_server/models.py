"""The served models: trained once from datasets that ship with scikit-learn,
cached on disk under a version derived from their data and parameters.

``iris`` is a logistic regression (4 features, fast); ``digits`` a random
forest (64 features) whose large batches take hundreds of milliseconds, so
that slow predictions exist to be traced. Each keeps its training rows as the
reference its inputs are binned against for drift (``mlotel.feature_drift``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from sklearn.datasets import load_digits, load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    load_data: Callable
    build: Callable[[], Any]  # an unfitted scikit-learn estimator


SPECS = (
    ModelSpec("iris", load_iris, lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))),
    ModelSpec("digits", load_digits, lambda: RandomForestClassifier(n_estimators=800, random_state=0)),
)


@dataclass(frozen=True)
class ServedModel:
    name: str
    version: str
    estimator: Any  # a fitted scikit-learn estimator (scikit-learn has no type hints)
    classes: tuple[str, ...]
    n_features: int
    reference: np.ndarray  # the training rows
    feature_names: tuple[str, ...]

    def predict(self, features: np.ndarray) -> tuple[list[str], list[float]]:
        """Labels and confidences (top-class probability) for each row."""
        probabilities = self.estimator.predict_proba(features)
        if not np.isfinite(probabilities).all():
            # NaN would fail the JSON encoding of the response, later and as plain text.
            raise FloatingPointError(f"{self.name} gave non-finite probabilities")
        top = probabilities.argmax(axis=1)
        labels = [self.classes[i] for i in top]
        return labels, probabilities[np.arange(len(top)), top].tolist()

    def describe(self) -> dict:
        return {"name": self.name, "version": self.version, "n_features": self.n_features, "classes": list(self.classes)}


def _version(spec: ModelSpec, data) -> str:
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(data.data).tobytes())
    digest.update(np.ascontiguousarray(data.target).tobytes())
    digest.update(repr(spec.build().get_params(deep=True)).encode())
    digest.update(sklearn.__version__.encode())
    return digest.hexdigest()[:12]


def load_model(spec: ModelSpec, model_dir: Path) -> ServedModel:
    data = spec.load_data()
    version = _version(spec, data)
    classes = tuple(str(name) for name in getattr(data, "target_names", np.unique(data.target)))
    path = model_dir / f"{spec.name}-{version}.joblib"
    if path.exists():
        estimator = joblib.load(path)
    else:
        _logger.info("training %s (version %s), caching it at %s", spec.name, version, path)
        estimator = spec.build().fit(data.data, data.target)
        model_dir.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed, so that workers starting together never read half a file.
        fd, tmp = tempfile.mkstemp(dir=model_dir, suffix=".tmp")
        os.close(fd)
        joblib.dump(estimator, tmp)
        os.replace(tmp, path)
    names = tuple(getattr(data, "feature_names", None) or (f"feature_{i}" for i in range(data.data.shape[1])))
    return ServedModel(spec.name, version, estimator, classes, data.data.shape[1], data.data, names)


def load_models(model_dir: Path) -> dict[str, ServedModel]:
    return {spec.name: load_model(spec, model_dir) for spec in SPECS}
