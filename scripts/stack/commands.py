"""``python -m scripts.stack up|down|status|demo``, behind ``make up``, ``make down``,
``make status`` and ``make demo``."""

from __future__ import annotations

import argparse
import os

import httpx

from scripts.stack import catalogue, paths
from scripts.stack.catalogue import CONSOLE, MAX_GATEWAYS, VICTORIA, Gateway, Service, gateway_pool
from scripts.stack.configs import write_alertmanager_config, write_prometheus_config
from scripts.stack.control import process_info, shutdown_supervisord, start, start_supervisord, stop, supervisor, supervisor_running


def up(sidecar: bool = False, gateways: int = 1, long_term: bool = False) -> list[Service]:
    """Start the stack; return the services this call started or restarted."""
    paths.RUN.mkdir(parents=True, exist_ok=True)
    write_alertmanager_config()
    stack = catalogue.services(sidecar, gateways, long_term)
    targets_changed = write_prometheus_config(gateway_pool(sidecar, gateways), sidecar, long_term)
    start_supervisord(stack)
    started = []
    for service in stack:
        if start(service):
            started.append(service)
            print(f"started  {service.name:<12} pid {process_info(service.name)['pid']}")
        else:
            print(f"running  {service.name:<12} pid {process_info(service.name)['pid']}")
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
    for service in reversed(catalogue.services(sidecar=True, gateways=gateways, long_term=long_term)):
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
    for service in catalogue.services(*running_shape(set(infos))):
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
    parser = argparse.ArgumentParser(prog="python -m scripts.stack", description="the native stack: up, down, status, demo")
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
        from scripts.demo import run_demo

        run_demo()

