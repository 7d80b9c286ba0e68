"""Input drift end to end on real processes: the ML API bins its inputs, the real gateway
collector exports the counts to the real Prometheus, the alert-rule service (a real
process, the shipped FeatureDrift rule with a one-minute window) tests every feature, and
the real Alertmanager delivers the alert to the service's notifications list. The load
generator shifts one iris feature by half a standard deviation; the other iris features and
every digits feature stay as in training, and none of them alerts."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

import mlotel_contract as contract
from harness.alerting_backends import prometheus, running
from harness.collectors import Gateway
from harness.model_server import running_api
from harness.notification_receivers import TOKEN, AlertingService, alertmanager_from_template
from harness.processes import ROOT, free_port, poll_until
from mlotel_alerting.settings import DEFAULT_RULES

pytestmark = pytest.mark.integration

DRIFTED = "petal width (cm)"


def feature_drift_rule() -> str:
    """The shipped rule, its window shortened so that a test minute is a window."""
    rules = yaml.safe_load((DEFAULT_RULES / "ml.yml").read_text())["rules"]
    rule = next(r for r in rules if r["name"] == "FeatureDrift")
    rule["feature_drift"]["window"], rule["for"] = "1m", "5s"
    return yaml.safe_dump({"rules": [rule]})


def figures(service_url: str) -> dict[tuple[str, str], dict[str, float]]:
    """The service's drift figures per (model, feature), from its /metrics."""
    names = {contract.PROM_FEATURE_DRIFT_PSI: "psi", contract.PROM_FEATURE_DRIFT_P_VALUE: "p",
             contract.PROM_FEATURE_DRIFT_SAMPLES: "n"}
    found: dict[tuple[str, str], dict[str, float]] = {}
    for family in text_string_to_metric_families(httpx.get(f"{service_url}/metrics", timeout=5).text):
        for sample in family.samples:
            if sample.name in names:
                key = (sample.labels[contract.MODEL], sample.labels[contract.FEATURE])
                found.setdefault(key, {})[names[sample.name]] = sample.value
    return found


def test_a_shifted_feature_alerts_alone_through_alertmanager(tmp_path):
    exporter = free_port()
    gateway = Gateway(tmp_path, 0, jaeger_otlp=f"127.0.0.1:{free_port()}",
                      settings={"COLLECTOR_PROMETHEUS_ENDPOINT": f"127.0.0.1:{exporter}"})
    service = AlertingService(tmp_path, feature_drift_rule(), "", "")
    prom = prometheus(tmp_path, exporter, service.port)
    service.env["PROMETHEUS_URL"] = prom.url
    manager = alertmanager_from_template(tmp_path, {"ALERT_WEBHOOK_URL": f"{service.url}/notifications",
                                                    "ALERT_WEBHOOK_TOKEN": TOKEN})
    service.env["ALERTMANAGER_URL"] = manager.url
    api_env = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{gateway.otlp_grpc}", "OTEL_METRIC_EXPORT_INTERVAL": "1000"}
    with gateway, running(prom), running(manager), running(service), \
            running_api(free_port(), api_env, log=tmp_path / "api.log") as api:
        load = subprocess.Popen(
            [sys.executable, "-m", "mlotel_model_server.loadgen", "--url", api, "--rate", "20", "--duration", "90",
             "--batch-sizes", "16", "--slow-fraction", "0", "--ood-fraction", "0", "--drift", f"iris:{DRIFTED}=0.5@0",
             "--json", "--quiet"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        try:
            firing = poll_until(lambda: service.notifications("FeatureDrift", "firing"), timeout=80, interval=1)
            seen = figures(service.url)
            # Prometheus scrapes the same figures, for the console and Grafana.
            query = contract.feature_drift(contract.PROM_FEATURE_DRIFT_PSI)
            scraped = poll_until(lambda: httpx.get(f"{prom.url}/api/v1/query", params={"query": query},
                                                   timeout=5).json()["data"]["result"], timeout=30, interval=1)
        finally:
            summary = json.loads(load.communicate(timeout=120)[0])
    assert summary["failed"] == 0, summary
    assert {(n["labels"][contract.MODEL], n["labels"][contract.FEATURE]) for n in firing} == {("iris", DRIFTED)}
    assert "PSI" in firing[0]["annotations"]["summary"] and "p < 0.001" in firing[0]["annotations"]["description"]
    # Every tracked feature of both models was tested but for a digits pixel almost always 0,
    # whose rare bin expects fewer than 5 in a minute's window (no data), and only the shifted one drifts.
    assert sum(model == "iris" for model, _ in seen) == 4 and sum(model == "digits" for model, _ in seen) >= 6
    drifting = {key for key, f in seen.items() if f["p"] < contract.FEATURE_DRIFT_FALSE_ALARM_RATE
                and f["psi"] >= contract.FEATURE_DRIFT_MIN_PSI}
    assert drifting == {("iris", DRIFTED)}, seen
    assert all(f["n"] >= 100 for f in seen.values())
    assert any(r["metric"][contract.FEATURE] == DRIFTED and float(r["value"][1]) >= 0.2 for r in scraped)
