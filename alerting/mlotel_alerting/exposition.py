"""The service's own state as Prometheus metrics (``GET /metrics``), for dashboards:

- ``mlotel_alerting_alerts{alertname, state}``: instances per rule in each state
  (pending, firing, resolved), 0 included, so a panel always has series;
- ``mlotel_alerting_rule_healthy{alertname, health}``: 1 for the rule's current health;
- ``mlotel_alerting_delivery_failures_total``: posts to Alertmanager that failed.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from mlotel_alerting.engine import Engine
from mlotel_alerting.state import State
from mlotel_contract import PROM_ALERTS, PROM_DELIVERY_FAILURES, PROM_RULE_HEALTHY


class _EngineCollector:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self):
        alerts = GaugeMetricFamily(PROM_ALERTS, "Alert instances by rule and state",
                                   labels=["alertname", "state"])
        health = GaugeMetricFamily(PROM_RULE_HEALTHY, "The rule's last evaluation outcome",
                                   labels=["alertname", "health"])
        for name, rule_state in self.engine.states.items():
            for state in (State.PENDING, State.FIRING, State.RESOLVED):
                count = sum(alert.state is state for alert in rule_state.alerts.values())
                alerts.add_metric([name, state.value], count)
            health.add_metric([name, rule_state.health.value], 1)
        yield alerts
        yield health
        # prometheus_client adds the counter's _total to the name it is given.
        yield CounterMetricFamily(PROM_DELIVERY_FAILURES.removesuffix("_total"), "Failed posts to Alertmanager",
                                  value=self.engine.delivery_failures)


def exposition(engine: Engine) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_EngineCollector(engine))
    return generate_latest(registry)
