"""Faults under the real parts: the alert-rule service as its own process, the Debian
Prometheus and Alertmanager, a webhook that records what Alertmanager delivers.

Prometheus killed (``kill -9``) while an alert fires: every rule shows the error state,
``/health`` says degraded and why, the firing alert is neither resolved by the service nor
expired by Alertmanager (it is re-posted meanwhile), and when Prometheus is back the rules
recover by themselves. docs/reliability.md's Recovery table quotes the figures printed."""

from __future__ import annotations

import time

import httpx
import pytest

from harness.alerting_backends import MetricsTarget, WebhookReceiver, alertmanager, prometheus, running
from harness.alerting_service import running_alerting
from harness.processes import poll_until

pytestmark = [pytest.mark.integration, pytest.mark.fault]

RULES = """
rules:
  - name: LowConfidenceRatioHigh
    expr: test_low_confidence_ratio > 0.3
    labels: {severity: warning}
  - name: ErrorsHigh
    expr: test_error_ratio > 0.5
"""
OUTAGE_SECONDS = 20  # more than Alertmanager's own expiry of an alert not re-posted (4 resends of 2 s)


def test_prometheus_killed_is_an_error_state_no_false_resolve_and_recovers_by_itself(tmp_path):
    target, webhook = MetricsTarget(), WebhookReceiver()
    target.values['test_low_confidence_ratio{ml_model_name="digits"}'] = 0.8
    target.values['test_error_ratio{ml_model_name="digits"}'] = 0.0
    prom, am = prometheus(tmp_path, target.port), alertmanager(tmp_path, webhook.port)
    env = {"ALERTING_EVALUATION_INTERVAL": "1s", "ALERTING_RESEND_INTERVAL": "2s", "ALERTING_QUERY_TIMEOUT": "2",
           "ALERTING_QUERY_RETRIES": "1"}
    with running(prom), running(am), running_alerting(tmp_path, {"PROMETHEUS_URL": prom.url,
                                                                 "ALERTMANAGER_URL": am.url, **env}, RULES) as service:
        client = httpx.Client(base_url=service.url, timeout=5)

        def rules() -> dict[str, dict]:
            return {rule["name"]: rule for rule in client.get("/rules").json()}

        poll_until(lambda: webhook.alerts("LowConfidenceRatioHigh", "firing"), timeout=60, interval=0.5)
        assert client.get("/health").json()["status"] == "ok"

        killed = time.monotonic()
        prom.process.kill()
        prom.process.wait()
        poll_until(lambda: {rule["health"] for rule in rules().values()} == {"error"}, timeout=30, interval=0.2)
        detected = time.monotonic() - killed
        health = client.get("/health").json()
        assert health["status"] == "degraded" and "prometheus_unreachable" in health["reasons"]
        assert "unreachable" in health["prometheus"]["last_error"]
        assert client.get("/health/live").status_code == 200  # degraded, not dead: a restart would not help

        while time.monotonic() - killed < OUTAGE_SECONDS:
            assert rules()["LowConfidenceRatioHigh"]["state"] == "firing"
            assert [a["rule"] for a in client.get("/alerts/active").json()] == ["LowConfidenceRatioHigh"]
            time.sleep(1)
        held = httpx.get(f"{am.url}/api/v2/alerts", params={"active": "true"}, timeout=5).json()
        assert [a["labels"]["alertname"] for a in held] == ["LowConfidenceRatioHigh"]  # re-posted, not expired
        assert not webhook.alerts("LowConfidenceRatioHigh", "resolved")

        restarted = time.monotonic()
        prom.start()
        poll_until(lambda: client.get("/health").json()["status"] == "ok", timeout=60, interval=0.2)
        recovered = time.monotonic() - restarted
        assert {rule["health"] for rule in rules().values()} == {"ok"}
        assert rules()["LowConfidenceRatioHigh"]["state"] == "firing"
        time.sleep(3)  # more than group_interval: a false resolve would have been notified by now
        assert not webhook.alerts("LowConfidenceRatioHigh", "resolved")
        assert len(webhook.alerts("LowConfidenceRatioHigh", "firing")) >= 1
        client.close()
    print(f"\nPrometheus kill -9: error state after {detected:.1f} s; {OUTAGE_SECONDS} s outage, no resolve; "
          f"healthy {recovered:.1f} s after Prometheus was started again")
    target.close()
    webhook.close()
