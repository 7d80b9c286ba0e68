"""What ``make up`` starts, in order, and with what: one row per process (its command,
health check, port, the URL to open, its environment). Each runs as a program of one
supervisord (``control``), with its configs rendered by ``configs``.

A gateway pool (``make up SIDECAR=1 GATEWAYS=N``) is N gateway collectors behind the
sidecar, each with its own ports, queue directory and Prometheus targets (``Gateway``);
``LONG_TERM_METRICS=1`` adds VictoriaMetrics in front of Prometheus.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from scripts.stack import paths
from scripts.stack.api_token import alerting_token

CONSOLE = "http://127.0.0.1:8501"


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
        return paths.RUN / "logs" / f"{self.name}.log"

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
        env = {"COLLECTOR_STORAGE_DIR": str(paths.RUN / f"{self.name}-queue"),
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
            [str(paths.BIN / "otelcol-mlotel"), f"--config={paths.ROOT / 'otel-collector' / 'gateway.yaml'}"],
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
        ["victoria-metrics", f"-storageDataPath={paths.RUN / 'victoria-metrics'}", f"-httpListenAddr={VICTORIA}",
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
            ["prometheus", f"--config.file={paths.RUN / 'prometheus.yml'}",
             f"--storage.tsdb.path={paths.RUN / 'prometheus'}", "--web.listen-address=127.0.0.1:9090",
             "--enable-feature=exemplar-storage", "--web.enable-lifecycle",
             # A reload that drops remote write (the long-term store gone) waits this long for it, not a minute.
             "--storage.remote.flush-deadline=10s"],
            "http://127.0.0.1:9090/-/ready", 9090, "http://127.0.0.1:9090",
        ),
        Service(
            "alertmanager",
            ["prometheus-alertmanager", f"--config.file={paths.RUN / 'alertmanager.yml'}",
             f"--storage.path={paths.RUN / 'alertmanager'}", "--web.listen-address=127.0.0.1:9093",
             "--cluster.listen-address="],
            "http://127.0.0.1:9093/-/ready", 9093, "http://127.0.0.1:9093/api/v2/alerts",
        ),
        Service(
            "jaeger",
            [str(paths.BIN / "jaeger"), f"--config={paths.ROOT / 'jaeger' / 'config.yaml'}"],
            "http://127.0.0.1:16686/api/services", 16686, "http://127.0.0.1:16686",
            {"JAEGER_BADGER_DIR": str(paths.RUN / "jaeger")},
        ),
        *(gateway.service(pool=gateways > 1) for gateway in pool),
    ]
    if sidecar:
        stack.append(Service(
            "sidecar",
            [str(paths.BIN / "otelcol-mlotel"), f"--config={paths.ROOT / 'otel-collector' / 'sidecar.yaml'}"],
            "http://127.0.0.1:13134/", 13134, "http://127.0.0.1:8898/metrics",
            {"GATEWAY_ENDPOINTS": "[" + ", ".join(gateway.otlp_grpc for gateway in pool) + "]"},
        ))
    stack.append(Service(
        "alerting",
        [sys.executable, "-m", "mlotel_alerting"],
        "http://127.0.0.1:8080/health/live", 8080, "http://127.0.0.1:8080/docs",
        {"ALERTING_HOST": "127.0.0.1", "ALERTING_PORT": "8080", "ALERTING_DB_PATH": str(paths.RUN / "alerting.sqlite3"),
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
