"""The ML API's health: liveness and readiness as probes read them, and a report that shows failing telemetry."""

import pytest
import yaml
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from harness.processes import ROOT, free_port
from mlotel import telemetry_health
from mlotel.export_size import SizeBoundedSpanExporter
from mlotel.fastpath.span_encoding import GrpcSpanExporter
from mlotel_model_server.main import create_app


class _Collector(SpanExporter):
    """An in-memory stand-in for the collector's answer: up or down."""

    def __init__(self) -> None:
        self.up = True

    def export(self, spans):
        return SpanExportResult.SUCCESS if self.up else SpanExportResult.FAILURE


def _spans(count: int) -> list:
    provider = TracerProvider()
    spans = []
    for _ in range(count):
        span = provider.get_tracer("t").start_span("s")
        span.end()
        spans.append(span)
    return spans


def test_export_outcomes_are_reported_until_an_export_succeeds_again():
    assert telemetry_health()["status"] == "idle"
    collector = _Collector()
    exporter = SizeBoundedSpanExporter(collector, 1 << 20)
    exporter.export(_spans(3))
    assert telemetry_health()["status"] == "ok"
    collector.up = False
    exporter.export(_spans(2))
    exporter.export(_spans(2))
    health = telemetry_health()
    traces = health["exports"]["traces"]
    assert health["status"] == "failing"
    assert (traces["exported"], traces["failed"], traces["consecutive_failed_exports"]) == (3, 4, 2)
    assert traces["seconds_since_failure"] is not None and traces["seconds_since_success"] is not None
    collector.up = True
    exporter.export(_spans(1))
    assert telemetry_health()["status"] == "ok"
    assert telemetry_health()["exports"]["traces"]["failed"] == 4  # what was lost stays counted


def test_the_fast_paths_exporter_reports_a_collector_that_is_not_there():
    exporter = GrpcSpanExporter(endpoint=f"http://127.0.0.1:{free_port()}", insecure=True, timeout=1, max_bytes=1 << 20)
    try:
        assert exporter.export(_spans(2)) is SpanExportResult.FAILURE
    finally:
        exporter.shutdown()
    assert telemetry_health()["exports"]["traces"]["failed"] == 2


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings, instrument=False)) as client:
        yield client


def test_a_failing_collector_shows_in_the_report_but_fails_no_probe(client):
    assert client.get("/health").json()["status"] == "ok"
    collector = _Collector()
    collector.up = False
    SizeBoundedSpanExporter(collector, 1 << 20).export(_spans(5))

    live, ready, report = client.get("/health/live"), client.get("/health/ready"), client.get("/health")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()["status"]) == (200, "ready")
    assert report.status_code == 200
    body = report.json()
    assert (body["status"], body["live"], body["ready"]) == ("degraded", True, True)
    assert body["telemetry"]["status"] == "failing"
    assert body["telemetry"]["exports"]["traces"]["failed"] == 5


def test_not_ready_until_the_models_are_loaded(settings):
    client = TestClient(create_app(settings, instrument=False))  # no lifespan: nothing loaded
    ready = client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["error"] == "not_ready"
    assert client.get("/health/live").status_code == 200
    report = client.get("/health").json()
    assert (report["status"], report["ready"]) == ("degraded", False)


def test_the_kubernetes_probes_use_the_liveness_and_readiness_routes(settings):
    manifests = [ROOT / "deploy" / "ml-api.yaml", ROOT / "deploy" / "operator" / "ml-api.yaml"]
    containers = [
        container
        for path in manifests
        for doc in yaml.safe_load_all(path.read_text())
        if doc and doc["kind"] == "Deployment"
        for container in doc["spec"]["template"]["spec"]["containers"]
        if container["name"] == "ml-api"
    ]
    assert len(containers) == 2
    with TestClient(create_app(settings, instrument=False)) as client:
        for container in containers:
            assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
            assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
            assert client.get(container["livenessProbe"]["httpGet"]["path"]).status_code == 200


@pytest.mark.fastpath
def test_the_report_counts_what_the_fast_paths_queue_dropped_while_its_set_up_lasts():
    from mlotel import TelemetryConfig, setup_telemetry
    from mlotel.fastpath import measurements

    config = TelemetryConfig.from_env({"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "system_metrics,logging"})
    telemetry = setup_telemetry(config, span_processors=[], metric_readers=[])
    queue = measurements.installed()
    assert queue is not None
    queue.dropped = 3  # as a full queue counts them
    assert telemetry_health()["measurements_dropped"] == 3
    telemetry.shutdown()
    assert telemetry_health()["measurements_dropped"] == 0
