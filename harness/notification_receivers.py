"""Where Alertmanager's notifications land in tests: a Slack-compatible endpoint, an SMTP
server on loopback (aiosmtpd), the alert-rule service as a real process (its webhook),
and the real Alertmanager running the project's own template (alertmanager/alertmanager.yml)."""

from __future__ import annotations

import email
import os
import subprocess
import sys
from email import policy
from email.message import EmailMessage
from pathlib import Path

import httpx
import yaml
from aiosmtpd.controller import Controller

from harness.alerting_backends import Process, _Server
from harness.processes import ROOT, free_port, wait_healthy
from scripts.render_config import render

TOKEN = "notification-test-token"


class SlackReceiver(_Server):
    """Records what Alertmanager's ``slack_configs`` posts (Slack's incoming-webhook JSON)."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        super().__init__()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/services/T0/B0/x"

    def post(self, handler, body) -> None:
        self.messages.append(body)
        self.reply(handler, 200, "ok")

    def attachments(self, alertname: str, status: str) -> list[dict]:
        """Attachments about ``alertname`` whose title says ``status`` ("[FIRING:1] ...")."""
        return [a for m in self.messages for a in m["attachments"]
                if alertname in a["title"] and a["title"].startswith(f"[{status.upper()}")]


class SmtpReceiver:
    """An SMTP server on a free loopback port that keeps every message it is sent."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()

    def mails(self, alertname: str, status: str) -> list[EmailMessage]:
        return [m for m in self.messages if alertname in m["Subject"] and m["Subject"].startswith(f"[{status.upper()}")]


class AlertingService(Process):
    """``python -m mlotel_alerting`` with its rules, database and token; ``kill()`` is a kill -9."""

    def __init__(self, directory: Path, rules: str, prometheus_url: str, alertmanager_url: str) -> None:
        self.port = free_port()
        (directory / "rules").mkdir(exist_ok=True)
        (directory / "rules" / "test.yml").write_text(rules)
        self.env = {"ALERTING_HOST": "127.0.0.1", "ALERTING_PORT": str(self.port), "ALERTING_API_TOKEN": TOKEN,
                    "ALERTING_RULES_DIR": str(directory / "rules"), "ALERTING_DB_PATH": str(directory / "alerting.sqlite3"),
                    "PROMETHEUS_URL": prometheus_url, "ALERTMANAGER_URL": alertmanager_url,
                    "ALERTING_EVALUATION_INTERVAL": "1", "ALERTING_QUERY_TIMEOUT": "2"}
        super().__init__([sys.executable, "-m", "mlotel_alerting"], f"http://127.0.0.1:{self.port}",
                         directory / "alerting.log")

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(self.command, env={**os.environ, **self.env}, cwd=ROOT,
                                            stdout=out, stderr=subprocess.STDOUT)
        # Its own route, not /health: ready to take webhooks whatever the rules' health.
        wait_healthy(f"{self.url}/notifications", timeout=60, process=self.process)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=30)

    def get(self, path: str, **params) -> list[dict]:
        response = httpx.get(f"{self.url}{path}", params=params, timeout=5)
        response.raise_for_status()
        return response.json()

    def notifications(self, alertname: str, status: str) -> list[dict]:
        return self.get("/notifications", alertname=alertname, status=status)


def alertmanager_from_template(directory: Path, environ: dict[str, str]) -> Process:
    """The real Alertmanager on the project's template rendered with ``environ``: its routes,
    receivers and templates as shipped; only the grouping waits shortened to a second or two."""
    config = yaml.safe_load(render((ROOT / "alertmanager" / "alertmanager.yml").read_text(), environ))
    for route in [config["route"], *config["route"].get("routes", [])]:
        route.update({"group_wait": "1s", "group_interval": "2s"})
    (directory / "alertmanager.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    command = ["prometheus-alertmanager", f"--config.file={directory / 'alertmanager.yml'}",
               f"--storage.path={directory / 'am'}", f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="]
    return Process(command, f"http://127.0.0.1:{port}", directory / "alertmanager.log")
