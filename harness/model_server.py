"""Runs ``python -m mlotel_model_server`` as a real process on loopback, for integration tests and benchmarks."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.processes import ROOT, stop, wait_healthy


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
