"""End to end on the native stack: the API, the collector, Jaeger, Prometheus, Alertmanager, all real."""

import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from harness.model_server import running_api
from harness.native_stack import API, STACK_ENV, alerts, exemplars, jaeger_trace, prometheus, slow_prediction, tags
from harness.processes import free_port, poll_until, wait_healthy
from mlotel import PredictionRecorder, TelemetryConfig

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
IRIS_ROW = [5.1, 3.5, 1.4, 0.2]


def test_a_slow_prediction_is_found_in_jaeger_with_its_stages(native_stack):
    trace_id, answered = slow_prediction()
    trace = poll_until(lambda: jaeger_trace(trace_id), timeout=60, interval=0.25)
    print(f"slow trace queryable {time.monotonic() - answered:.1f} s after the response")
    spans = {s["operationName"]: s for s in trace["spans"]}
    assert {"POST /predict", "predict digits", "preprocess", "inference", "postprocess"} <= set(spans)
    predict = tags(spans["predict digits"])
    assert predict["ml.model.name"] == "digits"
    assert predict["ml.batch.size"] == 1024
    assert len(predict["ml.model.version"]) == 12
    assert spans["inference"]["duration"] <= spans["predict digits"]["duration"]
    process = trace["processes"][spans["predict digits"]["processID"]]
    assert process["serviceName"] == "ml-api"


def test_fast_requests_are_sampled_by_percentage_not_all_or_none(native_stack):
    trace_ids = []
    with httpx.Client(base_url=API) as client:
        for _ in range(300):
            trace_ids.append(client.post("/predict", json={"instances": [IRIS_ROW]}).json()["trace_id"])
    time.sleep(8)  # decision wait (2 s), batching, and Jaeger's own batch
    kept = sum(1 for t in trace_ids if jaeger_trace(t))
    # 10% of 300: 30 expected; these bounds are more than 4 standard deviations out.
    assert 8 <= kept <= 60, kept


def test_refused_requests_are_always_kept(native_stack):
    trace_ids = []
    for _ in range(10):
        response = httpx.post(f"{API}/predict", json={"instances": [[1, 2]]})
        assert response.status_code == 422
        trace_ids.append(response.headers["traceresponse"].split("-")[1])
    poll_until(lambda: all(jaeger_trace(t) for t in trace_ids), timeout=60, interval=0.5)


class E2EModelFailure(RuntimeError):
    """A model server's own failure, raised inside the prediction recorder."""


def test_a_failed_prediction_is_kept_and_its_exception_reaches_alertmanager(native_stack):
    provider = TracerProvider(resource=Resource.create({"service.name": "e2e-failing-model"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint="http://127.0.0.1:4317", insecure=True)))
    recorder = PredictionRecorder(TelemetryConfig.from_env({}))
    recorder.tracer = provider.get_tracer("e2e")
    with pytest.raises(E2EModelFailure):
        with recorder.predict("broken", "v0", batch_size=1) as prediction:
            with prediction.stage("inference"):
                raise E2EModelFailure("weights are corrupt")
    trace_id = f"{prediction.span.get_span_context().trace_id:032x}"
    provider.shutdown()

    trace = poll_until(lambda: jaeger_trace(trace_id), timeout=60, interval=0.5)
    (span,) = [s for s in trace["spans"] if s["operationName"] == "predict broken"]
    assert tags(span)["error"] is True
    alert = poll_until(
        # The SDK names the exception type with its module.
        lambda: next((a for a in alerts() if a["labels"].get("exception_type", "").endswith(".E2EModelFailure")), None),
        timeout=60,
        interval=0.5,
    )
    assert alert["labels"]["event_name"] == "exception"
    assert alert["annotations"]["TraceID"] == trace_id


def test_prometheus_has_confidence_per_model_and_the_span_metrics_jaeger_reads(native_stack):
    slow_prediction()
    httpx.post(f"{API}/predict", json={"model": "iris", "instances": [IRIS_ROW] * 3})

    def models_with_confidence():
        found = {r["metric"]["ml_model_name"] for r in prometheus("sum by (ml_model_name) (ml_prediction_confidence_count)")}
        return found if {"iris", "digits"} <= found else None

    poll_until(models_with_confidence, timeout=60, interval=1)
    buckets = prometheus('ml_prediction_confidence_bucket{ml_model_name="iris"}')
    assert {r["metric"]["le"] for r in buckets} >= {"0.5", "0.9", "0.99", "+Inf"}
    assert all(r["metric"]["service_name"] == "ml-api" for r in buckets)
    poll_until(lambda: prometheus('traces_span_metrics_calls_total{service_name="ml-api",ml_model_name="digits"}'), 60, 1)

    def monitor_tab_latencies():
        end = int(time.time() * 1000)
        response = httpx.get(
            "http://127.0.0.1:16686/api/metrics/latencies",
            params={"service": "ml-api", "quantile": 0.95, "endTs": end, "lookback": 900_000, "step": 5000},
            timeout=10,
        )
        series = response.json().get("metrics", []) if response.status_code == 200 else []
        return any(p.get("gaugeValue", {}).get("doubleValue") for s in series for p in s.get("metricPoints", []))

    poll_until(monitor_tab_latencies, timeout=90, interval=2)


def test_latency_exemplars_resolve_to_traces_in_jaeger(native_stack):
    since = time.time() - 1
    slow_trace, _ = slow_prediction()
    query = 'ml_prediction_duration_seconds_bucket{ml_model_name="digits"}'

    def slow_exemplars():
        # At least SLOW_PREDICTION_MS: tail sampling keeps every such trace.
        found = [e for e in exemplars(query, since) if float(e["value"]) * 1000 >= float(STACK_ENV["SLOW_PREDICTION_MS"])]
        return found if any(e["labels"].get("trace_id") == slow_trace for e in found) else None

    found = poll_until(slow_exemplars, timeout=90, interval=1)
    for exemplar in found:
        assert poll_until(lambda exemplar=exemplar: jaeger_trace(exemplar["labels"]["trace_id"]), timeout=60, interval=0.5)


def test_the_sidecar_path_delivers_traces_and_metrics_to_the_gateway(native_stack, tmp_path):
    grpc_port = free_port()
    health_port = free_port()
    env = {
        **os.environ,
        "SIDECAR_OTLP_GRPC_ENDPOINT": f"127.0.0.1:{grpc_port}",
        "SIDECAR_OTLP_HTTP_ENDPOINT": f"127.0.0.1:{free_port()}",
        "SIDECAR_HEALTH_ENDPOINT": f"127.0.0.1:{health_port}",
        "SIDECAR_TELEMETRY_PORT": str(free_port()),
        "GATEWAY_ENDPOINTS": "[127.0.0.1:4317]",
        "DEPLOYMENT_ENVIRONMENT": "e2e-sidecar",
    }
    sidecar = subprocess.Popen(
        [str(ROOT / ".build/bin/otelcol-mlotel"), f"--config={ROOT / 'otel-collector/sidecar.yaml'}"],
        env=env, stdout=open(tmp_path / "sidecar.log", "w"), stderr=subprocess.STDOUT,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{health_port}/", process=sidecar)
        api_env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{grpc_port}",
            "OTEL_SERVICE_NAME": "ml-api-behind-sidecar",
            "OTEL_METRIC_EXPORT_INTERVAL": "1000",
        }
        with running_api(free_port(), api_env, log=tmp_path / "api.log") as base:
            trace_id, _ = slow_prediction(base)
            trace = poll_until(lambda: jaeger_trace(trace_id), timeout=60, interval=0.5)
            process = next(iter(trace["processes"].values()))
            assert process["serviceName"] == "ml-api-behind-sidecar"
            assert {t["key"]: t["value"] for t in process["tags"]}["deployment.environment.name"] == "e2e-sidecar"
            poll_until(
                lambda: prometheus(
                    'ml_prediction_confidence_count{service_name="ml-api-behind-sidecar",'
                    'deployment_environment_name="e2e-sidecar"}'
                ),
                timeout=60,
                interval=1,
            )
    finally:
        sidecar.terminate()
        sidecar.wait(timeout=30)


def test_every_recording_rule_and_pipeline_alert_has_its_series(native_stack):
    """A rule over a metric that never exists can never fire: a bug, like a panel with no data."""
    import yaml

    httpx.post(f"{API}/predict", json={"model": "iris", "instances": [IRIS_ROW]})
    httpx.post(f"{API}/predict", json={"model": "iris", "instances": [[1, 2]]})
    rules_dir = ROOT / "prometheus" / "rules"
    recorded = [r["record"] for r in yaml.safe_load((rules_dir / "ml.rules.yml").read_text())["groups"][0]["rules"]]
    for name in recorded:
        # A rate needs two scrapes and the rule its 15 s evaluation: poll for the model, not any series.
        poll_until(lambda name=name: "iris" in {s["metric"].get("ml_model_name") for s in prometheus(name)}, 120, 2)
    for metric in ("otelcol_exporter_send_failed_spans_total", "otelcol_exporter_queue_size",
                   "otelcol_exporter_queue_capacity", "otelcol_receiver_refused_spans_total",
                   "otel_sdk_processor_span_processed_total", "mlotel_measurements_dropped_total"):
        assert poll_until(lambda metric=metric: prometheus(metric), timeout=60, interval=2), metric
        assert metric in (rules_dir / "pipeline.alerts.yml").read_text()
