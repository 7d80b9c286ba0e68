"""Under ``--workers 2`` each worker sets up telemetry after fork and reports as its own instance."""

import httpx
import pytest

from harness.model_server import running_api
from harness.otlp_receiver import OtlpReceiver
from harness.processes import free_port, poll_until

pytestmark = pytest.mark.integration


def test_two_workers_export_metrics_with_their_own_instance_ids(tmp_path):
    with OtlpReceiver() as receiver:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint("grpc"), "OTEL_METRIC_EXPORT_INTERVAL": "500"}
        with running_api(free_port(), env, workers=2, log=tmp_path / "api.log") as base:

            def predicting_instances():
                # A fresh connection per request, so the kernel spreads them over both workers.
                for _ in range(20):
                    httpx.post(f"{base}/predict", json={"instances": [[5.1, 3.5, 1.4, 0.2]]})
                instances = {resource["service.instance.id"] for _, resource, _ in receiver.metrics("ml.predictions")}
                return instances if len(instances) == 2 else None

            instances = poll_until(predicting_instances, timeout=60, interval=0.5)
            pids = {r["process.pid"] for _, r, _ in receiver.metrics("ml.predictions")}
            assert len(pids) == 2, "two worker processes, not one process set up twice"
            spans_instances = {r["service.instance.id"] for _, r, _ in receiver.spans()}
            assert spans_instances == instances, "spans come from the same two workers"
