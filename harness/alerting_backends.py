"""Real Prometheus and Alertmanager (Debian packages) on free loopback ports, a metrics
target whose values a test sets, and a webhook receiver that records what Alertmanager delivers."""

from __future__ import annotations

import json
import subprocess
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from harness.processes import free_port, wait_healthy


class _Server:
    """A loopback HTTP server in a thread; subclasses say what a request does."""

    def __init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                owner.get(self)

            def do_POST(self):
                owner.post(self, json.loads(self.rfile.read(int(self.headers["Content-Length"]))))

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def get(self, handler) -> None:
        handler.send_error(404)

    def post(self, handler, body) -> None:
        handler.send_error(404)

    @staticmethod
    def reply(handler, status: int, text: str = "") -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "text/plain; version=0.0.4")
        handler.end_headers()
        handler.wfile.write(text.encode())


class MetricsTarget(_Server):
    """Serves gauges ``name{labels} value`` from ``values`` for Prometheus to scrape."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}
        super().__init__()

    def get(self, handler) -> None:
        self.reply(handler, 200, "".join(f"{series} {value}\n" for series, value in self.values.items()))


class WebhookReceiver(_Server):
    """Records every Alertmanager webhook notification."""

    def __init__(self) -> None:
        self.notifications: list[dict] = []
        super().__init__()

    def post(self, handler, body) -> None:
        self.notifications.append(body)
        self.reply(handler, 200)

    def alerts(self, alertname: str, status: str) -> list[dict]:
        return [a for n in self.notifications for a in n["alerts"]
                if a["labels"].get("alertname") == alertname and a["status"] == status]


class Process:
    """A server process (ready at ``url``/-/ready) that can be stopped and started again with the same arguments."""

    def __init__(self, command: list[str], url: str, log: Path) -> None:
        self.command, self.url, self.log = command, url, log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(self.command, stdout=out, stderr=subprocess.STDOUT)
        wait_healthy(f"{self.url}/-/ready", timeout=30, process=self.process)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


@contextmanager
def running(process: Process):
    process.start()
    try:
        yield process
    finally:
        process.stop()


def prometheus(directory: Path, target_port: int) -> Process:
    port = free_port()
    config = {"global": {"scrape_interval": "1s"},
              "scrape_configs": [{"job_name": "target", "static_configs": [{"targets": [f"127.0.0.1:{target_port}"]}]}]}
    (directory / "prometheus.yml").write_text(yaml.safe_dump(config))
    command = ["prometheus", f"--config.file={directory / 'prometheus.yml'}", f"--storage.tsdb.path={directory / 'tsdb'}",
               f"--web.listen-address=127.0.0.1:{port}"]
    return Process(command, f"http://127.0.0.1:{port}", directory / "prometheus.log")


def alertmanager(directory: Path, webhook_port: int) -> Process:
    port = free_port()
    config = {
        "route": {"receiver": "test", "group_by": ["alertname"], "group_wait": "1s", "group_interval": "1s",
                  "repeat_interval": "1h"},
        "receivers": [{"name": "test", "webhook_configs": [
            {"url": f"http://127.0.0.1:{webhook_port}/alerts", "send_resolved": True}]}],
    }
    (directory / "alertmanager.yml").write_text(yaml.safe_dump(config))
    command = ["prometheus-alertmanager", f"--config.file={directory / 'alertmanager.yml'}",
               f"--storage.path={directory / 'am'}", f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="]
    return Process(command, f"http://127.0.0.1:{port}", directory / "alertmanager.log")
