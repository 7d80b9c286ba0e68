"""End to end: labels sent back through POST /feedback, half of them wrong, fire the default
AccuracyBelowFloor rule through the real collector, Prometheus, the alert-rule service and
Alertmanager, which delivers it to the service's webhook (``GET /notifications``)."""

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
RULE = "AccuracyBelowFloor"


def digits_alerts() -> list[dict]:
    return [a for a in alerts() if a["labels"].get("alertname") == RULE and a["labels"].get("ml_model_name") == "digits"]


def test_labels_that_say_the_model_is_wrong_half_the_time_fire_the_accuracy_alert(native_stack):
    began = time.time()
    # Every prediction's label back at once, half of them another class: accuracy 50%, under the 80% floor.
    # Digits, so that iris keeps the accuracy the browser test expects of the traffic fixture.
    load = subprocess.Popen(
        [sys.executable, "-m", "mlotel_model_server.loadgen", "--models", "digits=1", "--batch-sizes", "1", "--rate", "8",
         "--duration", "600", "--slow-fraction", "0", "--ood-fraction", "0", "--feedback-share", "1",
         "--feedback-delay", "0", "--label-noise", "0.5", "--quiet", "--json"],
        cwd=ROOT, stdout=subprocess.DEVNULL,
    )
    try:
        (alert,) = poll_until(digits_alerts, timeout=420, interval=2)
    finally:
        load.terminate()
        load.wait(timeout=30)
    fired_after = time.time() - began
    assert alert["labels"]["severity"] == "critical"
    assert "is right on" in alert["annotations"]["summary"] and "%" in alert["annotations"]["summary"]
    params = {"alertname": RULE, "status": "firing", "since": began}
    delivered = poll_until(lambda: [n for n in httpx.get(f"{ALERTING}/notifications", params=params, timeout=10).json()
                                    if n["labels"].get("ml_model_name") == "digits"] or None, timeout=120, interval=2)
    assert delivered[0]["receiver"] == "webhook"
    print(f"\n{RULE}: in Alertmanager {fired_after:.0f} s after wrong labels began")
