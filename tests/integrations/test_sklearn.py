"""scikit-learn from PyPI, oldest and newest supported, under ``opentelemetry-instrument`` with no
mlotel in the program: one prediction per call (pipeline, predict calling predict_proba, a
request's two calls), the default name and fingerprint version, and the ML metrics, read back
from a real OTLP receiver."""

import json

import pytest

from harness.throwaway_venvs import emitted_by, installed_version, make_venv

pytestmark = pytest.mark.integrations

ENDS = {
    # scikit-learn 1.3 was built against numpy 1.x and does not import with numpy 2.
    "oldest": ("scikit-learn==1.3.0", "numpy<2"),
    "newest": ("scikit-learn",),
}

PROGRAM = """
import hashlib, json, pickle
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

X, y = load_iris(return_X_y=True)
pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
named = LogisticRegression(max_iter=500).fit(X, y)
named.mlotel_model_name = "iris"

pipeline.predict_proba(X[:5])  # the pipeline calls its final step: one prediction
forest.predict(X[:3])  # predict calls predict_proba: one prediction
named.predict(X[:2]); named.predict_proba(X[:2])  # two calls, two predictions
print(json.dumps({"pipeline": hashlib.sha256(pickle.dumps(pipeline, protocol=5)).hexdigest()[:12]}))
"""


@pytest.mark.parametrize("end", ENDS)
def test_sklearn_predictions_with_no_code(end, venvs, tmp_path):
    venv = make_venv(venvs, ENDS[end])
    emitted = emitted_by(venv, PROGRAM, tmp_path)
    fingerprint = json.loads(emitted.stdout)["pipeline"]
    spans = emitted.spans
    confidence, predictions = emitted.points["ml.prediction.confidence"], emitted.points["ml.predictions"]
    durations = emitted.points["ml.prediction.duration"]
    print(f"scikit-learn {installed_version(venv, 'scikit-learn')}")
    assert [name for name, _ in spans] == [
        "predict LogisticRegression",
        "predict RandomForestClassifier",
        "predict iris",
        "predict iris",
    ]
    assert spans[0][1]["ml.model.version"] == fingerprint and spans[0][1]["ml.batch.size"] == 5
    assert spans[1][1]["ml.model.version"] != fingerprint
    count = {(a["ml.model.name"], a["ml.prediction.label"]): p.count for a, p in confidence}
    # The first 5 irises are class 0; the forest's predict got confidences from its predict_proba; of
    # the named model's two calls only predict_proba has confidences.
    assert count == {("LogisticRegression", "0"): 5, ("RandomForestClassifier", "0"): 3, ("iris", "0"): 2}
    counted = {(a["ml.model.name"], a.get("ml.prediction.low_confidence")): p.as_int for a, p in predictions}
    assert counted == {("LogisticRegression", False): 5, ("RandomForestClassifier", False): 3, ("iris", None): 2, ("iris", False): 2}
    assert sorted(p.count for _, p in durations) == [1, 1, 2]


def test_a_version_outside_the_range_is_left_alone(venvs, tmp_path):
    # The launcher checks only mlotel's own requirements; the instrumentor checks its _instruments itself.
    venv = make_venv(venvs, ("scikit-learn==1.2.2", "numpy<2"))
    program = "from sklearn.datasets import load_iris\nfrom sklearn.linear_model import LogisticRegression\n"
    program += "X, y = load_iris(return_X_y=True)\nLogisticRegression(max_iter=500).fit(X, y).predict_proba(X[:5])\n"
    emitted = emitted_by(venv, program, tmp_path)
    assert installed_version(venv, "scikit-learn") == "1.2.2"
    assert emitted.spans == [] and emitted.points["ml.prediction.duration"] == []
