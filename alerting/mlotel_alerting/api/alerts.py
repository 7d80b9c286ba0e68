"""``/alerts``: active alerts, their history and summary; resolving by hand."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from mlotel_alerting.api.deps import EngineDep, RuleName, TokenDep, known_rule
from mlotel_alerting.api.views import alert_view, timestamp
from mlotel_alerting.limits import MAX_NAME_LENGTH
from mlotel_alerting.state import State
from mlotel_service_kit.api_errors import ClientError, error_responses

router = APIRouter(prefix="/alerts", tags=["alerts"])

RuleFilter = Annotated[str | None, Query(max_length=MAX_NAME_LENGTH, description="only this rule's")]


@router.get("/active", responses=error_responses(422))
async def active(engine: EngineDep, rule: RuleFilter = None) -> list[dict]:
    """Pending and firing alerts (optionally of one rule), each with its ``trace_url`` when the rule has a trace search."""
    return [alert_view(alert, engine.trace_url(alert.rule, alert.labels, alert.value)) for state in engine.states.values()
            if rule in (None, state.rule.name) for alert in state.active()]


@router.get("/history", responses=error_responses(422))
async def history(engine: EngineDep, rule: RuleFilter = None,
                  since: Annotated[datetime | float | None, Query(description="RFC 3339 time or Unix seconds")] = None,
                  limit: Annotated[int, Query(ge=1, le=10_000)] = 500) -> list[dict]:
    """State changes, newest first, each with its ``trace_url`` when its rule (still) has a trace search."""
    if isinstance(since, datetime):
        since = since.timestamp()
    rows = await engine.history(rule, since, limit)
    return [{**row, "at": timestamp(row["at"]), "trace_url": engine.trace_url(row["rule"], row["labels"], row["value"])}
            for row in rows]


@router.get("/summary")
async def summary(engine: EngineDep) -> dict:
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


@router.post("/{name}/resolve", dependencies=[TokenDep], responses=error_responses(401, 403, 404, 422))
async def resolve(name: RuleName, engine: EngineDep) -> dict:
    """Resolve the alerts of rule ``name`` now; if its condition still holds they start again at pending."""
    known_rule(engine, name)
    if name not in engine.states:
        raise ClientError(404, "unknown_rule", "this stored rule no longer loads and has no alerts; see /health")
    transitions = await engine.resolve(name, time.time())
    return {"rule": name, "resolved": sum(t.current == "resolved" for t in transitions)}
