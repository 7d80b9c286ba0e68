"""The evaluation loop: query every rule, advance its state, store it, tell
WebSocket subscribers, and deliver what is due to Alertmanager.

Rules come from the rules directory (read-only at run time) and from the API
(stored in SQLite). ``evaluate``, ``notify`` and the changes from the API take
the time as an argument; ``run`` reads the clock for them (and start-up, to
resolve alerts whose rule is gone).
"""

from __future__ import annotations

import asyncio
import logging
import time

from mlotel_alerting import drift
from mlotel_alerting.alertmanager import payload
from mlotel_alerting.hub import Hub
from mlotel_alerting.promql import data_query, parse_locally
from mlotel_alerting.rules import Rule, load_directory
from mlotel_alerting.settings import Settings
from mlotel_alerting.state import QueryOutcome, RuleState, State, Transition
from mlotel_alerting.storage import Storage
from mlotel_backends.alertmanager import Alertmanager, AlertmanagerError
from mlotel_backends.prometheus import Prometheus, PrometheusError

log = logging.getLogger("alerting")


class RuleConflict(Exception):
    """A change the API cannot make to a rule (it comes from a file)."""


class Engine:
    def __init__(self, settings: Settings, prometheus: Prometheus, alertmanager: Alertmanager, storage: Storage) -> None:
        self.settings, self.prometheus, self.alertmanager, self.storage = settings, prometheus, alertmanager, storage
        self.file_rules = load_directory(settings.rules_dir)
        self.states: dict[str, RuleState] = {}
        for name, (rule, _) in self.file_rules.items():
            self.states[name] = RuleState(rule)
        for name, rule in storage.rules().items():
            if name in self.file_rules:
                log.warning("stored rule %s is shadowed by %s; the file wins", name, self.file_rules[name][1])
                continue
            self.states[name] = RuleState(rule)
        self.retired: list[RuleState] = []  # deleted rules whose resolutions are still to be delivered
        self._restore()
        self.delivery_failures = 0
        self.last_delivery_error: str | None = None
        self.last_delivery_at: float | None = None
        self.links = {"prometheus": settings.prometheus_url, "service": settings.external_url,
                      "console": settings.console_url, "trace_ui": settings.trace_ui_url}
        self.hub = Hub()

    def _restore(self) -> None:
        orphans: dict[str, RuleState] = {}
        for alert in self.storage.alerts():
            state = self.states.get(alert.rule)
            if state is None:  # its rule is gone: resolve it
                state = orphans.setdefault(alert.rule, RuleState(Rule(name=alert.rule, expr="vector(0)")))
            state.alerts[alert.fingerprint] = alert
        for state in orphans.values():
            self._retire(state, time.time())

    def _retire(self, state: RuleState, now: float) -> list[Transition]:
        transitions = state.resolve_all(now)
        self.storage.save_alerts(state.rule.name, list(state.alerts.values()), transitions)
        self.retired.append(state)
        return transitions

    def source(self, name: str) -> str:
        return str(self.file_rules[name][1]) if name in self.file_rules else "api"

    # -- evaluation ---------------------------------------------------------------------------

    async def _outcome(self, rule: Rule, now: float) -> QueryOutcome:
        try:
            if rule.drift is not None:
                recent, baseline = drift.queries(rule.drift)
                return drift.evaluate(rule.drift, await self.prometheus.query(recent, now),
                                      await self.prometheus.query(baseline, now))
            samples = await self.prometheus.query(rule.expr, now)
            if samples:
                return QueryOutcome(tuple(samples))
            data = data_query(rule.expr)
            has_data = data is None or bool(await self.prometheus.query(data, now))
            return QueryOutcome((), no_data=not has_data)
        except PrometheusError as error:
            return QueryOutcome(error=str(error))

    async def evaluate(self, now: float) -> list[Transition]:
        states = list(self.states.values())
        outcomes = await asyncio.gather(*(self._outcome(state.rule, now) for state in states))
        transitions = []
        for state, outcome in zip(states, outcomes):
            if self.states.get(state.rule.name) is not state:
                continue  # replaced or deleted while its query ran
            changes = state.apply(outcome, now)
            if outcome.error:
                log.warning("rule %s: query failed: %s", state.rule.name, outcome.error)
            self.storage.save_alerts(state.rule.name, list(state.alerts.values()), changes)
            transitions += changes
        self.hub.publish(transitions)
        return transitions

    # -- delivery -----------------------------------------------------------------------------

    def due(self, state: RuleState, now: float) -> list:
        due = []
        for alert in state.alerts.values():
            if alert.state is State.FIRING and (
                alert.sent_state is not State.FIRING or now - alert.last_sent_at >= self.settings.resend_interval
            ):
                due.append(alert)
            elif alert.state is State.RESOLVED and alert.sent_state is State.FIRING:
                due.append(alert)
        return due

    async def notify(self, now: float) -> int:
        """Post every due alert; on failure keep them due (retried next time). Returns how many were sent."""
        batches = [(state, self.due(state, now)) for state in [*self.states.values(), *self.retired]]
        batches = [(state, alerts) for state, alerts in batches if alerts]
        body = [payload(alert, state.rule, now, self.settings.resend_interval, self.links)
                for state, alerts in batches for alert in alerts]
        if body:
            try:
                await self.alertmanager.post(body)
            except AlertmanagerError as error:
                self.delivery_failures += 1
                self.last_delivery_error = str(error)
                log.warning("%d alerts not delivered, retrying next evaluation: %s", len(body), error)
                return 0
            self.last_delivery_at, self.last_delivery_error = now, None
            for _, alerts in batches:
                for alert in alerts:
                    alert.sent_state, alert.last_sent_at = alert.state, now
        sent = {id(state) for state, _ in batches} if body else set()
        for state in [*self.states.values(), *self.retired]:
            # evaluate() stored the rest; only delivery marks and pruning are new here
            if state.prune(now, self.settings.resolved_retention) or id(state) in sent:
                self.storage.save_alerts(state.rule.name, list(state.alerts.values()), [])
        self.retired = [state for state in self.retired if state.alerts]
        return len(body)

    async def run(self) -> None:
        while True:
            started = time.time()
            try:
                await self.evaluate(started)
                await self.notify(started)
            except Exception:  # noqa: BLE001 - one bad evaluation must not stop the loop
                log.exception("evaluation failed")
            await asyncio.sleep(max(0.0, self.settings.evaluation_interval - (time.time() - started)))

    # -- changes from the API -----------------------------------------------------------------

    async def check(self, rule: Rule) -> str | None:
        """Why Prometheus would not parse the rule's PromQL, or None. While Prometheus
        is unreachable the bundled parser judges, so a rule can still be added."""
        for expr in [rule.expr] if rule.expr is not None else drift.queries(rule.drift):
            try:
                error = await self.prometheus.check(expr)
            except PrometheusError:
                error = parse_locally(expr)
            if error:
                return f"PromQL does not parse: {error} (in: {expr})"
        return None

    def put_rule(self, rule: Rule, now: float) -> bool:
        """Add or replace an API rule (its instances carry over); True if it is new."""
        if rule.name in self.file_rules:
            raise RuleConflict(f"rule '{rule.name}' is defined in {self.file_rules[rule.name][1]}; change it there")
        self.storage.save_rule(rule, now)
        existing = self.states.get(rule.name)
        if existing is None:
            self.states[rule.name] = RuleState(rule)
            return True
        self.states[rule.name] = RuleState(rule, existing.alerts, existing.health, existing.last_error, existing.last_evaluation)
        return False

    def delete_rule(self, name: str, now: float) -> list[Transition]:
        """Remove an API rule; its alerts resolve (and are delivered as resolved)."""
        if name in self.file_rules:
            raise RuleConflict(f"rule '{name}' is defined in {self.file_rules[name][1]}; remove it there")
        state = self.states.pop(name)
        self.storage.delete_rule(name)
        transitions = self._retire(state, now)
        self.hub.publish(transitions)
        return transitions

    def resolve(self, name: str, now: float) -> list[Transition]:
        """Resolve a rule's alerts by hand; if its condition still holds, the next evaluation starts it again."""
        state = self.states[name]
        transitions = state.resolve_all(now)
        self.storage.save_alerts(name, list(state.alerts.values()), transitions)
        self.hub.publish(transitions)
        return transitions
