"""Traces in the real Jaeger, with jaeger/config.yaml, outlive a clean restart and a kill -9."""

import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from harness.processes import free_port, poll_until

ROOT = Path(__file__).resolve().parents[2]
JAEGER = ROOT / ".build" / "bin" / "jaeger"

pytestmark = pytest.mark.integration


@contextmanager
def jaeger(env: dict[str, str], log: Path, stop: signal.Signals) -> Iterator[None]:
    """Jaeger running with the project's config until stopped by ``stop``."""
    with open(log, "ab") as out:
        process = subprocess.Popen([str(JAEGER), f"--config={ROOT / 'jaeger' / 'config.yaml'}"],
                                   env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    try:
        poll_until(lambda: _get(f"http://{env['JAEGER_QUERY_ENDPOINT']}/api/services"), timeout=30)
        yield
    finally:
        process.send_signal(stop)
        process.wait(timeout=20)


def _get(url: str) -> httpx.Response | None:
    try:
        response = httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return None
    return response if response.status_code == 200 else None


def send_span(endpoint: str, trace_id: str) -> None:
    now = time.time_ns()
    span = {"traceId": trace_id, "spanId": secrets.token_hex(8), "name": "predict iris", "kind": 2,
            "startTimeUnixNano": str(now - 5_000_000), "endTimeUnixNano": str(now)}
    body = {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "durability-test"}}]},
        "scopeSpans": [{"spans": [span]}]}]}
    httpx.post(f"http://{endpoint}/v1/traces", json=body, timeout=5).raise_for_status()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["restart", "kill-9"])
def test_a_trace_outlives_jaeger(stop, tmp_path):
    env = {"JAEGER_BADGER_DIR": str(tmp_path / "badger"), "JAEGER_TRACE_RETENTION": "1h",
           "JAEGER_QUERY_ENDPOINT": f"127.0.0.1:{free_port()}", "JAEGER_QUERY_GRPC_ENDPOINT": f"127.0.0.1:{free_port()}",
           "JAEGER_OTLP_GRPC_ENDPOINT": f"127.0.0.1:{free_port()}", "JAEGER_OTLP_HTTP_ENDPOINT": f"127.0.0.1:{free_port()}",
           "JAEGER_HEALTH_ENDPOINT": f"127.0.0.1:{free_port()}", "JAEGER_TELEMETRY_PORT": str(free_port()),
           "PROMETHEUS_URL": f"http://127.0.0.1:{free_port()}"}
    trace_id = secrets.token_hex(16)
    trace_url = f"http://{env['JAEGER_QUERY_ENDPOINT']}/api/traces/{trace_id}"
    with jaeger(env, tmp_path / "jaeger.log", stop):
        send_span(env["JAEGER_OTLP_HTTP_ENDPOINT"], trace_id)
        poll_until(lambda: _get(trace_url), timeout=20)
    with jaeger(env, tmp_path / "jaeger.log", signal.SIGTERM):
        found = _get(trace_url)
        assert found is not None, (tmp_path / "jaeger.log").read_text()[-3000:]
        assert found.json()["data"][0]["traceID"] == trace_id
