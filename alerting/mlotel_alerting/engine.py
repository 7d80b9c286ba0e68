"""The evaluation loop: query every rule, advance its state, store it, tell
WebSocket subscribers, and deliver what is due to Alertmanager.

Rules come from the rules directory (read-only at run time) and from the API
(stored in SQLite). ``evaluate``, ``notify`` and the changes from the API take
the time as an argument; ``run`` reads the clock for them (and start-up, to
resolve alerts whose rule is gone).

The engine belongs to the event loop: its methods, and every route that reads
or changes it, run there, so no thread ever sees ``states`` mid-change. What
blocks (SQLite) runs in the storage's own thread (``Storage.call``), with what
it writes snapshotted on the loop first.

One rule's failure is that rule's error state: whatever its query or its
templates raise is caught per rule, and a stored rule that no longer loads is
listed (``invalid``), not a reason for the others to stop. Queries are capped
at ``max_concurrent_queries`` at once, and once Prometheus is found unreachable
in an evaluation the remaining rules take that error without asking again, so
an outage costs one round of timeouts, not one per rule.
"""

from __future__ import annotations

import asyncio
import logging
import time

from mlotel_alerting import drift
from mlotel_alerting.alertmanager import Links, payload, trace_search_url
from mlotel_alerting.hub import Hub
from mlotel_alerting.limits import redact
from mlotel_alerting.promql import data_query, parse_locally
from mlotel_alerting.rules import Rule, load_directory
from mlotel_alerting.settings import Settings
from mlotel_alerting.state import QueryOutcome, RuleState, State, Transition
from mlotel_alerting.storage import AlertRows, Storage, snapshot
from mlotel_backends.alertmanager import Alertmanager, AlertmanagerError
from mlotel_backends.prometheus import Prometheus, PrometheusError, Sample
from mlotel_backends.trace_links import TraceLinks

log = logging.getLogger("alerting")


class RuleConflict(Exception):
    """A change the API cannot make to a rule (it comes from a file)."""


class TooManyRules(Exception):
    """Adding the rule would pass ``max_rules``."""


class Engine:
    def __init__(self, settings: Settings, prometheus: Prometheus, alertmanager: Alertmanager, storage: Storage) -> None:
        self.settings, self.prometheus, self.alertmanager, self.storage = settings, prometheus, alertmanager, storage
        self.file_rules = load_directory(settings.rules_dir)
        self.states: dict[str, RuleState] = {}
        for name, (rule, _) in self.file_rules.items():
            self.states[name] = RuleState(rule)
        stored, invalid = storage.rules()
        for name, rule in stored.items():
            if name in self.file_rules:
                log.warning("stored rule %s is shadowed by %s; the file wins", name, self.file_rules[name][1])
                continue
            self.states[name] = RuleState(rule)
        self.invalid = {name: reason for name, reason in invalid.items() if name not in self.file_rules}
        for name, reason in self.invalid.items():
            log.error("stored rule %s is not evaluated: %s", name, reason)
        self.retired: list[RuleState] = []  # deleted rules whose resolutions are still to be delivered
        self._restore()
        self.delivery_failures = 0
        self.last_delivery_error: str | None = None
        self.last_delivery_at: float | None = None
        self.prometheus_error: str | None = None  # Prometheus unreachable in the last evaluation
        self.loaded_at = time.time()
        self.loop_task: asyncio.Task | None = None  # run(), when main.py started it
        self.evaluation_finished: float | None = None
        self.evaluation_seconds: float | None = None
        self._outage: str | None = None
        self._queries = asyncio.Semaphore(settings.max_concurrent_queries)
        self.links = Links(settings.prometheus_url, settings.external_url, TraceLinks(settings.console_url, settings.trace_ui_url))
        self.hub = Hub()

    def _restore(self) -> None:
        orphans: dict[str, RuleState] = {}
        for alert in self.storage.alerts():
            state = self.states.get(alert.rule)
            if state is None:  # its rule is gone: resolve it
                state = orphans.setdefault(alert.rule, RuleState(Rule(name=alert.rule, expr="vector(0)")))
            state.alerts[alert.fingerprint] = alert
        now = time.time()
        for state in orphans.values():
            self.storage.write_alerts([self._retire(state, now)[1]])

    def _retire(self, state: RuleState, now: float) -> tuple[list[Transition], AlertRows]:
        transitions = state.resolve_all(now)
        self.retired.append(state)
        return transitions, snapshot(state.rule.name, list(state.alerts.values()), transitions)

    def source(self, name: str) -> str:
        return str(self.file_rules[name][1]) if name in self.file_rules else "api"

    def trace_url(self, rule: str, labels: dict[str, str], value: float | None) -> str | None:
        """The traces behind an alert of ``rule`` (the one Alertmanager gets as ``trace_url``), if the rule still exists."""
        state = self.states.get(rule)
        return None if state is None else trace_search_url(self.links.traces, state.rule, labels, value)

    # -- evaluation ---------------------------------------------------------------------------

    async def _query(self, expr: str, now: float) -> list[Sample]:
        async with self._queries:
            if self._outage is not None:
                raise PrometheusError(self._outage, unavailable=True)
            try:
                return await self.prometheus.query(expr, now)
            except PrometheusError as error:
                if error.unavailable:
                    self._outage = str(error)
                raise

    async def _outcome(self, rule: Rule, now: float) -> QueryOutcome:
        try:
            if rule.drift is not None:
                recent, baseline = drift.queries(rule.drift)
                return drift.evaluate(rule.drift, await self._query(recent, now), await self._query(baseline, now))
            samples = await self._query(rule.expr, now)
            if samples:
                return QueryOutcome(tuple(samples))
            data = data_query(rule.expr)
            has_data = data is None or bool(await self._query(data, now))
            return QueryOutcome((), no_data=not has_data)
        except PrometheusError as error:
            return QueryOutcome(error=str(error))
        except Exception as error:  # noqa: BLE001 - one rule's failure is its own error state
            log.exception("rule %s: evaluation failed", rule.name)
            return QueryOutcome(error=f"evaluation failed: {type(error).__name__}")

    @staticmethod
    def _apply(state: RuleState, outcome: QueryOutcome, now: float) -> list[Transition]:
        try:
            return state.apply(outcome, now)
        except Exception as error:  # noqa: BLE001 - as in _outcome: this rule errs, the others go on
            log.exception("rule %s: applying its outcome failed", state.rule.name)
            return state.apply(QueryOutcome(error=f"evaluation failed: {type(error).__name__}"), now)

    async def evaluate(self, now: float) -> list[Transition]:
        started, self._outage = time.monotonic(), None
        states = list(self.states.values())
        outcomes = await asyncio.gather(*(self._outcome(state.rule, now) for state in states))
        transitions, batch = [], []
        for state, outcome in zip(states, outcomes):
            if self.states.get(state.rule.name) is not state:
                continue  # replaced or deleted while its query ran
            changes = self._apply(state, outcome, now)
            if outcome.error:
                log.warning("rule %s: query failed: %s", state.rule.name, outcome.error)
            batch.append(snapshot(state.rule.name, list(state.alerts.values()), changes))
            transitions += changes
        self.prometheus_error = self._outage
        await self.storage.call(self.storage.write_alerts, batch)
        self.hub.publish(transitions)
        self.evaluation_finished, self.evaluation_seconds = time.time(), time.monotonic() - started
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
        writes = []
        for state in [*self.states.values(), *self.retired]:
            # evaluate() stored the rest; only delivery marks and pruning are new here
            if state.prune(now, self.settings.resolved_retention) or id(state) in sent:
                writes.append(snapshot(state.rule.name, list(state.alerts.values()), []))
        self.retired = [state for state in self.retired if state.alerts]
        if writes:
            await self.storage.call(self.storage.write_alerts, writes)
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
        is unreachable the bundled parser judges, so a rule can still be added. The
        rule's limits (``limits.check_promql``) were checked before either sees it."""
        for expr in [rule.expr] if rule.expr is not None else drift.queries(rule.drift):
            try:
                error = await self.prometheus.check(expr)
            except PrometheusError:
                error = parse_locally(expr)
            if error:
                return f"PromQL does not parse: {redact(error)}"
        return None

    async def put_rule(self, rule: Rule, now: float) -> bool:
        """Add or replace an API rule (its instances carry over); True if it is new."""
        if rule.name in self.file_rules:
            raise RuleConflict(f"this rule is defined in {self.file_rules[rule.name][1]}; change it there")
        existing = self.states.get(rule.name)
        if existing is None and len(self.states) >= self.settings.max_rules:
            raise TooManyRules(f"the service holds the limit of {self.settings.max_rules} rules (ALERTING_MAX_RULES)")
        if existing is None:
            self.states[rule.name] = RuleState(rule)
        else:
            self.states[rule.name] = RuleState(rule, existing.alerts, existing.health, existing.last_error,
                                               existing.last_evaluation)
        self.invalid.pop(rule.name, None)
        await self.storage.call(self.storage.save_rule, rule, now)
        return existing is None

    def known(self, name: str) -> bool:
        return name in self.states or name in self.invalid

    async def delete_rule(self, name: str, now: float) -> list[Transition]:
        """Remove an API rule (or a stored one that no longer loads); its alerts resolve (and are
        delivered as resolved)."""
        if name in self.file_rules:
            raise RuleConflict(f"this rule is defined in {self.file_rules[name][1]}; remove it there")
        self.invalid.pop(name, None)
        state = self.states.pop(name, None)
        transitions, rows = self._retire(state, now) if state is not None else ([], None)
        await self.storage.call(self.storage.delete_rule, name)
        if rows is not None:
            await self.storage.call(self.storage.write_alerts, [rows])
        self.hub.publish(transitions)
        return transitions

    async def resolve(self, name: str, now: float) -> list[Transition]:
        """Resolve a rule's alerts by hand; if its condition still holds, the next evaluation starts it again."""
        state = self.states[name]
        transitions = state.resolve_all(now)
        await self.storage.call(self.storage.write_alerts, [snapshot(name, list(state.alerts.values()), transitions)])
        self.hub.publish(transitions)
        return transitions

    async def history(self, rule: str | None, since: float | None, limit: int) -> list[dict]:
        return await self.storage.call(self.storage.history, rule, since, limit)
