"""Runs ``python -m mlotel_alerting`` as a real process on loopback, for integration and fault tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

from harness.processes import ROOT, free_port, stop, wait_healthy

TOKEN = "hostile-test-token"


@dataclass
class AlertingProcess:
    url: str
    process: psutil.Process
    token: str = TOKEN

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@contextmanager
def running_alerting(directory: Path, env: dict[str, str] | None = None, rules: str = "rules: []\n",
                     python: str = sys.executable) -> Iterator[AlertingProcess]:
    """The service with its own rules directory and database under ``directory``; ``env`` on top
    (Prometheus and Alertmanager default to ports nothing listens on). ``python``: another
    checkout's interpreter, to measure a baseline."""
    (directory / "rules").mkdir(exist_ok=True)
    (directory / "rules" / "test.yml").write_text(rules)
    port = free_port()
    env = {"ALERTING_PORT": str(port), "ALERTING_RULES_DIR": str(directory / "rules"),
           "ALERTING_DB_PATH": str(directory / "alerting.sqlite3"), "ALERTING_API_TOKEN": TOKEN,
           "PROMETHEUS_URL": f"http://127.0.0.1:{free_port()}", "ALERTMANAGER_URL": f"http://127.0.0.1:{free_port()}",
           **(env or {})}
    with open(directory / "alerting.log", "ab") as log:
        process = subprocess.Popen([python, "-m", "mlotel_alerting"], cwd=ROOT, env={**os.environ, **env},
                                   stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(f"{base}/health", process=process)
        yield AlertingProcess(base, psutil.Process(process.pid))
    finally:
        stop(process)
