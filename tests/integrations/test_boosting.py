"""XGBoost and LightGBM from PyPI, oldest and newest supported, under ``opentelemetry-instrument``
with no mlotel in the program: the scikit-learn API and the native booster, one prediction per
call (a classifier calling its booster, LightGBM's predict calling predict_proba: one; training,
margins and raw scores: none), the default name and fingerprint version, and the ML metrics,
read back from a real OTLP receiver."""

import json

import pytest

from harness.throwaway_venvs import emitted_by, installed_version, make_venv

pytestmark = pytest.mark.integrations

# Both oldest releases predate numpy 2 and scikit-learn 1.6's estimator tags.
ENDS = {
    ("xgboost", "oldest"): ("xgboost==2.0.0", "numpy<2", "scikit-learn<1.6"),
    ("xgboost", "newest"): ("xgboost", "scikit-learn"),
    ("lightgbm", "oldest"): ("lightgbm==4.0.0", "numpy<2", "scikit-learn<1.6"),
    ("lightgbm", "newest"): ("lightgbm", "scikit-learn"),
}
# Per library: its models, then the same five calls on them.
MODELS = {
    "xgboost": """
import xgboost as xgb
classifier = xgb.XGBClassifier(n_estimators=5).fit(X, y)
booster = xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(X[:100], label=y[:100]), num_boost_round=5)
regressor = xgb.XGBRegressor(n_estimators=3).fit(X, y.astype(float))
rows = lambda r: xgb.DMatrix(r)
not_a_prediction = {"output_margin": True}
""",
    "lightgbm": """
import lightgbm as lgb
classifier = lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, y)
booster = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(X[:100], label=y[:100]), num_boost_round=5)
regressor = lgb.LGBMRegressor(n_estimators=3, verbose=-1).fit(X, y.astype(float))
rows = lambda r: r
not_a_prediction = {"raw_score": True}
""",
}
CALLS = """
classifier.predict_proba(X[:5])  # calls its booster: one prediction
classifier.predict(X[:3])  # one prediction, however it calls the booster
booster.predict(rows(X[:4]))
booster.predict(rows(X[:4]), **not_a_prediction)
regressor.predict(X[:2])
print(json.dumps({"classifier": hashlib.sha256(pickle.dumps(classifier, protocol=5)).hexdigest()[:12]}))
"""
CLASSES = {"xgboost": ("XGBClassifier", "XGBRegressor"), "lightgbm": ("LGBMClassifier", "LGBMRegressor")}


@pytest.mark.parametrize("library, end", ENDS)
def test_boosted_trees_predictions_with_no_code(library, end, venvs, tmp_path):
    venv = make_venv(venvs, ENDS[library, end])
    program = "import hashlib, json, pickle\nfrom sklearn.datasets import load_iris\nX, y = load_iris(return_X_y=True)\n"
    emitted = emitted_by(venv, program + MODELS[library] + CALLS, tmp_path)
    print(f"{library} {installed_version(venv, library)}")
    classifier, regressor = CLASSES[library]
    assert [name for name, _ in emitted.spans] == [f"predict {m}" for m in (classifier, classifier, "Booster", regressor)]
    fingerprint = json.loads(emitted.stdout)["classifier"]
    assert emitted.spans[0][1]["ml.model.version"] == emitted.spans[1][1]["ml.model.version"] == fingerprint
    count = {(a["ml.model.name"], a["ml.prediction.label"]): p.count for a, p in emitted.points["ml.prediction.confidence"]}
    # The first irises are class 0; the classifier's predict has confidences from the call inside it.
    assert count == {(classifier, "0"): 8, ("Booster", "0"): 4}
    counted: dict[str, int] = {}
    for a, p in emitted.points["ml.predictions"]:
        counted[a["ml.model.name"]] = counted.get(a["ml.model.name"], 0) + p.as_int
    assert counted == {classifier: 8, "Booster": 4}
    assert {a["ml.model.name"]: p.sum for a, p in emitted.points["ml.batch.size"]} == {classifier: 8, "Booster": 4, regressor: 2}
