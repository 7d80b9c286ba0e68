"""Notifications that arrive somewhere real. A rule of the alert-rule service (a real
process) fires against the real Prometheus, the real Alertmanager runs the project's own
template, and what its receivers got is checked: the service's webhook
(``GET /notifications``), a Slack-compatible endpoint and an SMTP server on loopback.
Then broken on purpose (marker ``fault``): Alertmanager down while an alert is raised,
and the service killed with SIGKILL while its alert fires."""

from __future__ import annotations

import time

import pytest

from harness.alerting_backends import MetricsTarget, Process, prometheus, running
from harness.notification_receivers import TOKEN, AlertingService, SlackReceiver, SmtpReceiver, alertmanager_from_template
from harness.processes import poll_until

pytestmark = pytest.mark.integration

ALERT = "NotifyTestErrors"
RULES = f"""
rules:
  - name: {ALERT}
    expr: test_error_ratio > 0.5
    labels: {{severity: critical}}
    annotations: {{summary: "{{{{ value | percent }}}} of {{{{ labels.ml_model_name }}}} requests failed"}}
"""
SERIES = 'test_error_ratio{ml_model_name="iris"}'
DELIVERY_TIMEOUT = 60.0


class Receivers:
    """Everything one scenario runs: target, Prometheus, Alertmanager, the service, Slack and SMTP."""

    def __init__(self, tmp_path) -> None:
        self.target, self.slack, self.smtp = MetricsTarget(), SlackReceiver(), SmtpReceiver()
        self.target.values[SERIES] = 0.0
        self.prometheus = prometheus(tmp_path, self.target.port)
        # The service's port is chosen first: Alertmanager's webhook URL names it.
        self.service = AlertingService(tmp_path, RULES, self.prometheus.url, "")
        self.alertmanager: Process = alertmanager_from_template(tmp_path, {
            "ALERT_WEBHOOK_URL": f"{self.service.url}/notifications", "ALERT_WEBHOOK_TOKEN": TOKEN,
            "SLACK_WEBHOOK_URL": self.slack.url, "ALERT_EMAIL_TO": "ml-team@example.org",
            "SMTP_SMARTHOST": f"127.0.0.1:{self.smtp.port}", "SMTP_REQUIRE_TLS": "false"})
        self.service.env["ALERTMANAGER_URL"] = self.alertmanager.url

    def delivered(self, status: str) -> tuple[list, list, list]:
        """What each receiver got for the alert in ``status``: the service's stored notifications,
        Slack attachments, emails."""
        return (self.service.notifications(ALERT, status), self.slack.attachments(ALERT, status),
                self.smtp.mails(ALERT, status))

    def everywhere(self, status: str) -> tuple[list, list, list]:
        return poll_until(lambda: (lambda got: got if all(got) else None)(self.delivered(status)),
                          timeout=DELIVERY_TIMEOUT, interval=0.5)

    def rule_state(self) -> str:
        rule = next(r for r in self.service.get("/rules") if r["name"] == ALERT)
        return rule["state"]


@pytest.fixture
def receivers(tmp_path):
    setup = Receivers(tmp_path)
    setup.smtp.start()
    try:
        with running(setup.prometheus), running(setup.alertmanager), running(setup.service):
            yield setup
    finally:
        setup.smtp.close()
        setup.slack.close()
        setup.target.close()


def assert_one_of_each(got: tuple[list, list, list], status: str) -> None:
    stored, slack, mails = got
    assert len(stored) == 1 and len(slack) == 1 and len(mails) == 1, (status, got)
    assert stored[0]["status"] == status and stored[0]["receiver"] == "webhook"
    assert stored[0]["labels"] == {"alertname": ALERT, "severity": "critical", "ml_model_name": "iris",
                                   "instance": stored[0]["labels"]["instance"], "job": "target"}
    assert "iris" in slack[0]["text"] and "`severity=critical`" in slack[0]["text"] and f"*{ALERT}* {status}" in slack[0]["text"]
    html = mails[0].get_body(preferencelist=("html",)).get_content()
    assert mails[0]["To"] == "ml-team@example.org" and "severity = critical" in html and "ml_model_name = iris" in html


def test_a_critical_alert_reaches_the_webhook_slack_and_email_firing_then_resolved(receivers):
    poll_until(lambda: receivers.rule_state() == "inactive", timeout=30, interval=0.5)
    changed = time.monotonic()
    receivers.target.values[SERIES] = 0.9
    firing = receivers.everywhere("firing")
    time_to_fire = time.monotonic() - changed
    assert_one_of_each(firing, "firing")
    assert firing[0][0]["annotations"]["summary"] == "90.0% of iris requests failed"
    assert "90.0% of iris requests failed" in firing[1][0]["text"] and firing[1][0]["color"] == "danger"

    changed = time.monotonic()
    receivers.target.values[SERIES] = 0.0
    resolved = receivers.everywhere("resolved")
    time_to_resolve = time.monotonic() - changed
    assert_one_of_each(resolved, "resolved")
    assert resolved[0][0]["starts_at"] == firing[0][0]["starts_at"] and resolved[0][0]["ends_at"] is not None
    assert resolved[1][0]["color"] == "good"
    # Nothing came twice: each receiver has exactly this firing and this resolution.
    assert len(receivers.slack.messages) == 2 and len(receivers.smtp.messages) == 2
    print(f"\ndelivered to webhook, Slack and email {time_to_fire:.1f} s after the change (firing), "
          f"{time_to_resolve:.1f} s (resolved)")


@pytest.mark.fault
def test_alerts_raised_while_alertmanager_is_down_are_delivered_after_it_returns(receivers):
    poll_until(lambda: receivers.rule_state() == "inactive", timeout=30, interval=0.5)
    receivers.alertmanager.stop()
    receivers.target.values[SERIES] = 0.9
    poll_until(lambda: receivers.rule_state() == "firing", timeout=30, interval=0.5)
    time.sleep(3)  # a few evaluations whose deliveries fail: Alertmanager is down
    assert receivers.delivered("firing") == ([], [], [])

    returned = time.monotonic()
    receivers.alertmanager.start()
    firing = receivers.everywhere("firing")
    recovered = time.monotonic() - returned
    assert_one_of_each(firing, "firing")

    receivers.target.values[SERIES] = 0.0
    assert_one_of_each(receivers.everywhere("resolved"), "resolved")
    print(f"\nraised while Alertmanager was down; delivered {recovered:.1f} s after it returned")


@pytest.mark.fault
def test_the_service_killed_mid_firing_sends_no_duplicate_and_keeps_its_history(receivers):
    poll_until(lambda: receivers.rule_state() == "inactive", timeout=30, interval=0.5)
    receivers.target.values[SERIES] = 0.9
    firing = receivers.everywhere("firing")
    history = receivers.service.get("/alerts/history", rule=ALERT)
    notifications = receivers.service.get("/notifications")
    assert [row["current"] for row in history][:1] == ["firing"]

    receivers.service.kill()
    killed = time.monotonic()
    receivers.service.start()
    poll_until(lambda: receivers.rule_state() == "firing", timeout=30, interval=0.5)
    back = time.monotonic() - killed
    # The restarted service re-posts its firing alert (same startsAt); Alertmanager must see
    # nothing new. Several group intervals (2 s each) pass, receivers counted after.
    time.sleep(10)
    assert_one_of_each(receivers.delivered("firing"), "firing")
    assert receivers.delivered("firing")[0][0]["starts_at"] == firing[0][0]["starts_at"]
    assert receivers.service.get("/alerts/history", rule=ALERT)[-len(history):] == history
    assert [n["id"] for n in receivers.service.get("/notifications")] == [n["id"] for n in notifications]

    receivers.target.values[SERIES] = 0.0
    assert_one_of_each(receivers.everywhere("resolved"), "resolved")
    assert len(receivers.slack.messages) == 2 and len(receivers.smtp.messages) == 2
    print(f"\nkill -9 mid-firing: serving again {back:.1f} s after, 0 duplicate notifications "
          f"(Slack {len(receivers.slack.messages)}, email {len(receivers.smtp.messages)} messages: one firing, one resolved)")

