"""Gateway and sidecar collectors (the repo's otel-collector/*.yaml, the built
otelcol-mlotel) and Jaeger as child processes on free loopback ports, for the
tests and the collector benchmark: a pool of any size without the native stack.

    with Jaeger(tmp) as jaeger, Gateway(tmp, 0, jaeger.otlp_grpc) as gw0, Gateway(tmp, 1, jaeger.otlp_grpc) as gw1, \\
         Sidecar(tmp, "a", [gw0, gw1]) as sidecar:
        ...  # export OTLP to sidecar.otlp_grpc; read gw0.metrics()
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from harness.processes import ROOT, free_port, poll_until, stop

BIN = ROOT / ".build" / "bin"
COLLECTOR = BIN / "otelcol-mlotel"


class Process:
    """A server child process, its log under ``directory``; a context manager that
    waits for its health URL and stops it (SIGTERM, then SIGKILL) on exit."""

    name = "process"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def log(self) -> Path:
        return self.directory / f"{self.name}.log"

    def command(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        raise NotImplementedError

    def health_url(self) -> str:
        raise NotImplementedError

    def healthy(self) -> bool:
        try:
            return httpx.get(self.health_url(), timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def start(self, timeout: float = 60) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(self.command(), env={**os.environ, **self.env()}, cwd=ROOT,
                                            stdout=out, stderr=subprocess.STDOUT)
        try:
            poll_until(lambda: self.healthy() or self.process.poll() is not None, timeout=timeout, interval=0.2)
        except AssertionError:
            self.stop()
            raise AssertionError(f"{self.name} not healthy in {timeout} s: {self.tail()}") from None
        if self.process.poll() is not None:
            raise AssertionError(f"{self.name} exited ({self.process.returncode}): {self.tail()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            stop(self.process)

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:]) if self.log.exists() else ""

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


class Jaeger(Process):
    name = "jaeger"

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.query = f"127.0.0.1:{free_port()}"
        self.otlp_grpc = f"127.0.0.1:{free_port()}"
        self.ports = {"JAEGER_QUERY_GRPC_ENDPOINT": f"127.0.0.1:{free_port()}",
                      "JAEGER_OTLP_HTTP_ENDPOINT": f"127.0.0.1:{free_port()}",
                      "JAEGER_HEALTH_ENDPOINT": f"127.0.0.1:{free_port()}", "JAEGER_TELEMETRY_PORT": str(free_port()),
                      # Its Monitor tab's Prometheus: nothing listens, nothing here asks.
                      "PROMETHEUS_URL": f"http://127.0.0.1:{free_port()}"}

    def command(self) -> list[str]:
        return [str(BIN / "jaeger"), f"--config={ROOT / 'jaeger' / 'config.yaml'}"]

    def env(self) -> dict[str, str]:
        return {**self.ports, "JAEGER_QUERY_ENDPOINT": self.query, "JAEGER_OTLP_GRPC_ENDPOINT": self.otlp_grpc,
                "JAEGER_BADGER_DIR": str(self.directory / "badger"), "JAEGER_TRACE_RETENTION": "1h"}

    def health_url(self) -> str:
        return f"http://{self.query}/api/services"

    def traces(self, service: str, limit: int = 5000) -> list[dict]:
        response = httpx.get(f"http://{self.query}/api/traces",
                             params={"service": service, "limit": limit, "lookback": "1h"}, timeout=30)
        response.raise_for_status()
        return response.json()["data"] or []


class Collector(Process):
    """An otelcol-mlotel process; ``metrics()`` reads its own telemetry (otelcol_*)."""

    config = ""

    def __init__(self, directory: Path, settings: dict[str, str] | None = None) -> None:
        super().__init__(directory)
        self.settings = settings or {}
        self.otlp_grpc = f"127.0.0.1:{free_port()}"
        self.otlp_http = f"127.0.0.1:{free_port()}"
        self.health = f"127.0.0.1:{free_port()}"
        self.telemetry_port = free_port()

    def command(self) -> list[str]:
        return [str(COLLECTOR), f"--config={ROOT / 'otel-collector' / self.config}"]

    def health_url(self) -> str:
        return f"http://{self.health}/"

    def metrics(self) -> Metrics:
        return Metrics(httpx.get(f"http://127.0.0.1:{self.telemetry_port}/metrics", timeout=5).text)


class Metrics:
    """A collector's own metrics as scraped: ``total(name, label=value, ...)`` sums the
    samples of ``name`` whose labels include those given."""

    def __init__(self, text: str) -> None:
        self.samples = [(s.name, s.labels, s.value) for family in text_string_to_metric_families(text) for s in family.samples]

    def total(self, name: str, **labels: str) -> float:
        return sum(value for sample, have, value in self.samples
                   if sample == name and labels.items() <= have.items())


class Gateway(Collector):
    """A gateway from otel-collector/gateway.yaml exporting its sampled traces to ``jaeger_otlp``."""

    config = "gateway.yaml"

    def __init__(self, directory: Path, index: int, jaeger_otlp: str, alertmanager_url: str = "",
                 settings: dict[str, str] | None = None) -> None:
        super().__init__(directory, settings)
        self.name = f"gateway-{index}"
        self.jaeger_otlp = jaeger_otlp
        self.alertmanager_url = alertmanager_url or f"http://127.0.0.1:{free_port()}"

    def env(self) -> dict[str, str]:
        return {
            "COLLECTOR_OTLP_GRPC_ENDPOINT": self.otlp_grpc, "COLLECTOR_OTLP_HTTP_ENDPOINT": self.otlp_http,
            "COLLECTOR_HEALTH_ENDPOINT": self.health, "COLLECTOR_TELEMETRY_PORT": str(self.telemetry_port),
            "COLLECTOR_PPROF_ENDPOINT": f"127.0.0.1:{free_port()}", "COLLECTOR_ZPAGES_ENDPOINT": f"127.0.0.1:{free_port()}",
            "COLLECTOR_PROMETHEUS_ENDPOINT": f"127.0.0.1:{free_port()}",
            "COLLECTOR_PROMETHEUS_CONST_LABELS": f"{{gateway: {self.name}}}",
            "COLLECTOR_STORAGE_DIR": str(self.directory / f"{self.name}-queue"),
            "JAEGER_OTLP_GRPC_ENDPOINT": self.jaeger_otlp, "ALERTMANAGER_URL": self.alertmanager_url,
            **self.settings,
        }


class Sidecar(Collector):
    """A sidecar from otel-collector/sidecar.yaml in front of ``gateways``."""

    config = "sidecar.yaml"

    def __init__(self, directory: Path, name: str, gateways: list[Gateway],
                 settings: dict[str, str] | None = None) -> None:
        super().__init__(directory, settings)
        self.name = f"sidecar-{name}"
        self.gateways = gateways

    def env(self) -> dict[str, str]:
        return {
            "SIDECAR_OTLP_GRPC_ENDPOINT": self.otlp_grpc, "SIDECAR_OTLP_HTTP_ENDPOINT": self.otlp_http,
            "SIDECAR_HEALTH_ENDPOINT": self.health, "SIDECAR_TELEMETRY_PORT": str(self.telemetry_port),
            "GATEWAY_ENDPOINTS": "[" + ", ".join(g.otlp_grpc for g in self.gateways) + "]",
            **self.settings,
        }
