"""What the model-server instrumentors share, telemetry read from memory: a server's prediction is
the one prediction of its request (a scikit-learn call inside adds its results, opens none), its
batch size may come late, and a response's rows become labels and confidences."""

import asyncio

import pytest
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from harness.telemetry_reading import Captured
from mlotel import TelemetryConfig, setup_telemetry
from mlotel.instrumentors import serving
from mlotel.instrumentors.sklearn import SklearnInstrumentor

X, Y = load_iris(return_X_y=True)


@pytest.fixture
def captured(monkeypatch):
    monkeypatch.setenv("MLOTEL_MODEL_VERSION", "from-env")
    config = TelemetryConfig.from_env({"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "system_metrics,logging"})
    spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
    telemetry = setup_telemetry(config, span_processors=[SimpleSpanProcessor(spans)], metric_readers=[reader])
    serving.recorder.cache_clear()  # one per process: this test's providers
    SklearnInstrumentor().instrument(config=config)
    yield Captured(spans, reader)
    SklearnInstrumentor().uninstrument()
    telemetry.shutdown()
    serving.recorder.cache_clear()


async def serve(model, rows, batch_size=1, late_batch_size=None, response_rows=()):
    async with serving.server_prediction("iris", serving.version_of("v7"), batch_size) as prediction:
        if late_batch_size is not None:
            prediction.set_batch_size(late_batch_size)
        probabilities = model.predict_proba(rows) if model is not None else None
        serving.set_results(prediction, response_rows)
        return probabilities


def test_a_library_call_inside_a_server_prediction_adds_its_results_and_opens_none(captured):
    model = LogisticRegression(max_iter=500).fit(X, Y)
    asyncio.run(serve(model, X[:3], late_batch_size=3, response_rows=[[0.0, 1.0, 0.0]] * 3))
    (span,) = captured.spans()
    assert span.name == "predict iris" and span.attributes["ml.model.version"] == "v7"
    assert span.attributes["ml.batch.size"] == 3
    # The library's labels (classes_) and confidences, not the response's (which said class 1).
    assert {p.attributes["ml.prediction.label"] for p in captured.points("ml.prediction.confidence")} == {"0"}
    (batch,) = captured.points("ml.batch.size")
    assert batch.count == 1 and batch.sum == 3  # the late batch size is the one recorded


def test_the_response_gives_the_results_when_no_library_did(captured):
    asyncio.run(serve(None, None, batch_size=2, response_rows=[[0.1, 0.9], [0.8, 0.2]]))
    labels = {p.attributes["ml.prediction.label"]: p.count for p in captured.points("ml.prediction.confidence")}
    assert labels == {"1": 1, "0": 1}


def test_suppressed_and_nested_server_predictions_record_nothing_more(captured):
    async def nested():
        async with serving.server_prediction("outer", "1", 1):
            async with serving.server_prediction("inner", "1", 1) as inner:
                assert inner is None

    asyncio.run(nested())
    with suppress_instrumentation():
        asyncio.run(serve(None, None))
    assert [s.name for s in captured.spans()] == ["predict outer"]


def test_version_of_prefers_the_server_then_the_model_attribute_then_the_environment(captured):
    class Model:
        mlotel_model_version = "from-attribute"

    assert serving.version_of("known", Model()) == "known"
    assert serving.version_of(None, Model()) == "from-attribute"
    assert serving.version_of(None, object()) == "from-env"


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([[0.2, 0.8], [0.6, 0.4]], ([1, 0], [0.8, 0.6])),
        (["setosa", "virginica"], (["setosa", "virginica"], [])),
        ([1.0, 2.0], ([1, 2], [])),  # whole-number floats are class ids
        ([3.7, 1.2], ([], [])),  # a regressor's values: no labels
        ([[0.2, 0.3]], ([], [])),  # not probabilities: they do not sum to 1
        ([[0.5, 0.5], "a"], ([], [])),  # mixed rows: nothing rather than half
        ([], ([], [])),
    ],
)
def test_results_from_rows(rows, expected):
    assert serving.results_from_rows(rows) == expected
