"""``/rules``: the rules, their state and health; adding, replacing and deleting API rules."""

from __future__ import annotations

import time

import pydantic_core
from fastapi import APIRouter, Request, Response

from mlotel_alerting.api.deps import EngineDep, RuleName, TokenDep, known_rule
from mlotel_alerting.api.views import rule_view
from mlotel_alerting.engine import RuleConflict, TooManyRules
from mlotel_alerting.rules import Rule, RuleError, parse_rule
from mlotel_service_kit.api_errors import MAX_JSON_DEPTH, ClientError, error_responses

router = APIRouter(prefix="/rules", tags=["rules"])

# The body's schema, with the limits on every field; main.py adds the models it refers to.
RULE_SCHEMAS = Rule.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
SCHEMAS = RULE_SCHEMAS.pop("$defs", {})
RULE_SCHEMAS["required"] = [field for field in RULE_SCHEMAS.get("required", []) if field != "name"]
SCHEMAS["Rule"] = RULE_SCHEMAS
_RULE_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/Rule"},
    "example": {"expr": "ml_model:low_confidence_ratio:rate5m > 0.3", "for": "5m", "labels": {"severity": "warning"}}}}}}


@router.get("")
async def list_rules(engine: EngineDep) -> list[dict]:
    """Every rule with its source (file or api), state, health and last error."""
    return [rule_view(engine, state) for state in engine.states.values()]


@router.get("/{name}", responses=error_responses(404, 422))
async def get_rule(name: RuleName, engine: EngineDep) -> dict:
    """One rule."""
    known_rule(engine, name)
    if name not in engine.states:
        raise ClientError(404, "unknown_rule", "this stored rule no longer loads and is not evaluated; see /health")
    return rule_view(engine, engine.states[name])


def _document(body: bytes) -> dict:
    """The body as a JSON object; the parser refuses nesting past its limit instead of recursing."""
    try:
        document = pydantic_core.from_json(body)
    except ValueError as error:
        if "recursion limit" in str(error):
            raise ClientError(400, "json_too_deep", f"request body nests deeper than the limit of {MAX_JSON_DEPTH} levels") from None
        raise ClientError(400, "malformed_json", f"request body is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise ClientError(400, "invalid_rule", "the body is one rule: a JSON object with 'expr' or 'drift'")
    return document


@router.put("/{name}", dependencies=[TokenDep], openapi_extra=_RULE_BODY,
            responses={201: {"description": "created"}, **error_responses(400, 401, 403, 409, 413, 422)})
async def put_rule(name: RuleName, engine: EngineDep, request: Request, response: Response) -> dict:
    """Add or replace a rule; the body is one rule as in a rules file, as JSON (``name`` optional).
    The body is read as JSON whatever its content type, so ``curl -d`` works. Its size, the
    expression's length and nesting and the templates' sizes are checked before any parser runs."""
    document = _document(await request.body())
    if document.get("name", name) != name:
        raise ClientError(400, "invalid_rule", "the body's 'name' differs from the name in the path")
    try:
        rule = parse_rule({**document, "name": name})
    except RuleError as error:
        raise ClientError(400, "invalid_rule", str(error)) from None
    if problem := await engine.check(rule):
        raise ClientError(400, "invalid_expr", problem)
    try:
        created = await engine.put_rule(rule, time.time())
    except RuleConflict as error:
        raise ClientError(409, "rule_from_file", str(error)) from None
    except TooManyRules as error:
        raise ClientError(409, "too_many_rules", str(error)) from None
    response.status_code = 201 if created else 200
    return rule_view(engine, engine.states[name])


@router.delete("/{name}", dependencies=[TokenDep], responses=error_responses(401, 403, 404, 409, 422))
async def delete_rule(name: RuleName, engine: EngineDep) -> dict:
    """Delete an API rule; its firing alerts are resolved in Alertmanager."""
    known_rule(engine, name)
    try:
        transitions = await engine.delete_rule(name, time.time())
    except RuleConflict as error:
        raise ClientError(409, "rule_from_file", str(error)) from None
    return {"deleted": name, "resolved": sum(t.current == "resolved" for t in transitions)}
