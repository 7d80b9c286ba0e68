"""Each environment toggle switches off exactly what it names, and nothing else."""

import logging
import threading

from fastapi.testclient import TestClient
from opentelemetry import metrics, trace

from mlotel import TelemetryConfig, setup_telemetry
from mlotel_model_server.main import create_app
from mlotel_service_kit.body_limit import BodySizeLimit

ROW = {"model": "iris", "instances": [[5.1, 3.5, 1.4, 0.2]]}


def emitted(harness):
    response = harness.client.post("/predict", json=ROW)
    assert response.status_code == 200
    return response, {s.name for s in harness.captured.spans()}, set(harness.captured.metrics())


def test_everything_on_by_default(make_harness):
    response, spans, names = emitted(make_harness())
    assert {"POST /predict", "predict iris"} <= spans
    assert {"http.server.request.duration", "ml.prediction.confidence", "ml.predictions", "process.cpu.time"} <= names
    assert response.json()["trace_id"] is not None


def test_sdk_disabled_is_a_kill_switch(settings, monkeypatch):
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    threads_before = set(threading.enumerate())
    app = create_app(settings)
    with TestClient(app) as client:
        response = client.post("/predict", json=ROW)
        threads_during = set(threading.enumerate())
    assert response.status_code == 200
    assert response.json()["trace_id"] is None
    assert "traceresponse" not in response.headers
    assert [m.cls for m in app.user_middleware] == [BodySizeLimit]
    assert not app._native_telemetry.enabled()
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    assert type(metrics.get_meter_provider()).__name__ == "_ProxyMeterProvider"
    otel_threads = [t.name for t in threads_during - threads_before if "Otel" in t.name or "Periodic" in t.name]
    assert otel_threads == []


def test_traces_exporter_none_keeps_metrics(make_harness):
    response, spans, names = emitted(make_harness(OTEL_TRACES_EXPORTER="none"))
    assert spans == set()
    assert response.json()["trace_id"] is None
    assert {"http.server.request.duration", "ml.prediction.confidence", "process.cpu.time"} <= names


def test_metrics_exporter_none_keeps_traces(make_harness):
    harness = make_harness(OTEL_METRICS_EXPORTER="none")
    response, spans, names = emitted(harness)
    assert {"POST /predict", "predict iris"} <= spans
    assert names == set()
    assert isinstance(metrics.get_meter_provider(), metrics.NoOpMeterProvider) or type(
        metrics.get_meter_provider()
    ).__name__ == "_ProxyMeterProvider"


def test_disabling_fastapi_leaves_prediction_telemetry(make_harness):
    response, spans, names = emitted(make_harness(OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="fastapi"))
    assert "POST /predict" not in spans and "predict iris" in spans
    assert "http.server.request.duration" not in names
    assert {"ml.prediction.confidence", "process.cpu.time"} <= names
    assert "traceresponse" not in response.headers


def test_disabling_mlotel_leaves_http_telemetry(make_harness):
    response, spans, names = emitted(make_harness(OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="mlotel"))
    assert spans == {"POST /predict"}
    assert not any(name.startswith("ml.") for name in names)
    assert "http.server.request.duration" in names


def test_disabling_system_metrics_leaves_the_rest(make_harness):
    response, spans, names = emitted(make_harness(OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="system_metrics"))
    assert not any(name.startswith(("process.", "system.")) for name in names)
    assert {"http.server.request.duration", "ml.prediction.confidence"} <= names
    assert {"POST /predict", "predict iris"} <= spans


def test_ml_metrics_off_keeps_prediction_spans(make_harness):
    response, spans, names = emitted(make_harness(MLOTEL_ML_METRICS_ENABLED="false"))
    assert "predict iris" in spans
    assert not any(name.startswith("ml.") for name in names)
    assert "http.server.request.duration" in names


def test_stage_span_threshold_decides_which_predictions_get_stage_spans(make_harness):
    harness = make_harness(MLOTEL_STAGE_SPAN_THRESHOLD_MS="60000")
    response, spans, names = emitted(harness)
    assert spans == {"POST /predict", "predict iris"}
    (predict,) = harness.captured.spans("predict iris")
    for stage in ("preprocess", "inference", "postprocess"):
        assert predict.attributes[f"ml.stage.{stage}.duration_ms"] >= 0


def test_logging_instrumentation_puts_trace_ids_on_records(caplog):
    telemetry = setup_telemetry(TelemetryConfig.from_env({}), span_processors=[], metric_readers=[])
    try:
        with trace.get_tracer("test").start_as_current_span("work") as span:
            with caplog.at_level(logging.INFO):
                logging.getLogger("mlotel_model_server").info("inside")
        (record,) = [r for r in caplog.records if r.getMessage() == "inside"]
        assert record.otelTraceID == f"{span.get_span_context().trace_id:032x}"
    finally:
        telemetry.shutdown()


def test_disabling_logging_leaves_records_alone(caplog):
    config = TelemetryConfig.from_env({"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "logging"})
    telemetry = setup_telemetry(config, span_processors=[], metric_readers=[])
    try:
        with trace.get_tracer("test").start_as_current_span("work"):
            with caplog.at_level(logging.INFO):
                logging.getLogger("mlotel_model_server").info("inside")
        (record,) = [r for r in caplog.records if r.getMessage() == "inside"]
        assert not hasattr(record, "otelTraceID")
        assert telemetry.tracer_provider is not None
    finally:
        telemetry.shutdown()


def test_traces_exporter_none_answers_no_traceresponse_naming_the_callers_own_span(make_harness):
    harness = make_harness(OTEL_TRACES_EXPORTER="none")
    caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    response = harness.client.post("/predict", json=ROW, headers={"traceparent": caller})
    assert response.status_code == 200
    # No span of this server's: a traceresponse could only repeat the caller's span id as if it were one.
    assert "traceresponse" not in response.headers
