"""The scikit-learn instrumentor on real estimators, telemetry read from memory: what one call
records, one prediction per call however deep the nesting, the name and version defaults."""

import hashlib
import pickle

import numpy as np
import pytest
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from harness.telemetry_reading import Captured
from mlotel import PredictionRecorder, TelemetryConfig, setup_telemetry
from mlotel.instrumentors.sklearn import SklearnInstrumentor

X, Y = load_iris(return_X_y=True)
ROWS = X[:5]


def instrumented(**env: str):
    config = TelemetryConfig.from_env({"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "system_metrics,logging", **env})
    spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
    telemetry = setup_telemetry(config, span_processors=[SimpleSpanProcessor(spans)], metric_readers=[reader])
    SklearnInstrumentor().instrument(config=config)
    return telemetry, Captured(spans, reader)


@pytest.fixture
def captured():
    telemetry, captured = instrumented()
    yield captured
    SklearnInstrumentor().uninstrument()
    telemetry.shutdown()


def fingerprint(model) -> str:
    return hashlib.sha256(pickle.dumps(model, protocol=5)).hexdigest()[:12]


def test_predict_proba_is_one_prediction_with_the_recorders_span_and_metrics(captured):
    model = LogisticRegression(max_iter=500).fit(X, Y)
    probabilities = model.predict_proba(ROWS)
    (span,) = captured.spans()
    assert span.name == "predict LogisticRegression"
    assert span.attributes["ml.model.version"] == fingerprint(model)
    assert span.attributes["ml.batch.size"] == len(ROWS)
    assert span.attributes["ml.prediction.confidence.max"] == pytest.approx(probabilities.max())
    (confidence,) = captured.points("ml.prediction.confidence", ml__prediction__label="0")
    assert confidence.count == len(ROWS)  # the first five irises are all class 0
    assert sum(p.value for p in captured.points("ml.predictions")) == len(ROWS)
    (duration,) = captured.points("ml.prediction.duration")
    (batch,) = captured.points("ml.batch.size")
    assert duration.count == batch.count == 1 and batch.sum == len(ROWS)


def test_a_pipeline_and_a_predict_calling_predict_proba_are_one_prediction_each(captured):
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, Y)
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, Y)
    pipeline.predict_proba(ROWS)
    forest.predict(ROWS)  # calls its own predict_proba
    by_name = {s.name: s for s in captured.spans()}
    assert sorted(by_name) == ["predict LogisticRegression", "predict RandomForestClassifier"]
    assert by_name["predict LogisticRegression"].attributes["ml.model.version"] == fingerprint(pipeline)
    # The forest's predict got its confidences from the predict_proba inside it.
    assert captured.points("ml.prediction.confidence", ml__model__name="RandomForestClassifier")[0].count == len(ROWS)
    assert sum(p.value for p in captured.points("ml.predictions")) == 2 * len(ROWS)


def test_predict_alone_counts_labels_without_confidence_and_a_regressor_only_its_call(captured):
    LogisticRegression(max_iter=500).fit(X, Y).predict(ROWS)  # predict -> decision_function inside
    LinearRegression().fit(X, Y).predict(ROWS)
    assert sorted(s.name for s in captured.spans()) == ["predict LinearRegression", "predict LogisticRegression"]
    (counted,) = captured.points("ml.predictions")
    assert counted.value == len(ROWS) and "ml.prediction.low_confidence" not in counted.attributes
    assert captured.points("ml.prediction.confidence") == []
    assert len(captured.points("ml.prediction.duration")) == 2


def test_inside_a_prediction_already_open_the_library_call_adds_its_results_to_it(captured):
    model = LogisticRegression(max_iter=500).fit(X, Y)
    recorder = PredictionRecorder(TelemetryConfig.from_env({}))
    with recorder.predict("iris", "v1", batch_size=len(ROWS)):  # as a server does for one request
        model.predict(ROWS)
        model.predict_proba(ROWS)
    (span,) = captured.spans()
    assert span.name == "predict iris" and "ml.prediction.confidence.mean" in span.attributes
    (confidence,) = captured.points("ml.prediction.confidence")
    assert confidence.attributes["ml.model.name"] == "iris" and confidence.count == len(ROWS)


def test_results_the_outer_caller_set_are_kept(captured):
    model = LogisticRegression(max_iter=500).fit(X, Y)
    recorder = PredictionRecorder(TelemetryConfig.from_env({}))
    with recorder.predict("iris", "v1", batch_size=1) as prediction:
        prediction.set_results(["setosa"], [0.25])
        model.predict_proba(ROWS[:1])
    (confidence,) = captured.points("ml.prediction.confidence")
    assert confidence.attributes["ml.prediction.label"] == "setosa" and confidence.sum == 0.25


def test_name_and_version_from_the_environment_and_from_the_model(monkeypatch):
    telemetry, captured = instrumented(MLOTEL_MODEL_NAME="fraud", MLOTEL_MODEL_VERSION="7")
    try:
        LogisticRegression(max_iter=500).fit(X, Y).predict_proba(ROWS)
        named = LogisticRegression(max_iter=500).fit(X, Y)
        named.mlotel_model_name, named.mlotel_model_version = "iris", "2026-01"
        named.predict_proba(ROWS)
        assert [(s.name, s.attributes["ml.model.version"]) for s in captured.spans()] == [
            ("predict fraud", "7"),
            ("predict iris", "2026-01"),
        ]
    finally:
        SklearnInstrumentor().uninstrument()
        telemetry.shutdown()


def test_the_fingerprint_is_taken_once_per_model_object(captured, monkeypatch):
    model = LogisticRegression(max_iter=500).fit(X, Y)
    dumps = []
    monkeypatch.setattr(pickle, "dumps", lambda *a, **k: dumps.append(1) or b"model")
    for _ in range(3):
        model.predict_proba(ROWS)
    LogisticRegression(max_iter=500).fit(X, Y).predict_proba(ROWS)
    assert len(dumps) == 2
    assert {s.attributes["ml.model.version"] for s in captured.spans()} == {hashlib.sha256(b"model").hexdigest()[:12]}


def test_a_failed_call_is_an_error_span_and_is_counted_and_raised(captured):
    model = LogisticRegression(max_iter=500).fit(X, Y)
    with pytest.raises(ValueError):
        model.predict_proba(np.ones((2, 3)))
    (span,) = captured.spans()
    assert span.status.status_code == StatusCode.ERROR and span.attributes["error.type"] == "ValueError"
    (error,) = captured.points("ml.prediction.errors")
    assert error.value == 1


def test_suppressed_and_uninstrumented_calls_record_nothing_and_behave_as_before(captured):
    probability_less = SVC().fit(X, Y)
    assert not hasattr(probability_less, "predict_proba")  # scikit-learn's available_if still decides
    with suppress_instrumentation():
        LogisticRegression(max_iter=500).fit(X, Y).predict_proba(ROWS)
    assert captured.spans() == []
    SklearnInstrumentor().uninstrument()
    LogisticRegression(max_iter=500).fit(X, Y).predict_proba(ROWS)
    assert captured.spans() == []
    assert not hasattr(probability_less, "predict_proba")
    SklearnInstrumentor().instrument()  # the fixture's uninstrument() needs it on


def test_switched_off_by_the_sdk_switch_the_calls_are_plain():
    telemetry, captured = instrumented(OTEL_SDK_DISABLED="true")
    try:
        LogisticRegression(max_iter=500).fit(X, Y).predict_proba(ROWS)
        assert captured.spans() == []
    finally:
        SklearnInstrumentor().uninstrument()
        telemetry.shutdown()
