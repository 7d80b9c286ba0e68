"""The state of one rule's alert instances, advanced by evaluations at given times.

Each series the rule's query returns is an alert instance, keyed by its label
set. An instance goes inactive → pending (condition true) → firing (true for
``for``) → resolved (false, after ``keep_firing_for``). A resolved instance is
kept until its resolution has been delivered and ``retention`` has passed.

No data and query errors are outcomes of their own (``Outcome``): an alert of
its own, keep every state, or treat as "nothing returned". Never silently.

Nothing here reads the clock: ``apply`` takes the time, so tests drive it.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from enum import StrEnum

from mlotel_alerting.rules import Outcome, Rule
from mlotel_alerting.templating import render
from mlotel_backends.prometheus import Sample


class State(StrEnum):
    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


class Health(StrEnum):
    """How the rule's last evaluation went."""

    UNKNOWN = "unknown"
    OK = "ok"
    NO_DATA = "no_data"
    ERROR = "error"


@dataclass(frozen=True)
class QueryOutcome:
    """What one evaluation's query returned: samples, no data at all, or an error."""

    samples: tuple[Sample, ...] = ()
    no_data: bool = False
    error: str | None = None


def finite(value: float | None) -> float | None:
    """``value``, or None for NaN and infinities (JSON and SQL have no such numbers)."""
    return value if value is not None and math.isfinite(value) else None


def fingerprint(labels: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class Alert:
    rule: str
    labels: dict[str, str]
    state: State
    value: float | None = None
    annotations: dict[str, str] = field(default_factory=dict)
    active_at: float | None = None  # became pending
    fired_at: float | None = None
    resolved_at: float | None = None
    last_true_at: float | None = None  # condition last held (for keep_firing_for)
    sent_state: State | None = None  # what Alertmanager last acknowledged
    last_sent_at: float | None = None

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.labels)


@dataclass(frozen=True)
class Transition:
    rule: str
    labels: dict[str, str]
    previous: State
    current: State
    at: float
    value: float | None


@dataclass
class RuleState:
    """One rule's instances and health. ``apply`` advances it to a new evaluation."""

    rule: Rule
    alerts: dict[str, Alert] = field(default_factory=dict)
    health: Health = Health.UNKNOWN
    last_error: str | None = None
    last_evaluation: float | None = None

    def apply(self, outcome: QueryOutcome, now: float) -> list[Transition]:
        self.last_evaluation = now
        if outcome.error is not None:
            self.health, self.last_error = Health.ERROR, outcome.error
            return self._degraded(self.rule.on_error, "query_error", now)
        self.last_error = None
        if outcome.no_data:
            self.health = Health.NO_DATA
            return self._degraded(self.rule.no_data, "no_data", now)
        self.health = Health.OK
        return self._advance(outcome.samples, now)

    def _degraded(self, outcome: Outcome, reason: str, now: float) -> list[Transition]:
        if outcome is Outcome.KEEP:
            return []
        if outcome is Outcome.OK:
            return self._advance((), now)
        return self._advance((Sample({"alert_reason": reason}, math.nan),), now)

    def _labels(self, sample: Sample) -> dict[str, str]:
        extra = {key: render(text, sample.labels, sample.value) for key, text in self.rule.labels.items()}
        labels = {k: v for k, v in sample.labels.items() if k != "__name__"}
        return {**labels, **extra, "alertname": self.rule.name}

    def _advance(self, samples: tuple[Sample, ...], now: float) -> list[Transition]:
        rule, transitions = self.rule, []

        def move(alert: Alert, state: State) -> None:
            transitions.append(Transition(rule.name, alert.labels, alert.state, state, now, alert.value))
            alert.state = state

        seen = set()
        for sample in samples:
            labels = self._labels(sample)
            key = fingerprint(labels)
            seen.add(key)
            alert = self.alerts.get(key)
            if alert is None or alert.state in (State.INACTIVE, State.RESOLVED):
                alert = self.alerts[key] = Alert(rule.name, labels, State.INACTIVE, active_at=now)
                move(alert, State.PENDING)
            alert.value, alert.last_true_at = sample.value, now
            alert.annotations = {key: render(text, sample.labels, sample.value) for key, text in rule.annotations.items()}
            if alert.state is State.PENDING and now - alert.active_at >= rule.for_:
                alert.fired_at = now
                move(alert, State.FIRING)

        for key, alert in list(self.alerts.items()):
            if key in seen:
                continue
            if alert.state is State.PENDING:
                move(alert, State.INACTIVE)
                del self.alerts[key]
            elif alert.state is State.FIRING and now - alert.last_true_at >= rule.keep_firing_for:
                alert.resolved_at = now
                move(alert, State.RESOLVED)
        return transitions

    def resolve_all(self, now: float) -> list[Transition]:
        """Resolve every pending or firing instance now (rule deleted, or resolved by hand)."""
        transitions = []
        for key, alert in list(self.alerts.items()):
            if alert.state is State.FIRING:
                transitions.append(Transition(self.rule.name, alert.labels, alert.state, State.RESOLVED, now, alert.value))
                alert.state, alert.resolved_at = State.RESOLVED, now
            elif alert.state is State.PENDING:
                transitions.append(Transition(self.rule.name, alert.labels, alert.state, State.INACTIVE, now, alert.value))
                del self.alerts[key]
        return transitions

    def prune(self, now: float, retention: float) -> bool:
        """Forget resolved instances whose resolution was delivered at least ``retention`` ago; True if any."""
        expired = [key for key, alert in self.alerts.items()
                   if alert.state is State.RESOLVED and alert.sent_state in (State.RESOLVED, None)
                   and now - alert.resolved_at >= retention]
        for key in expired:
            del self.alerts[key]
        return bool(expired)

    def active(self) -> list[Alert]:
        """Pending and firing instances."""
        return [alert for alert in self.alerts.values() if alert.state in (State.PENDING, State.FIRING)]

    @property
    def state(self) -> State:
        """The most advanced state of its instances (Prometheus' rule state)."""
        order = [State.INACTIVE, State.RESOLVED, State.PENDING, State.FIRING]
        return max((alert.state for alert in self.alerts.values()), key=order.index, default=State.INACTIVE)
