"""How alerts and rules look in the API's JSON."""

from __future__ import annotations

from datetime import UTC, datetime

from mlotel_alerting.engine import Engine
from mlotel_alerting.state import Alert, RuleState, finite


def timestamp(seconds: float | None) -> str | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


def alert_view(alert: Alert, trace_url: str | None = None) -> dict:
    """An alert as the API shows it; ``trace_url`` is the traces link Alertmanager also gets."""
    return {
        "rule": alert.rule,
        "state": alert.state,
        "labels": alert.labels,
        "annotations": alert.annotations,
        "value": finite(alert.value),
        "active_at": timestamp(alert.active_at),
        "fired_at": timestamp(alert.fired_at),
        "resolved_at": timestamp(alert.resolved_at),
        "delivered": alert.sent_state,
        "last_delivered_at": timestamp(alert.last_sent_at),
        "trace_url": trace_url,
    }


def rule_view(engine: Engine, state: RuleState) -> dict:
    return {
        "name": state.rule.name,
        "source": engine.source(state.rule.name),
        "state": state.state,
        "health": state.health,
        "last_error": state.last_error,
        "last_evaluation": timestamp(state.last_evaluation),
        "alerts": len(state.alerts),
        "rule": state.rule.as_document(),
    }
