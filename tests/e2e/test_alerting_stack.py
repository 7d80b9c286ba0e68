"""End to end: the alert-rule service on the native stack, fed by the real API's telemetry.
Out-of-distribution traffic from the load generator fires the default low-confidence
rule in Alertmanager; normal traffic resolves it; Alertmanager delivers both to its
default receiver, the service's webhook (``GET /notifications``)."""

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from harness.native_stack import ALERTING, alerts
from harness.processes import poll_until

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
RULE = "LowConfidenceRatioHigh"


def traffic(ood_fraction: float, seconds: int) -> subprocess.Popen:
    """Digits predictions in batches of 16, ``ood_fraction`` of them noise images."""
    return subprocess.Popen(
        [sys.executable, "-m", "mlotel_model_server.loadgen", "--models", "digits=1", "--batch-sizes", "16", "--rate", "8",
         "--duration", str(seconds), "--slow-fraction", "0", "--ood-fraction", str(ood_fraction), "--quiet", "--json"],
        cwd=ROOT, stdout=subprocess.DEVNULL,
    )


def firing_in_alertmanager() -> list[dict]:
    return [a for a in alerts() if a["labels"].get("alertname") == RULE and a["labels"].get("ml_model_name") == "digits"]


def notified(status: str, since: float) -> list[dict]:
    """This test's deliveries: an earlier run on the same .run/ leaves its own episodes of the rule."""
    params = {"alertname": RULE, "status": status, "since": since}
    return [n for n in httpx.get(f"{ALERTING}/notifications", params=params, timeout=10).json()
            if n["labels"].get("ml_model_name") == "digits"]


def stopped(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=30)


def test_default_rules_evaluate_cleanly_against_the_live_metrics(native_stack):
    rules = poll_until(lambda: [r for r in httpx.get(f"{ALERTING}/rules", timeout=10).json()
                                if r["last_evaluation"]] or None, timeout=60)
    assert {rule["name"]: rule["health"] for rule in rules if rule["health"] == "error"} == {}


def test_out_of_distribution_traffic_fires_the_low_confidence_alert_and_normal_traffic_resolves_it(native_stack):
    assert not firing_in_alertmanager(), "a low-confidence alert from an earlier run is still active"
    began = time.time()
    changed, load = time.monotonic(), traffic(ood_fraction=0.9, seconds=600)
    try:
        (alert,) = poll_until(firing_in_alertmanager, timeout=300, interval=2)
    finally:
        stopped(load)
    time_to_fire = time.monotonic() - changed
    assert alert["labels"]["severity"] == "warning"
    assert "low-confidence" in alert["annotations"]["summary"] and alert["generatorURL"].startswith("http://127.0.0.1:9090/")
    active = httpx.get(f"{ALERTING}/alerts/active", params={"rule": RULE}, timeout=10).json()
    assert [(a["labels"]["ml_model_name"], a["state"], a["delivered"]) for a in active] == [("digits", "firing", "firing")]

    changed, load = time.monotonic(), traffic(ood_fraction=0.0, seconds=600)
    try:
        poll_until(lambda: not firing_in_alertmanager(), timeout=300, interval=2)
    finally:
        stopped(load)
    time_to_resolve = time.monotonic() - changed
    # Alertmanager's group_wait (10 s) and group_interval (30 s) pass before each notification.
    (firing,) = poll_until(lambda: notified("firing", began), timeout=120, interval=2)
    (resolved,) = poll_until(lambda: notified("resolved", began), timeout=120, interval=2)
    assert firing["receiver"] == resolved["receiver"] == "webhook" and firing["starts_at"] == resolved["starts_at"]
    assert "low-confidence" in firing["annotations"]["summary"] and firing["labels"]["severity"] == "warning"
    history = httpx.get(f"{ALERTING}/alerts/history", params={"rule": RULE}, timeout=10).json()
    assert [(h["previous"], h["current"]) for h in history[:3]] == [
        ("firing", "resolved"), ("pending", "firing"), ("inactive", "pending")]
    print(f"\n{RULE}: in Alertmanager {time_to_fire:.0f} s after OOD traffic began, "
          f"resolved there {time_to_resolve:.0f} s after normal traffic began")


def test_metrics_summary_reports_each_served_model(native_stack):
    models = httpx.get(f"{ALERTING}/metrics/summary", params={"window": "10m"}, timeout=10).json()["models"]
    digits = models["digits"]
    assert digits["request_rate"] > 0 and 0 < digits["latency_p50_seconds"] <= digits["latency_p99_seconds"]
    assert digits["error_ratio"] is not None and 0 <= digits["low_confidence_ratio"] <= 1
