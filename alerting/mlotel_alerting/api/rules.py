"""``/rules``: the rules, their state and health; adding, replacing and deleting API rules."""

from __future__ import annotations

import json
import time

from fastapi import APIRouter, Request, Response

from mlotel_alerting.api.deps import EngineDep, TokenDep
from mlotel_alerting.api.views import rule_view
from mlotel_alerting.engine import RuleConflict
from mlotel_alerting.rules import RuleError, parse_rule
from mlotel_backends.api_errors import ClientError

router = APIRouter(prefix="/rules", tags=["rules"])


def _known(engine, name: str):
    if name not in engine.states:
        raise ClientError(404, "unknown_rule", f"no rule named '{name}'; GET /rules lists them")
    return engine.states[name]


@router.get("")
def list_rules(engine: EngineDep) -> list[dict]:
    """Every rule with its source (file or api), state, health and last error."""
    return [rule_view(engine, state) for state in engine.states.values()]


@router.get("/{name}")
def get_rule(name: str, engine: EngineDep) -> dict:
    """One rule."""
    return rule_view(engine, _known(engine, name))


_RULE_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "example": {"expr": "ml_model:low_confidence_ratio:rate5m > 0.3", "for": "5m",
                                  "labels": {"severity": "warning"}}}}}}}


@router.put("/{name}", dependencies=[TokenDep], openapi_extra=_RULE_BODY)
async def put_rule(name: str, engine: EngineDep, request: Request, response: Response) -> dict:
    """Add or replace a rule; the body is one rule as in a rules file, as JSON (``name`` optional).
    The body is read as JSON whatever its content type, so ``curl -d`` works."""
    try:
        document = json.loads(await request.body())
    except ValueError as error:
        raise ClientError(400, "malformed_json", f"request body is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise ClientError(400, "invalid_rule", "the body is one rule: a JSON object with 'expr' or 'drift'")
    if document.get("name", name) != name:
        raise ClientError(400, "invalid_rule", f"the body names rule '{document['name']}' but the path '{name}'")
    try:
        rule = parse_rule({**document, "name": name})
    except RuleError as error:
        raise ClientError(400, "invalid_rule", str(error)) from None
    if problem := await engine.check(rule):
        raise ClientError(400, "invalid_expr", f"rule '{name}': {problem}")
    try:
        created = engine.put_rule(rule, time.time())
    except RuleConflict as error:
        raise ClientError(409, "rule_from_file", str(error)) from None
    response.status_code = 201 if created else 200
    return rule_view(engine, engine.states[name])


@router.delete("/{name}", dependencies=[TokenDep])
def delete_rule(name: str, engine: EngineDep) -> dict:
    """Delete an API rule; its firing alerts are resolved in Alertmanager."""
    _known(engine, name)
    try:
        transitions = engine.delete_rule(name, time.time())
    except RuleConflict as error:
        raise ClientError(409, "rule_from_file", str(error)) from None
    return {"deleted": name, "resolved": sum(t.current == "resolved" for t in transitions)}
