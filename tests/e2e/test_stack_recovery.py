"""The native stack recovers by itself: supervisord restarts a killed service, and
traces outlive Jaeger's restarts and crashes, so exemplars and alert links keep working."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.native_stack import jaeger_trace, slow_prediction
from harness.processes import poll_until

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def kill_9(stack, name: str) -> int:
    pid = stack.supervisor().supervisor.getProcessInfo(name)["pid"]
    os.kill(pid, signal.SIGKILL)
    return pid


def span_ids(trace: dict) -> set[str]:
    return {span["spanID"] for span in trace["spans"]}


def status_line(name: str) -> list[str]:
    out = subprocess.run([sys.executable, "-m", "scripts.stack", "status"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    return next(line.split() for line in out.splitlines() if line.split()[0] == name)


def test_a_killed_ml_api_is_back_and_healthy_by_itself(native_stack):
    api = {s.name: s for s in native_stack.services()}["ml-api"]
    pid = kill_9(native_stack, "ml-api")
    killed = time.monotonic()
    poll_until(api.healthy, timeout=15, interval=0.2)
    print(f"ML API healthy again {time.monotonic() - killed:.1f} s after kill -9")
    assert native_stack.supervisor().supervisor.getProcessInfo("ml-api")["pid"] != pid
    assert status_line("ml-api")[:3] == ["ml-api", "RUNNING", "healthy"]


def test_a_trace_outlives_a_jaeger_crash_and_a_restart(native_stack):
    jaeger = {s.name: s for s in native_stack.services()}["jaeger"]
    trace_id, _ = slow_prediction()
    before = poll_until(lambda: jaeger_trace(trace_id), timeout=60, interval=0.25)

    kill_9(native_stack, "jaeger")
    killed = time.monotonic()
    poll_until(lambda: not jaeger.healthy(), timeout=5)
    poll_until(jaeger.healthy, timeout=30, interval=0.2)
    print(f"Jaeger answering again {time.monotonic() - killed:.1f} s after kill -9")
    assert span_ids(jaeger_trace(trace_id)) == span_ids(before)

    native_stack.stop(jaeger)
    native_stack.up()
    assert span_ids(jaeger_trace(trace_id)) == span_ids(before)
