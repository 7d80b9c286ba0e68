"""The native stack: Prometheus, Alertmanager, Jaeger, the collector, the
alert-rule service, the ML API and the console as background processes on
loopback, with logs and pids under ``.run/``.

``python scripts/stack.py up [--sidecar]``: start what is not running (again
after a crash), wait until each answers its health check, print the URLs.
``down`` stops exactly what ``up`` started; ``status`` shows what runs;
``demo`` sends traffic and prints where to look. ``make up`` and friends call it.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parent.parent
RUN = Path(os.environ.get("MLOTEL_RUN_DIR", ROOT / ".run"))
BIN = ROOT / ".build" / "bin"
CONSOLE = "http://127.0.0.1:8501"
sys.path.insert(0, str(ROOT / "scripts"))
from render_config import render  # noqa: E402


@dataclass
class Service:
    name: str
    command: list[str]
    health: str
    port: int
    url: str = ""
    env: dict[str, str] = field(default_factory=dict)

    @property
    def pid_file(self) -> Path:
        return RUN / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return RUN / "logs" / f"{self.name}.log"

    def pid(self) -> int | None:
        """The pid this stack started, if that process still runs."""
        try:
            pid = int(self.pid_file.read_text())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def healthy(self) -> bool:
        try:
            return httpx.get(self.health, timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False


def services(sidecar: bool = False) -> list[Service]:
    """In start order: each one's dependencies come before it."""
    gateway_grpc = "127.0.0.1:4327" if sidecar else "127.0.0.1:4317"
    gateway_http = "127.0.0.1:4328" if sidecar else "127.0.0.1:4318"
    stack = [
        Service(
            "prometheus",
            ["prometheus", f"--config.file={ROOT / 'prometheus' / 'prometheus.yml'}",
             f"--storage.tsdb.path={RUN / 'prometheus'}", "--web.listen-address=127.0.0.1:9090",
             "--enable-feature=exemplar-storage", "--web.enable-lifecycle"],
            "http://127.0.0.1:9090/-/ready", 9090, "http://127.0.0.1:9090",
        ),
        Service(
            "alertmanager",
            ["prometheus-alertmanager", f"--config.file={RUN / 'alertmanager.yml'}",
             f"--storage.path={RUN / 'alertmanager'}", "--web.listen-address=127.0.0.1:9093",
             "--cluster.listen-address="],
            "http://127.0.0.1:9093/-/ready", 9093, "http://127.0.0.1:9093/api/v2/alerts",
        ),
        Service(
            "jaeger",
            [str(BIN / "jaeger"), f"--config={ROOT / 'jaeger' / 'config.yaml'}"],
            "http://127.0.0.1:16686/api/services", 16686, "http://127.0.0.1:16686",
            {"JAEGER_BADGER_DIR": str(RUN / "jaeger")},
        ),
        Service(
            "collector",
            [str(BIN / "otelcol-mlotel"), f"--config={ROOT / 'otel-collector' / 'gateway.yaml'}"],
            "http://127.0.0.1:13133/", 13133, "http://127.0.0.1:8889/metrics",
            {"COLLECTOR_STORAGE_DIR": str(RUN / "collector-queue"),
             "COLLECTOR_OTLP_GRPC_ENDPOINT": gateway_grpc, "COLLECTOR_OTLP_HTTP_ENDPOINT": gateway_http},
        ),
    ]
    if sidecar:
        stack.append(Service(
            "sidecar",
            [str(BIN / "otelcol-mlotel"), f"--config={ROOT / 'otel-collector' / 'sidecar.yaml'}"],
            "http://127.0.0.1:13134/", 13134, "",
            {"GATEWAY_ENDPOINTS": f"[{gateway_grpc}]"},
        ))
    stack.append(Service(
        "alerting",
        [sys.executable, "-m", "alerting"],
        "http://127.0.0.1:8080/health", 8080, "http://127.0.0.1:8080/docs",
        {"ALERTING_HOST": "127.0.0.1", "ALERTING_PORT": "8080", "ALERTING_DB_PATH": str(RUN / "alerting.sqlite3"),
         "ALERTING_API_TOKEN": alerting_token()},
    ))
    stack.append(Service(
        "ml-api",
        [sys.executable, "-m", "ml_api", "--host", "127.0.0.1", "--port", "8000"],
        "http://127.0.0.1:8000/health", 8000, "http://127.0.0.1:8000/docs",
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_METRIC_EXPORT_INTERVAL": "5000"},
    ))
    stack.append(Service(
        "console",
        [sys.executable, "-m", "console", "--host", "127.0.0.1", "--port", "8501"],
        "http://127.0.0.1:8501/_stcore/health", 8501, CONSOLE,
        {"ALERTING_API_TOKEN": alerting_token()},
    ))
    return stack


def alerting_token() -> str:
    """The alert-rule service's API token: ALERTING_API_TOKEN from the environment or
    ``.env``, else one generated once and kept in ``.run/alerting-api-token``."""
    token = os.environ.get("ALERTING_API_TOKEN") or dotenv_values(ROOT / ".env").get("ALERTING_API_TOKEN")
    if token:
        return token
    path = RUN / "alerting-api-token"
    if not path.exists():
        RUN.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(24))
    return path.read_text().strip()


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def start(service: Service, timeout: float = 90.0) -> bool:
    """Start one service unless it runs; True if this call started it."""
    if service.pid() is not None:
        return False
    if _port_taken(service.port):
        raise SystemExit(f"{service.name}: port {service.port} is taken by another process; stop it first")
    service.log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(service.log_file, "ab") as log:
        process = subprocess.Popen(
            service.command, cwd=ROOT, env={**os.environ, **service.env},
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
    service.pid_file.write_text(str(process.pid))
    deadline = time.monotonic() + timeout
    while not service.healthy():
        if process.poll() is not None or time.monotonic() > deadline:
            tail = service.log_file.read_text(errors="replace").splitlines()[-15:]
            stop(service)
            raise SystemExit(f"{service.name} did not become healthy; last log lines:\n" + "\n".join(tail))
        time.sleep(0.2)
    return True


def stop(service: Service, timeout: float = 20.0) -> bool:
    pid = service.pid()
    service_was_running = pid is not None
    if pid is not None:
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while service.pid() is not None and time.monotonic() < deadline:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.1)
        if service.pid() is not None:
            os.killpg(pid, signal.SIGKILL)
    service.pid_file.unlink(missing_ok=True)
    return service_was_running


def up(sidecar: bool = False) -> list[Service]:
    """Start the stack; return the services this call started."""
    RUN.mkdir(parents=True, exist_ok=True)
    template = (ROOT / "alertmanager" / "alertmanager.yml").read_text()
    (RUN / "alertmanager.yml").write_text(render(template, os.environ))
    started = []
    for service in services(sidecar):
        if start(service):
            started.append(service)
            print(f"started  {service.name:<12} pid {service.pid()}")
        else:
            print(f"running  {service.name:<12} pid {service.pid()}")
    return started


def down() -> None:
    for service in reversed(services(sidecar=True)):
        if stop(service):
            print(f"stopped  {service.name}")


def status() -> None:
    for service in services(sidecar=(RUN / "sidecar.pid").exists()):
        pid = service.pid()
        state = "stopped" if pid is None else ("healthy" if service.healthy() else "unhealthy")
        print(f"{service.name:<12} {state:<10} {'pid ' + str(pid) if pid else '':<10} {service.url}")


def print_urls() -> None:
    print(f"""
Console       {CONSOLE}   open this: overview, models, slow predictions and their traces, alerts, resources
ML API        http://127.0.0.1:8000   (POST /predict, GET /models, docs at /docs)
Jaeger        http://127.0.0.1:16686  (HTTP API only, no UI in this build: traces open in the console)
Prometheus    http://127.0.0.1:9090   (exemplars: /api/v1/query_exemplars)
Alertmanager  http://127.0.0.1:9093   (API v2: /api/v2/alerts)
Alert rules   http://127.0.0.1:8080   (GET /rules, /alerts/active, /metrics/summary; docs at /docs;
                                       changes need the token in $ALERTING_API_TOKEN, .env or .run/alerting-api-token)
Collector     OTLP 127.0.0.1:4317 (gRPC) / 4318 (HTTP), metrics for Prometheus on :8889, health :13133
Logs and pids under .run/; `make down` stops it all.""")


def main() -> None:
    parser = argparse.ArgumentParser(prog="scripts/stack.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["up", "down", "status", "demo"])
    parser.add_argument("--sidecar", action="store_true", help="the API exports to a sidecar collector in front of the gateway")
    args = parser.parse_args()
    if args.command == "up":
        up(args.sidecar)
        print_urls()
    elif args.command == "down":
        down()
    elif args.command == "status":
        status()
    else:
        from demo import run_demo

        run_demo()


if __name__ == "__main__":
    main()
