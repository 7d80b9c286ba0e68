"""The configs ``make up`` renders into the run directory: Prometheus' (its scrape targets
follow the gateway pool), Alertmanager's (from its template and the environment) and
supervisord's (one program per service of the catalogue)."""

from __future__ import annotations

import os
import shlex

import yaml

from scripts.render_config import render
from scripts.stack import paths
from scripts.stack.api_token import alerting_token, write_private
from scripts.stack.catalogue import VICTORIA, Gateway, Service


def prometheus_config(pool: list[Gateway], sidecar: bool, remote_write: str = "") -> str:
    """``prometheus/prometheus.yml`` for this stack: the collector jobs scrape every
    gateway of the pool (one target, so one ``instance`` label, each), the sidecar's
    own metrics when there is one, rule files by absolute path, and with
    ``remote_write`` (a URL) every sample also sent to the long-term store."""
    config = yaml.safe_load((paths.ROOT / "prometheus" / "prometheus.yml").read_text())
    config["rule_files"] = [str(paths.ROOT / "prometheus" / pattern) for pattern in config["rule_files"]]
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
    return "# Written by scripts/stack/configs.py from prometheus/prometheus.yml; edit that one.\n" + yaml.safe_dump(
        config, sort_keys=False)


def write_prometheus_config(pool: list[Gateway], sidecar: bool, long_term: bool) -> bool:
    """Write ``.run/prometheus.yml``; True if it changed."""
    path = paths.RUN / "prometheus.yml"
    text = prometheus_config(pool, sidecar, f"http://{VICTORIA}/api/v1/write" if long_term else "")
    if path.exists() and path.read_text() == text:
        return False
    path.write_text(text)
    return True


def _quote(value: str) -> str:
    """A value for supervisord's config, where % starts an expansion."""
    return value.replace("%", "%%")


def supervisord_config(stack: list[Service]) -> str:
    """Each service a program: started by `up` in order (not by supervisord, which
    would not wait for health), restarted by supervisord whenever it exits."""
    sections = [f"""[unix_http_server]
file={paths.SOCKET}
chmod=0700

[supervisord]
logfile={paths.RUN / 'logs' / 'supervisord.log'}
pidfile={paths.RUN / 'supervisord.pid'}
directory={paths.ROOT}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{paths.SOCKET}
"""]
    for service in stack:
        environment = ",".join(f'{key}="{_quote(value)}"' for key, value in service.env.items())
        sections.append(f"""[program:{service.name}]
command={_quote(shlex.join(service.command))}
directory={paths.ROOT}
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


def write_alertmanager_config() -> None:
    """``.run/alertmanager.yml`` from ``alertmanager/alertmanager.yml`` and the environment."""
    template = (paths.ROOT / "alertmanager" / "alertmanager.yml").read_text()
    # The default webhook is the alert-rule service, which wants its token; a webhook of your own gets none.
    environ = os.environ if os.environ.get("ALERT_WEBHOOK_URL") else {"ALERT_WEBHOOK_TOKEN": alerting_token(), **os.environ}
    # It may hold the webhook's token, the Slack webhook URL and SMTP settings.
    write_private(paths.RUN / "alertmanager.yml", render(template, environ))
