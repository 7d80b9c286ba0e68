"""LightGBM from PyPI, oldest and newest supported, under ``opentelemetry-instrument`` with no mlotel
in the program: its scikit-learn API and its native booster, one prediction per call (predict
calling predict_proba calling the booster is one; raw scores are none), the default name and
fingerprint version, and the ML metrics, read back from a real OTLP receiver."""

import json

import pytest

from harness.otlp_receiver import OtlpReceiver
from harness.throwaway_venvs import installed_version, make_venv, points, predict_spans, run_instrumented

pytestmark = pytest.mark.integrations

ENDS = {
    # LightGBM 4.0 predates numpy 2 and scikit-learn 1.6's estimator tags.
    "oldest": ("lightgbm==4.0.0", "numpy<2", "scikit-learn<1.6"),
    "newest": ("lightgbm", "scikit-learn"),
}

PROGRAM = """
import hashlib, json, pickle
import lightgbm as lgb
from sklearn.datasets import load_iris

X, y = load_iris(return_X_y=True)
classifier = lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, y)
booster = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(X[:100], label=y[:100]), num_boost_round=5)
regressor = lgb.LGBMRegressor(n_estimators=3, verbose=-1).fit(X, y.astype(float))

classifier.predict_proba(X[:5])  # calls its booster: one prediction
classifier.predict(X[:3])  # calls predict_proba, which calls the booster: one prediction
booster.predict(X[:4])
booster.predict(X[:4], raw_score=True)  # raw scores: no prediction
regressor.predict(X[:2])
print(json.dumps({"classifier": hashlib.sha256(pickle.dumps(classifier, protocol=5)).hexdigest()[:12]}))
"""


@pytest.mark.parametrize("end", ENDS)
def test_lightgbm_predictions_with_no_code(end, venvs, tmp_path):
    venv = make_venv(venvs, ENDS[end])
    with OtlpReceiver() as receiver:
        fingerprint = json.loads(run_instrumented(venv, PROGRAM, receiver, tmp_path))["classifier"]
        spans = predict_spans(receiver)
        confidence = points(receiver, "ml.prediction.confidence")
        predictions = points(receiver, "ml.predictions")
        batches = points(receiver, "ml.batch.size")
    print(f"lightgbm {installed_version(venv, 'lightgbm')}")
    names = [name for name, _ in spans]
    assert names == ["predict LGBMClassifier", "predict LGBMClassifier", "predict Booster", "predict LGBMRegressor"]
    assert spans[0][1]["ml.model.version"] == spans[1][1]["ml.model.version"] == fingerprint
    count = {(a["ml.model.name"], a["ml.prediction.label"]): p.count for a, p in confidence}
    assert count == {("LGBMClassifier", "0"): 8, ("Booster", "0"): 4}  # the first irises are class 0
    counted: dict[str, int] = {}
    for a, p in predictions:
        counted[a["ml.model.name"]] = counted.get(a["ml.model.name"], 0) + p.as_int
    assert counted == {"LGBMClassifier": 8, "Booster": 4}
    assert {a["ml.model.name"]: p.sum for a, p in batches} == {"LGBMClassifier": 8, "Booster": 4, "LGBMRegressor": 2}
