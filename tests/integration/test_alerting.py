"""The alert-rule service against the real Debian Prometheus and Alertmanager: a rule
fires and resolves through Alertmanager to a webhook; outages of either are explicit
and recovered from; a restart mid-firing neither repeats nor loses a notification."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import httpx
import pytest

from harness.alerting_backends import MetricsTarget, WebhookReceiver, alertmanager, prometheus, running
from harness.processes import poll_until
from mlotel_alerting import drift, feature_drift
from mlotel_alerting.engine import Engine
from mlotel_alerting.main import build_engine
from mlotel_alerting.rules import load_directory
from mlotel_alerting.settings import DEFAULT_RULES, Settings
from mlotel_backends.prometheus import Prometheus, PrometheusError

pytestmark = pytest.mark.integration

RULE = """
rules:
  - name: LowConfidenceRatioHigh
    expr: test_low_confidence_ratio > 0.3
    labels: {severity: warning}
    annotations: {summary: "{{ value | percent }} of {{ labels.ml_model_name }} predictions are low-confidence"}
"""
SERIES = 'test_low_confidence_ratio{ml_model_name="digits"}'


class Stack:
    def __init__(self, tmp_path, target, webhook):
        self.tmp_path, self.target, self.webhook = tmp_path, target, webhook
        self.prometheus = prometheus(tmp_path, target.port)
        self.alertmanager = alertmanager(tmp_path, webhook.port)
        (tmp_path / "rules").mkdir()
        (tmp_path / "rules" / "test.yml").write_text(RULE)
        self.settings = Settings(rules_dir=tmp_path / "rules", db_path=tmp_path / "alerting.sqlite3",
                                 prometheus_url=self.prometheus.url, alertmanager_url=self.alertmanager.url,
                                 resend_interval=60, query_timeout=2, query_retries=2)
        self.loop = asyncio.new_event_loop()

    def engine(self) -> Engine:
        return build_engine(self.settings)

    def step(self, engine: Engine) -> int:
        """One evaluation and delivery now, as the service's loop does; how many alerts were posted."""
        now = time.time()
        self.loop.run_until_complete(engine.evaluate(now))
        return self.loop.run_until_complete(engine.notify(now))

    def until(self, engine: Engine, check, timeout: float = 30.0):
        def stepped():
            self.step(engine)
            return check()
        return poll_until(stepped, timeout=timeout, interval=0.5)

    def close(self, engine: Engine) -> None:
        self.loop.run_until_complete(engine.prometheus.close())
        self.loop.run_until_complete(engine.alertmanager.close())
        engine.storage.close()

    def alertmanager_alerts(self) -> list[dict]:
        return httpx.get(f"{self.alertmanager.url}/api/v2/alerts", timeout=5).json()


@pytest.fixture
def stack(tmp_path):
    target, webhook = MetricsTarget(), WebhookReceiver()
    target.values[SERIES] = 0.05
    stack = Stack(tmp_path, target, webhook)
    with running(stack.prometheus), running(stack.alertmanager):
        yield stack
    stack.loop.close()
    target.close()
    webhook.close()


def instant(timestamp: str) -> datetime:
    """Alertmanager writes one instant two ways: its API with fixed milliseconds
    ("…23.720Z"), its webhook trimmed as Go's RFC 3339 nano ("…23.72Z")."""
    return datetime.fromisoformat(timestamp)


def rule_state(engine: Engine):
    return engine.states["LowConfidenceRatioHigh"]


def test_a_rule_fires_and_resolves_in_alertmanager_and_reaches_the_webhook(stack):
    engine = stack.engine()
    stack.until(engine, lambda: rule_state(engine).health.value == "ok")  # the series is scraped
    assert rule_state(engine).state.value == "inactive"

    changed = time.monotonic()
    stack.target.values[SERIES] = 0.8
    (fired,) = stack.until(engine, lambda: stack.webhook.alerts("LowConfidenceRatioHigh", "firing"))
    time_to_fire = time.monotonic() - changed
    assert fired["labels"] == {"alertname": "LowConfidenceRatioHigh", "ml_model_name": "digits", "severity": "warning",
                               "instance": f"127.0.0.1:{stack.target.port}", "job": "target"}
    assert fired["annotations"]["summary"] == "80.0% of digits predictions are low-confidence"
    assert fired["generatorURL"].startswith(f"{stack.prometheus.url}/graph?g0.expr=test_low_confidence_ratio")

    changed = time.monotonic()
    stack.target.values[SERIES] = 0.1
    (resolved,) = stack.until(engine, lambda: stack.webhook.alerts("LowConfidenceRatioHigh", "resolved"))
    time_to_resolve = time.monotonic() - changed
    assert instant(resolved["startsAt"]) == instant(fired["startsAt"])
    print(f"\nwebhook notified {time_to_fire:.1f} s after the change (firing), {time_to_resolve:.1f} s (resolved)")
    stack.close(engine)


def test_prometheus_down_is_an_error_state_and_recovers(stack):
    engine = stack.engine()
    stack.target.values[SERIES] = 0.8
    stack.until(engine, lambda: stack.webhook.alerts("LowConfidenceRatioHigh", "firing"))
    stack.prometheus.stop()
    stack.step(engine)
    state = rule_state(engine)
    assert state.health.value == "error" and "unreachable" in state.last_error
    assert state.state.value == "firing"  # kept, not silently resolved
    stack.prometheus.start()
    stack.until(engine, lambda: rule_state(engine).health.value == "ok")
    assert rule_state(engine).state.value == "firing" and not stack.webhook.alerts("LowConfidenceRatioHigh", "resolved")
    stack.close(engine)


def test_alertmanager_down_then_delivery_after_recovery(stack):
    engine = stack.engine()
    stack.until(engine, lambda: rule_state(engine).health.value == "ok")
    stack.alertmanager.stop()
    stack.target.values[SERIES] = 0.8
    stack.until(engine, lambda: engine.delivery_failures >= 2)
    assert rule_state(engine).state.value == "firing" and "unreachable" in engine.last_delivery_error
    stack.alertmanager.start()
    stack.until(engine, lambda: stack.webhook.alerts("LowConfidenceRatioHigh", "firing"))
    stack.close(engine)


def test_a_restart_mid_firing_sends_nothing_twice_and_loses_nothing(stack):
    engine = stack.engine()
    stack.target.values[SERIES] = 0.8
    stack.until(engine, lambda: stack.webhook.alerts("LowConfidenceRatioHigh", "firing"))
    (before,) = stack.alertmanager_alerts()
    stack.close(engine)

    engine = stack.engine()  # same database
    assert rule_state(engine).state.value == "firing"
    assert [stack.step(engine) for _ in range(3)] == [0, 0, 0]  # within the resend interval: no re-post
    time.sleep(2.5)  # more than Alertmanager's group_interval: a duplicate would have been notified by now
    assert len(stack.webhook.alerts("LowConfidenceRatioHigh", "firing")) == 1
    (after,) = stack.alertmanager_alerts()
    assert instant(after["startsAt"]) == instant(before["startsAt"])

    stack.target.values[SERIES] = 0.1
    (resolved,) = stack.until(engine, lambda: stack.webhook.alerts("LowConfidenceRatioHigh", "resolved"))
    assert instant(resolved["startsAt"]) == instant(before["startsAt"])
    stack.close(engine)


def test_every_shipped_rule_parses_in_the_real_prometheus(stack):
    client = Prometheus(stack.prometheus.url)
    for rule, _ in load_directory(DEFAULT_RULES).values():
        queries = ([rule.expr] if rule.expr else drift.queries(rule.drift) if rule.drift
                   else feature_drift.queries(rule.feature_drift))
        for expr in queries:
            assert stack.loop.run_until_complete(client.check(expr)) is None, expr
    assert "parse error" in stack.loop.run_until_complete(client.check("sum(rate(x[5m])"))
    stack.loop.run_until_complete(client.close())


def test_a_query_that_prometheus_cannot_run_is_a_query_error_not_an_outage(stack):
    client = Prometheus(stack.prometheus.url, retries=0)
    with pytest.raises(PrometheusError) as caught:
        stack.loop.run_until_complete(client.query('test_low_confidence_ratio[5m]', time.time()))
    assert not caught.value.unavailable and "not an instant vector" in str(caught.value)
    stack.loop.run_until_complete(client.close())
