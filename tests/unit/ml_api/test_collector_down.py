"""A collector that is down must not fail or stall requests; what is dropped is counted."""

import time

from fastapi.testclient import TestClient
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from harness.processes import free_port
from harness.telemetry_reading import Captured
from mlotel import TelemetryConfig, setup_telemetry
from mlotel_model_server.main import create_app


def test_requests_go_on_and_drops_are_counted_when_the_collector_is_down(settings, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "4")
    monkeypatch.delenv("OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED", raising=False)
    reader = InMemoryMetricReader()
    config = TelemetryConfig.from_env()
    telemetry = setup_telemetry(config, service_name="ml-api", metric_readers=[reader])
    try:
        with TestClient(create_app(settings)) as client:
            slowest = 0.0
            for _ in range(30):
                start = time.perf_counter()
                response = client.post("/predict", json={"instances": [[5.1, 3.5, 1.4, 0.2]]})
                slowest = max(slowest, time.perf_counter() - start)
                assert response.status_code == 200
        assert slowest < 1.0, f"a request took {slowest:.2f} s with the collector down"
        points = Captured(None, reader).points("otel.sdk.processor.span.processed", error__type="queue_full")
        # 60 spans (server + predict per request); the queue holds 4 and the stuck exporter a batch of 4 more.
        assert sum(p.value for p in points) >= 60 - 4 - 4 - 4, points
    finally:
        telemetry.shutdown()
