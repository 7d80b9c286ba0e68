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

from harness.processes import free_port, poll_until, wait_healthy

ROOT = Path(__file__).resolve().parents[2]
JAEGER = ROOT / ".build" / "bin" / "jaeger"

pytestmark = pytest.mark.integration


# The env keys that name a port Jaeger binds (PROMETHEUS_URL is one it only calls).
_BOUND = ("JAEGER_QUERY_ENDPOINT", "JAEGER_QUERY_GRPC_ENDPOINT", "JAEGER_OTLP_GRPC_ENDPOINT",
          "JAEGER_OTLP_HTTP_ENDPOINT", "JAEGER_HEALTH_ENDPOINT")


def _choose_ports(env: dict[str, str]) -> None:
    env.update({key: f"127.0.0.1:{free_port()}" for key in _BOUND}, JAEGER_TELEMETRY_PORT=str(free_port()))


@contextmanager
def jaeger(env: dict[str, str], log: Path, stop: signal.Signals) -> Iterator[None]:
    """Jaeger running with the project's config until stopped by ``stop``.

    A port that ``free_port()`` found free may be taken by another process
    before Jaeger binds it (CI saw it once): then Jaeger exits, and it is
    started again on ports chosen anew (``env`` updated in place), up to
    three times.
    """
    for attempt in range(3):
        logged = log.stat().st_size if log.exists() else 0
        with open(log, "ab") as out:
            process = subprocess.Popen([str(JAEGER), f"--config={ROOT / 'jaeger' / 'config.yaml'}"],
                                       env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_healthy(f"http://{env['JAEGER_QUERY_ENDPOINT']}/api/services", timeout=30, process=process)
            break
        except RuntimeError:  # it exited before it was healthy
            said = log.read_bytes()[logged:].decode(errors="replace")
            if "address already in use" not in said or attempt == 2:
                raise
            _choose_ports(env)
        except BaseException:
            process.kill()
            process.wait()
            raise
    try:
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
           "PROMETHEUS_URL": f"http://127.0.0.1:{free_port()}"}
    _choose_ports(env)
    trace_id = secrets.token_hex(16)

    def trace_url() -> str:  # the ports may change between starts (jaeger())
        return f"http://{env['JAEGER_QUERY_ENDPOINT']}/api/traces/{trace_id}"

    with jaeger(env, tmp_path / "jaeger.log", stop):
        send_span(env["JAEGER_OTLP_HTTP_ENDPOINT"], trace_id)
        poll_until(lambda: _get(trace_url()), timeout=20)
    with jaeger(env, tmp_path / "jaeger.log", signal.SIGTERM):
        found = _get(trace_url())
        assert found is not None, (tmp_path / "jaeger.log").read_text()[-3000:]
        assert found.json()["data"][0]["traceID"] == trace_id
