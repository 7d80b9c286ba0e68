"""The service's own state as Prometheus metrics (``GET /metrics``), for dashboards:

- ``mlotel_alerting_alerts{alertname, state}``: instances per rule in each state
  (pending, firing, resolved), 0 included, so a panel always has series;
- ``mlotel_alerting_rule_healthy{alertname, health}``: 1 for the rule's current health;
- ``mlotel_alerting_delivery_failures_total``: posts to Alertmanager that failed;
- ``mlotel_alerting_feature_drift_{p_value,psi,samples,false_alarm_rate}``: each
  feature's latest input-drift figures per model version (``statistic``
  names the test; ``false_alarm_rate`` is the α the rule alerts at), so that
  dashboards read the numbers the alerts were decided on.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

import mlotel_contract as contract
from mlotel_alerting.engine import Engine
from mlotel_alerting.feature_drift import BY, STATISTIC
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
        yield from self._feature_drift()
        # prometheus_client adds the counter's _total to the name it is given.
        yield CounterMetricFamily(PROM_DELIVERY_FAILURES.removesuffix("_total"), "Failed posts to Alertmanager",
                                  value=self.engine.delivery_failures)

    def _feature_drift(self):
        labels = ["alertname", *BY, contract.STATISTIC]
        families = {
            "p_value": GaugeMetricFamily(contract.PROM_FEATURE_DRIFT_P_VALUE, "P-value of the feature's drift test", labels=labels),
            "psi": GaugeMetricFamily(contract.PROM_FEATURE_DRIFT_PSI, "PSI of the feature's window against its reference", labels=labels),
            "samples": GaugeMetricFamily(contract.PROM_FEATURE_DRIFT_SAMPLES, "Observations the test was computed on", labels=labels),
            "alpha": GaugeMetricFamily(contract.PROM_FEATURE_DRIFT_ALERT_LEVEL, "False-alarm rate the rule alerts at", labels=labels),
        }
        for name, figures in list(self.engine.feature_drift.items()):
            state = self.engine.states.get(name)
            if state is None or state.rule.feature_drift is None:
                continue
            alpha = state.rule.feature_drift.false_alarm_rate
            for figure in figures:
                values = [name, *(figure.labels[key] for key in BY), STATISTIC]
                for key, value in (("p_value", figure.p_value), ("psi", figure.psi), ("samples", figure.samples), ("alpha", alpha)):
                    families[key].add_metric(values, value)
        yield from families.values()


def exposition(engine: Engine) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_EngineCollector(engine))
    return generate_latest(registry)
