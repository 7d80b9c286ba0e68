"""The native stack: Prometheus, Alertmanager, Jaeger, the collector, the
alert-rule service, the ML API and the console on loopback, each a program of
one supervisord (config, socket and logs under ``.run/``), which restarts what
dies within seconds.

``python scripts/stack.py up [--sidecar [--gateways N]] [--long-term-metrics]``: start supervisord and, in order,
each service that is not running or not healthy, waiting until it answers its
health check; print the URLs. With ``--gateways N`` the sidecar's loadbalancing
exporter spreads traces by trace id over a pool of N gateway collectors, each
with its own ports, queue directory and Prometheus targets (see ``Gateway``);
``--long-term-metrics`` adds VictoriaMetrics, which Prometheus remote-writes to.
``down`` stops every service and supervisord;
``status`` shows each one's state and health; ``demo`` sends traffic and prints
where to look. ``make up`` and friends call it.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import socket
import subprocess
import sys
import time
import xmlrpc.client
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml
from dotenv import dotenv_values
from supervisor.xmlrpc import SupervisorTransport

ROOT = Path(__file__).resolve().parent.parent
RUN = Path(os.environ.get("MLOTEL_RUN_DIR", ROOT / ".run"))
BIN = ROOT / ".build" / "bin"
SUPERVISORD_CONF = RUN / "supervisord.conf"
SOCKET = RUN / "supervisor.sock"
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
    def log_file(self) -> Path:
        return RUN / "logs" / f"{self.name}.log"

    def healthy(self) -> bool:
        try:
            return httpx.get(self.health, timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False


MAX_GATEWAYS = 8


@dataclass(frozen=True)
class Gateway:
    """One gateway collector of the pool and its loopback ports. The first is the
    stack's one collector (``collector``, the ports of a default ``make up``); the
    i-th is ``collector-i``, its OTLP ports 10 up per gateway, the others 100 up."""

    index: int
    sidecar: bool = True

    @property
    def name(self) -> str:
        return "collector" if self.index == 0 else f"collector-{self.index}"

    def port(self, base: int, step: int = 100) -> int:
        return base + step * self.index

    @property
    def otlp_grpc(self) -> str:
        return f"127.0.0.1:{self.port(4327 if self.sidecar else 4317, 10)}"

    @property
    def otlp_http(self) -> str:
        return f"127.0.0.1:{self.port(4328 if self.sidecar else 4318, 10)}"

    @property
    def exporter_port(self) -> int:
        """Its prometheus exporter: the API's metrics and the span metrics."""
        return self.port(8889)

    @property
    def telemetry_port(self) -> int:
        """The collector's own metrics (otelcol_*)."""
        return self.port(8888)

    def service(self, pool: bool) -> Service:
        env = {"COLLECTOR_STORAGE_DIR": str(RUN / f"{self.name}-queue"),
               "COLLECTOR_OTLP_GRPC_ENDPOINT": self.otlp_grpc, "COLLECTOR_OTLP_HTTP_ENDPOINT": self.otlp_http}
        if self.index:
            env |= {"COLLECTOR_HEALTH_ENDPOINT": f"127.0.0.1:{self.port(13133)}",
                    "COLLECTOR_PPROF_ENDPOINT": f"127.0.0.1:{self.port(1777)}",
                    "COLLECTOR_ZPAGES_ENDPOINT": f"127.0.0.1:{self.port(55679)}",
                    "COLLECTOR_PROMETHEUS_ENDPOINT": f"127.0.0.1:{self.exporter_port}",
                    "COLLECTOR_TELEMETRY_PORT": str(self.telemetry_port)}
        if pool:
            # Each gateway computes span metrics for the traces routed to it: the same
            # series from two gateways would collide in Prometheus without this label.
            env["COLLECTOR_PROMETHEUS_CONST_LABELS"] = f"{{gateway: {self.name}}}"
        return Service(
            self.name,
            [str(BIN / "otelcol-mlotel"), f"--config={ROOT / 'otel-collector' / 'gateway.yaml'}"],
            f"http://127.0.0.1:{self.port(13133)}/", self.port(13133), f"http://127.0.0.1:{self.exporter_port}/metrics", env,
        )


def gateway_pool(sidecar: bool, gateways: int) -> list[Gateway]:
    if not 1 <= gateways <= MAX_GATEWAYS:
        raise SystemExit(f"gateways: 1 to {MAX_GATEWAYS}, not {gateways}")
    if gateways > 1 and not sidecar:
        # The API exports to one endpoint; only the sidecar's loadbalancing exporter keeps a trace on one gateway.
        raise SystemExit("a gateway pool needs the sidecar in front of it: make up SIDECAR=1 GATEWAYS=N")
    return [Gateway(i, sidecar) for i in range(gateways)]


VICTORIA = "127.0.0.1:8428"


def long_term_store() -> Service:
    """VictoriaMetrics, Prometheus' remote-write target for months of metrics;
    VICTORIA_RETENTION is its retention (a number is months; 2w, 1y also work)."""
    retention = os.environ.get("VICTORIA_RETENTION", "12")
    return Service(
        "victoria-metrics",
        ["victoria-metrics", f"-storageDataPath={RUN / 'victoria-metrics'}", f"-httpListenAddr={VICTORIA}",
         f"-retentionPeriod={retention}"],
        f"http://{VICTORIA}/health", 8428, f"http://{VICTORIA}/vmui",
    )


def services(sidecar: bool = False, gateways: int = 1, long_term: bool = False) -> list[Service]:
    """In start order: each one's dependencies come before it."""
    pool = gateway_pool(sidecar, gateways)
    stack = [
        *([long_term_store()] if long_term else []),
        Service(
            "prometheus",
            ["prometheus", f"--config.file={RUN / 'prometheus.yml'}",
             f"--storage.tsdb.path={RUN / 'prometheus'}", "--web.listen-address=127.0.0.1:9090",
             "--enable-feature=exemplar-storage", "--web.enable-lifecycle",
             # A reload that drops remote write (the long-term store gone) waits this long for it, not a minute.
             "--storage.remote.flush-deadline=10s"],
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
        *(gateway.service(pool=gateways > 1) for gateway in pool),
    ]
    if sidecar:
        stack.append(Service(
            "sidecar",
            [str(BIN / "otelcol-mlotel"), f"--config={ROOT / 'otel-collector' / 'sidecar.yaml'}"],
            "http://127.0.0.1:13134/", 13134, "http://127.0.0.1:8898/metrics",
            {"GATEWAY_ENDPOINTS": "[" + ", ".join(gateway.otlp_grpc for gateway in pool) + "]"},
        ))
    stack.append(Service(
        "alerting",
        [sys.executable, "-m", "mlotel_alerting"],
        "http://127.0.0.1:8080/health/live", 8080, "http://127.0.0.1:8080/docs",
        {"ALERTING_HOST": "127.0.0.1", "ALERTING_PORT": "8080", "ALERTING_DB_PATH": str(RUN / "alerting.sqlite3"),
         "ALERTING_API_TOKEN": alerting_token()},
    ))
    stack.append(Service(
        "ml-api",
        [sys.executable, "-m", "mlotel_model_server", "--host", "127.0.0.1", "--port", "8000"],
        "http://127.0.0.1:8000/health/ready", 8000, "http://127.0.0.1:8000/docs",
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_METRIC_EXPORT_INTERVAL": "5000"},
    ))
    stack.append(Service(
        "console",
        [sys.executable, "-m", "mlotel_console", "--host", "127.0.0.1", "--port", "8501"],
        "http://127.0.0.1:8501/_stcore/health", 8501, CONSOLE,
        {"ALERTING_API_TOKEN": alerting_token()},
    ))
    return stack


def prometheus_config(pool: list[Gateway], sidecar: bool, remote_write: str = "") -> str:
    """``prometheus/prometheus.yml`` for this stack: the collector jobs scrape every
    gateway of the pool (one target, so one ``instance`` label, each), the sidecar's
    own metrics when there is one, rule files by absolute path, and with
    ``remote_write`` (a URL) every sample also sent to the long-term store."""
    config = yaml.safe_load((ROOT / "prometheus" / "prometheus.yml").read_text())
    config["rule_files"] = [str(ROOT / "prometheus" / pattern) for pattern in config["rule_files"]]
    targets = {"otel-collector": [f"127.0.0.1:{g.exporter_port}" for g in pool],
               "otel-collector-self": [f"127.0.0.1:{g.telemetry_port}" for g in pool]}
    jobs = config["scrape_configs"]
    for job in jobs:
        if job["job_name"] in targets:
            job["static_configs"] = [{"targets": targets[job["job_name"]]}]
    if sidecar:
        jobs.append({"job_name": "otel-sidecar-self", "static_configs": [{"targets": ["127.0.0.1:8898"]}]})
    if remote_write:
        config["remote_write"] = [{"url": remote_write}]
        jobs.append({"job_name": "victoria-metrics", "static_configs": [{"targets": [remote_write.split("/")[2]]}]})
    return "# Written by scripts/stack.py from prometheus/prometheus.yml; edit that one.\n" + yaml.safe_dump(
        config, sort_keys=False)


def write_prometheus_config(pool: list[Gateway], sidecar: bool, long_term: bool) -> bool:
    """Write ``.run/prometheus.yml``; True if it changed."""
    path = RUN / "prometheus.yml"
    text = prometheus_config(pool, sidecar, f"http://{VICTORIA}/api/v1/write" if long_term else "")
    if path.exists() and path.read_text() == text:
        return False
    path.write_text(text)
    return True


def write_private(path: Path, text: str) -> None:
    """Write ``text`` readable by this user only, also over a file an older run left readable to all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(text)


def alerting_token() -> str:
    """The alert-rule service's API token: ALERTING_API_TOKEN from the environment or
    ``.env``, else one generated once and kept in ``.run/alerting-api-token``."""
    token = os.environ.get("ALERTING_API_TOKEN") or dotenv_values(ROOT / ".env").get("ALERTING_API_TOKEN")
    if token:
        return token
    path = RUN / "alerting-api-token"
    if not path.exists():
        RUN.mkdir(parents=True, exist_ok=True)
        write_private(path, secrets.token_urlsafe(24))
    return path.read_text().strip()


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _quote(value: str) -> str:
    """A value for supervisord's config, where % starts an expansion."""
    return value.replace("%", "%%")


def supervisord_config(stack: list[Service]) -> str:
    """Each service a program: started by `up` in order (not by supervisord, which
    would not wait for health), restarted by supervisord whenever it exits."""
    sections = [f"""[unix_http_server]
file={SOCKET}
chmod=0700

[supervisord]
logfile={RUN / 'logs' / 'supervisord.log'}
pidfile={RUN / 'supervisord.pid'}
directory={ROOT}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{SOCKET}
"""]
    for service in stack:
        environment = ",".join(f'{key}="{_quote(value)}"' for key, value in service.env.items())
        sections.append(f"""[program:{service.name}]
command={_quote(shlex.join(service.command))}
directory={ROOT}
{f"environment={environment}" if environment else ""}
autostart=false
autorestart=true
startsecs=2
startretries=10
stopasgroup=true
killasgroup=true
stopwaitsecs=20
redirect_stderr=true
stdout_logfile={service.log_file}
stdout_logfile_maxbytes=20MB
stdout_logfile_backups=3
""")
    return "\n".join(sections)


def supervisor() -> xmlrpc.client.ServerProxy:
    """supervisord's XML-RPC API, over its socket."""
    transport = SupervisorTransport(serverurl=f"unix://{SOCKET}")
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)


def supervisor_running() -> bool:
    try:
        return supervisor().supervisor.getState()["statename"] == "RUNNING"
    except (OSError, xmlrpc.client.Fault):
        return False


def _process(name: str) -> dict | None:
    try:
        return supervisor().supervisor.getProcessInfo(name)
    except (OSError, xmlrpc.client.Fault):
        return None


def start_supervisord(stack: list[Service]) -> None:
    """Start supervisord with this stack's programs, or bring a running one up to date."""
    (RUN / "logs").mkdir(parents=True, exist_ok=True)
    write_private(SUPERVISORD_CONF, supervisord_config(stack))  # it holds the rules API token
    ctl = [sys.executable, "-m", "supervisor.supervisorctl", "-c", str(SUPERVISORD_CONF)]
    if supervisor_running():
        # Programs whose command or environment changed are stopped here and started again by `up`.
        subprocess.run([*ctl, "update"], check=True, stdout=subprocess.DEVNULL)
        return
    subprocess.run([sys.executable, "-m", "supervisor.supervisord", "-c", str(SUPERVISORD_CONF)], cwd=ROOT, check=True)
    deadline = time.monotonic() + 10
    while not supervisor_running():
        if time.monotonic() > deadline:
            raise SystemExit(f"supervisord did not start; see {RUN / 'logs' / 'supervisord.log'}")
        time.sleep(0.1)


def start(service: Service, timeout: float = 90.0, grace: float = 10.0) -> bool:
    """Make one service run and answer its health check; True if this call (re)started it.

    A running service that is unhealthy gets ``grace`` seconds (supervisord may have
    just restarted it), then is restarted."""
    info = _process(service.name)
    if info is not None and info["statename"] in ("RUNNING", "STARTING", "BACKOFF"):
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if service.healthy():
                return False
            time.sleep(0.2)
        print(f"unhealthy {service.name}: restarting it")
        supervisor().supervisor.stopProcess(service.name)
    elif _port_taken(service.port):
        stop(service)  # and supervisord, when nothing of the stack runs: a refused `up` leaves nothing behind
        raise SystemExit(f"{service.name}: port {service.port} is taken by another process; stop it first")
    supervisor().supervisor.startProcess(service.name, False)
    deadline = time.monotonic() + timeout
    while not service.healthy():
        state = (_process(service.name) or {"statename": "FATAL (supervisord gone)"})["statename"]
        if state.startswith("FATAL") or state in ("EXITED", "STOPPED") or time.monotonic() > deadline:
            tail = service.log_file.read_text(errors="replace").splitlines()[-15:]
            stop(service)
            raise SystemExit(f"{service.name} did not become healthy ({state}); last log lines:\n" + "\n".join(tail))
        time.sleep(0.2)
    return True


def stop(service: Service) -> bool:
    """Stop one service; supervisord too once nothing it supervises runs. True if it ran."""
    info = _process(service.name)
    was_running = info is not None and info["statename"] in ("RUNNING", "STARTING", "BACKOFF")
    if was_running:
        supervisor().supervisor.stopProcess(service.name)
    if supervisor_running() and not any(
            p["statename"] in ("RUNNING", "STARTING", "BACKOFF", "STOPPING")
            for p in supervisor().supervisor.getAllProcessInfo()):
        shutdown_supervisord()
    return was_running


def shutdown_supervisord() -> None:
    supervisor().supervisor.shutdown()
    deadline = time.monotonic() + 30
    while SOCKET.exists() and time.monotonic() < deadline:
        time.sleep(0.1)


def up(sidecar: bool = False, gateways: int = 1, long_term: bool = False) -> list[Service]:
    """Start the stack; return the services this call started or restarted."""
    RUN.mkdir(parents=True, exist_ok=True)
    template = (ROOT / "alertmanager" / "alertmanager.yml").read_text()
    # The default webhook is the alert-rule service, which wants its token; a webhook of your own gets none.
    environ = os.environ if os.environ.get("ALERT_WEBHOOK_URL") else {"ALERT_WEBHOOK_TOKEN": alerting_token(), **os.environ}
    # It may hold the webhook's token, the Slack webhook URL and SMTP settings.
    write_private(RUN / "alertmanager.yml", render(template, environ))
    stack = services(sidecar, gateways, long_term)
    targets_changed = write_prometheus_config(gateway_pool(sidecar, gateways), sidecar, long_term)
    start_supervisord(stack)
    started = []
    for service in stack:
        if start(service):
            started.append(service)
            print(f"started  {service.name:<12} pid {_process(service.name)['pid']}")
        else:
            print(f"running  {service.name:<12} pid {_process(service.name)['pid']}")
            if service.name == "prometheus" and targets_changed:
                httpx.post("http://127.0.0.1:9090/-/reload", timeout=60).raise_for_status()
                print("reloaded prometheus: scrape targets changed")
    return started


def running_shape(names: set[str]) -> tuple[bool, int, bool]:
    """(sidecar, gateways, long_term) of the stack whose programs supervisord has."""
    gateways = 1 + max((i for i in range(1, MAX_GATEWAYS) if Gateway(i).name in names), default=0)
    return "sidecar" in names, gateways, "victoria-metrics" in names


def down() -> None:
    """Stop every service in reverse start order, then supervisord."""
    if not supervisor_running():
        return
    names = {p["name"] for p in supervisor().supervisor.getAllProcessInfo()}
    _, gateways, long_term = running_shape(names)
    for service in reversed(services(sidecar=True, gateways=gateways, long_term=long_term)):
        if service.name in names and stop(service):
            print(f"stopped  {service.name}")
    if supervisor_running():
        shutdown_supervisord()
    print("stopped  supervisord")


def status() -> None:
    if not supervisor_running():
        print("supervisord is not running: `make up` starts the stack")
        return
    infos = {p["name"]: p for p in supervisor().supervisor.getAllProcessInfo()}
    for service in services(*running_shape(set(infos))):
        info = infos.get(service.name, {"statename": "ABSENT", "description": "", "pid": 0})
        health = "healthy" if service.healthy() else "unhealthy"
        print(f"{service.name:<12} {info['statename']:<9} {health:<10} {info['description']:<26} {service.url}")


def print_urls(sidecar: bool = False, gateways: int = 1, long_term: bool = False) -> None:
    if sidecar:
        collectors = ("Collector     sidecar OTLP 127.0.0.1:4317 (gRPC) / 4318 (HTTP), its metrics :8898, health :13134\n"
                      + "\n".join(f"  {g.name:<12}gateway OTLP {g.otlp_grpc}, metrics for Prometheus :{g.exporter_port}"
                                   f" and :{g.telemetry_port} (own), health :{g.port(13133)}"
                                   for g in gateway_pool(sidecar, gateways)))
    else:
        collectors = "Collector     OTLP 127.0.0.1:4317 (gRPC) / 4318 (HTTP), metrics for Prometheus on :8889, health :13133"
    long_term_line = (f"\nLong-term     http://{VICTORIA}   (VictoriaMetrics: Prometheus' remote write, PromQL at /api/v1/query,"
                      f" retention {os.environ.get('VICTORIA_RETENTION', '12')} months)")
    print(f"""
Console       {CONSOLE}   open this: overview, models, slow predictions and their traces, alerts, resources
ML API        http://127.0.0.1:8000   (POST /predict, GET /models, docs at /docs)
Jaeger        http://127.0.0.1:16686  (HTTP API only, no UI in this build: traces open in the console)
Prometheus    http://127.0.0.1:9090   (exemplars: /api/v1/query_exemplars)
Alertmanager  http://127.0.0.1:9093   (API v2: /api/v2/alerts){long_term_line if long_term else ""}
Alert rules   http://127.0.0.1:8080   (GET /rules, /alerts/active, /metrics/summary; docs at /docs;
                                       changes need the token in $ALERTING_API_TOKEN, .env or .run/alerting-api-token)
{collectors}
Logs under .run/logs/, supervised by supervisord (`make status`); `make down` stops it all.""")


def main() -> None:
    parser = argparse.ArgumentParser(prog="scripts/stack.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["up", "down", "status", "demo"])
    parser.add_argument("--sidecar", action="store_true", help="the API exports to a sidecar collector in front of the gateway")
    parser.add_argument("--long-term-metrics", action="store_true",
                        help="Prometheus also remote-writes to VictoriaMetrics on :8428 (retention VICTORIA_RETENTION months)")
    parser.add_argument("--gateways", type=int, default=1, metavar="N",
                        help="gateway collectors behind the sidecar, traces routed by trace id (needs --sidecar)")
    args = parser.parse_args()
    if args.command == "up":
        up(args.sidecar, args.gateways, args.long_term_metrics)
        print_urls(args.sidecar, args.gateways, args.long_term_metrics)
    elif args.command == "down":
        down()
    elif args.command == "status":
        status()
    else:
        from demo import run_demo

        run_demo()


if __name__ == "__main__":
    main()
