"""Tens-of-KB URL paths among normal requests, through the real collector: every span arrives.

The API (a real process) exports to ``otelcol-mlotel`` whose OTLP receiver is
configured exactly as in ``otel-collector/sidecar.yaml`` or ``gateway.yaml``
(their ``receivers:`` section, taken from the files); the collector forwards
what it accepts to a decoding OTLP receiver, where the spans are counted.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml

from harness.model_server import running_api
from harness.otlp_receiver import OtlpReceiver, attributes
from harness.processes import ROOT, free_port, poll_until
from mlotel.config import ATTRIBUTE_VALUE_LENGTH

pytestmark = pytest.mark.integration

COLLECTOR = ROOT / ".build" / "bin" / "otelcol-mlotel"
ROWS = [[5.1, 3.5, 1.4, 0.2]]
# 160 paths of 60 KB: 9.6 MB, over the sidecar's 8 MiB, if nothing truncated or split them.
LONG_REQUESTS, NORMAL_REQUESTS, PATH_LENGTH = 160, 160, 60_000


@contextmanager
def running_collector(receivers_of: str, forward_to: str, tmp_path: Path) -> Iterator[str]:
    """The collector with ``receivers_of``'s receivers on free ports, traces forwarded over OTLP/gRPC; yields its gRPC endpoint."""
    receivers = yaml.safe_load((ROOT / "otel-collector" / receivers_of).read_text())["receivers"]
    grpc_port, http_port, health_port = free_port(), free_port(), free_port()
    receivers["otlp"]["protocols"]["grpc"]["endpoint"] = f"127.0.0.1:{grpc_port}"
    receivers["otlp"]["protocols"]["http"]["endpoint"] = f"127.0.0.1:{http_port}"
    config = {
        "extensions": {"health_check": {"endpoint": f"127.0.0.1:{health_port}"}},
        "receivers": receivers,
        # No batching on the way out: each accepted request is forwarded as it came.
        "exporters": {"otlp": {"endpoint": forward_to, "tls": {"insecure": True}}},
        "service": {
            "extensions": ["health_check"],
            "telemetry": {"metrics": {"level": "none"}},
            "pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["otlp"]}},
        },
    }
    path = tmp_path / "collector.yaml"
    path.write_text(yaml.safe_dump(config))
    log = open(tmp_path / "collector.log", "w")
    process = subprocess.Popen([str(COLLECTOR), f"--config={path}"], stdout=log, stderr=subprocess.STDOUT)
    try:
        poll_until(lambda: _healthy(f"http://127.0.0.1:{health_port}/"), timeout=30)
        yield f"http://127.0.0.1:{grpc_port}"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def _send_mixed_traffic(base: str) -> None:
    """Long paths interleaved with predictions, as fast as one client goes, so batches mix them."""
    with httpx.Client(base_url=base, timeout=30) as client:
        for index in range(max(LONG_REQUESTS, NORMAL_REQUESTS)):
            if index < LONG_REQUESTS:
                assert client.get("/" + "x" * PATH_LENGTH + f"/{index}").status_code == 404
            if index < NORMAL_REQUESTS:
                assert client.post("/predict", json={"model": "iris", "instances": ROWS}).status_code == 200


def _run(receivers_of: str, env: dict[str, str], tmp_path: Path, wait: float = 30) -> list[dict]:
    with OtlpReceiver() as receiver, running_collector(receivers_of, f"127.0.0.1:{receiver.grpc_port}", tmp_path) as endpoint:
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "system_metrics",
            # Every span of the run in one batch, exported at shutdown: the case where one refusal costs them all.
            "OTEL_BSP_SCHEDULE_DELAY": "600000",
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "2048",
            **env,
        }
        with running_api(free_port(), env, log=tmp_path / "api.log") as base:
            _send_mixed_traffic(base)
        # The API flushed its spans at shutdown; the collector forwards them within a moment.
        expected = LONG_REQUESTS + 2 * NORMAL_REQUESTS  # a 404 is one span; a prediction its server and predict spans
        try:
            poll_until(lambda: receiver.counts["spans"] >= expected, timeout=wait)
        except AssertionError:
            pass  # asserted below with what did arrive
        return [attributes(span.attributes) for _, _, span in receiver.spans()]


def _long(spans: list[dict]) -> list[dict]:
    return [s for s in spans if s.get("url.path", "").startswith("/xxx")]


def test_by_default_long_paths_are_truncated_and_every_span_arrives(tmp_path):
    spans = _run("gateway.yaml", {}, tmp_path)
    assert len(_long(spans)) == LONG_REQUESTS
    assert {len(s["url.path"]) for s in _long(spans)} == {ATTRIBUTE_VALUE_LENGTH}
    assert len(spans) == LONG_REQUESTS + 2 * NORMAL_REQUESTS


def test_untruncated_long_paths_are_split_across_requests_and_every_span_arrives(tmp_path):
    # The limit raised above the paths' length: the one batch is 9.6 MB, sent as requests of at most 3 MiB.
    spans = _run("sidecar.yaml", {"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "100000"}, tmp_path)
    assert len(_long(spans)) == LONG_REQUESTS
    assert all(len(s["url.path"]) > PATH_LENGTH for s in _long(spans))
    assert len(spans) == LONG_REQUESTS + 2 * NORMAL_REQUESTS


def test_without_the_size_bound_the_collector_refuses_the_batch(tmp_path):
    # The control: the same traffic with the bound lifted loses spans at the sidecar's 8 MiB limit.
    spans = _run("sidecar.yaml", {"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "100000", "MLOTEL_SPAN_EXPORT_MAX_BYTES": "1000000000"}, tmp_path,
                 wait=10)
    assert len(spans) < LONG_REQUESTS + 2 * NORMAL_REQUESTS
