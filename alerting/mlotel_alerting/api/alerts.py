"""``/alerts``: active alerts, their history and summary; resolving by hand."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime

from fastapi import APIRouter, Query

from mlotel_alerting.api.deps import EngineDep, TokenDep
from mlotel_alerting.api.views import alert_view, timestamp
from mlotel_alerting.state import State
from mlotel_backends.api_errors import ClientError

router = APIRouter(prefix="/alerts", tags=["alerts"])

@router.get("/active")
def active(engine: EngineDep, rule: str | None = None) -> list[dict]:
    """Pending and firing alerts (optionally of one rule)."""
    return [alert_view(alert) for state in engine.states.values() if rule in (None, state.rule.name)
            for alert in state.active()]


@router.get("/history")
def history(engine: EngineDep, rule: str | None = None, since: datetime | None = Query(
        None, description="RFC 3339 time or Unix seconds"), limit: int = Query(500, ge=1, le=10_000)) -> list[dict]:
    """State changes, newest first."""
    rows = engine.storage.history(rule, since.timestamp() if since else None, limit)
    return [{**row, "at": timestamp(row["at"])} for row in rows]


@router.get("/summary")
def summary(engine: EngineDep) -> dict:
    """Counts of alerts by state, by rule and by severity, and the rules' health."""
    alerts = [alert for state in engine.states.values() for alert in state.alerts.values()]
    active = [alert for state in engine.states.values() for alert in state.active()]
    return {
        "by_state": dict(Counter(alert.state.value for alert in alerts)),
        "firing_by_rule": dict(Counter(a.rule for a in active if a.state is State.FIRING)),
        "active_by_severity": dict(Counter(a.labels.get("severity", "none") for a in active)),
        "rules_by_health": dict(Counter(state.health.value for state in engine.states.values())),
        "undelivered": sum(len(engine.due(state, time.time())) for state in engine.states.values()),
    }


@router.post("/{name}/resolve", dependencies=[TokenDep])
def resolve(name: str, engine: EngineDep) -> dict:
    """Resolve the alerts of rule ``name`` now; if its condition still holds they start again at pending."""
    if name not in engine.states:
        raise ClientError(404, "unknown_rule", f"no rule named '{name}'; GET /rules lists them")
    transitions = engine.resolve(name, time.time())
    return {"rule": name, "resolved": sum(t.current == "resolved" for t in transitions)}
