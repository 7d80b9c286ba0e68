"""ONNX Runtime from PyPI, oldest and newest supported, under ``opentelemetry-instrument`` with no
mlotel in the program: classifiers converted by skl2onnx (ZipMap and plain tensor outputs) are one
prediction per run, a regressor's session is left alone, the default name (the graph's) and
fingerprint version (the model file's), and the ML metrics, read back from a real OTLP receiver."""

import json

import pytest

from harness.throwaway_venvs import emitted_by, installed_version, make_venv

pytestmark = pytest.mark.integrations

ENDS = {
    # ONNX Runtime 1.16 predates numpy 2; skl2onnx and onnx of its time.
    "oldest": ("onnxruntime==1.16.0", "numpy<2", "scikit-learn<1.6", "skl2onnx==1.16.0", "onnx<1.16"),
    "newest": ("onnxruntime", "skl2onnx", "scikit-learn"),
}

PROGRAM = """
import hashlib, json
import numpy as np
import onnxruntime as ort
from skl2onnx import to_onnx
from sklearn.datasets import load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression

X, y = load_iris(return_X_y=True)
X = X.astype(np.float32)
classifier = LogisticRegression(max_iter=500).fit(X, y)
zipmap = to_onnx(classifier, X[:1], target_opset=15)
with open("iris.onnx", "wb") as f:
    f.write(zipmap.SerializeToString())
tensor = to_onnx(classifier, X[:1], options={"zipmap": False}, target_opset=15)
regressor = to_onnx(LinearRegression().fit(X, y), X[:1], target_opset=15)

from_file = ort.InferenceSession("iris.onnx", providers=["CPUExecutionProvider"])
from_bytes = ort.InferenceSession(tensor.SerializeToString(), providers=["CPUExecutionProvider"])
values = ort.InferenceSession(regressor.SerializeToString(), providers=["CPUExecutionProvider"])
name = from_file.get_inputs()[0].name
from_file.run(None, {name: X[:5]})
from_bytes.run(None, {name: X[:3]})
values.run(None, {name: X[:2]})  # no probabilities: left alone
from_file.run([from_file.get_outputs()[0].name], {name: X[:2]})  # the labels only: span, no results
print(json.dumps({"graph": zipmap.graph.name, "file": hashlib.sha256(open("iris.onnx", "rb").read()).hexdigest()[:12]}))
"""


@pytest.mark.parametrize("end", ENDS)
def test_onnxruntime_predictions_with_no_code(end, venvs, tmp_path):
    venv = make_venv(venvs, ENDS[end])
    emitted = emitted_by(venv, PROGRAM, tmp_path)
    printed, spans = json.loads(emitted.stdout), emitted.spans
    confidence, batches = emitted.points["ml.prediction.confidence"], emitted.points["ml.batch.size"]
    print(f"onnxruntime {installed_version(venv, 'onnxruntime')}")
    graph = printed["graph"]
    assert [name for name, _ in spans] == [f"predict {graph}"] * 3
    assert spans[0][1]["ml.model.version"] == spans[2][1]["ml.model.version"] == printed["file"]
    assert spans[1][1]["ml.model.version"] != printed["file"]  # the other model's bytes
    count = {(a["ml.model.version"], a["ml.prediction.label"]): p.count for a, p in confidence}
    # The first irises are class 0; the labels-only run has no confidences.
    assert count == {(printed["file"], "0"): 5, (spans[1][1]["ml.model.version"], "0"): 3}
    assert sum(p.sum for _, p in batches) == 10
