"""Runs ``python -m mlotel_model_server`` as a real process on loopback, for integration tests and benchmarks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def wait_healthy(url: str, timeout: float = 60.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode} before it was healthy")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} not healthy within {timeout} s")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, as a supervisor would; SIGKILL if the process has not ended in 30 s."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def running_api(port: int, env: dict[str, str], workers: int = 1, log: Path | None = None) -> Iterator[str]:
    """Start the API with ``env`` on top of this process's environment; yield its base URL."""
    command = [sys.executable, "-m", "mlotel_model_server", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    out = open(log, "w") if log else subprocess.DEVNULL
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(f"{base}/health", process=process)
        yield base
    finally:
        stop(process)
        if log:
            out.close()
