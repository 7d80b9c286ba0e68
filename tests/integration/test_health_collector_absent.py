"""The real API with no collector listening: it serves, its probes pass, and /health says telemetry is failing."""

import httpx
import pytest

from harness.model_server import running_api
from harness.processes import free_port, poll_until

pytestmark = pytest.mark.integration


def test_no_collector_shows_in_health_and_fails_no_probe(tmp_path):
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{free_port()}",  # nothing listens there
        "OTEL_EXPORTER_OTLP_TIMEOUT": "2",  # each failed export gives up after 2 s of retries
        "OTEL_METRICS_EXPORTER": "none",
    }
    with running_api(free_port(), env, log=tmp_path / "api.log") as base, httpx.Client(base_url=base, timeout=5) as client:
        for _ in range(5):
            assert client.post("/predict", json={"model": "iris", "instances": [[5.1, 3.5, 1.4, 0.2]]}).status_code == 200

        def failing():
            body = client.get("/health").json()
            return body if body["telemetry"]["status"] == "failing" else None

        body = poll_until(failing, timeout=60, interval=0.5)
        assert (body["status"], body["live"], body["ready"]) == ("degraded", True, True)
        assert body["telemetry"]["exports"]["traces"]["failed"] >= 1
        assert client.get("/health/live").status_code == 200
        assert client.get("/health/ready").status_code == 200
        assert client.post("/predict", json={"model": "iris", "instances": [[5.1, 3.5, 1.4, 0.2]]}).status_code == 200
