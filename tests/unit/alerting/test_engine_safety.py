"""The service under what a client can send or a backend can do: limits answered as JSON
4xx without the input, one rule's failure kept to that rule, queries capped, honest health,
the WebSocket's Origin checked. The real process is tested in tests/integration/test_hostile_alerting.py."""

import asyncio
import json

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from harness.alerting_fakes import AUTH, make_engine
from mlotel_alerting.main import create_app
from mlotel_alerting.storage import Storage

IRIS = {"ml_model_name": "iris"}


def refused(response: httpx.Response, status: int, error: str, *not_in_body: str) -> dict:
    assert response.status_code == status, response.text[:300]
    body = response.json()
    assert set(body) == {"error", "message", "details"} and body["error"] == error
    for text in not_in_body:
        assert text not in response.text
    return body


def test_a_body_over_the_limit_is_413(service):
    body = json.dumps({"expr": "x > 1", "annotations": {"a": "x" * 70_000}})
    refused(service.put("/rules/Big", content=body, headers=AUTH), 413, "body_too_large")


def test_json_nested_past_the_parsers_limit_is_400_not_a_recursion_error(service):
    body = '{"expr": "x > 1", "labels": ' + "[" * 5_000 + "]" * 5_000 + "}"
    refused(service.put("/rules/Deep", content=body, headers=AUTH), 400, "json_too_deep")


def test_a_deep_expression_never_reaches_a_parser(service, backends):
    before = backends[0].requests
    body = refused(service.put("/rules/Deep", json={"expr": "(" * 2_000 + "x" + ")" * 2_000}, headers=AUTH),
                   400, "invalid_rule", "((((")
    assert "nests deeper than the limit of 64" in body["message"] and backends[0].requests == before


def test_parse_errors_do_not_repeat_the_expression(service):
    body = refused(service.put("/rules/Bad", json={"expr": 'sum(x{a="<script>"}'}, headers=AUTH), 400, "invalid_expr",
                   "<script>")
    assert body["message"].startswith("PromQL does not parse")


def test_404s_do_not_repeat_the_name(service):
    name = "Unknown_" + "x" * 100
    for response in (service.get(f"/rules/{name}"), service.delete(f"/rules/{name}", headers=AUTH),
                     service.post(f"/alerts/{name}/resolve", headers=AUTH)):
        refused(response, 404, "unknown_rule", name)
    refused(service.get("/rules/" + "<script>"), 422, "invalid_request", "<script>")


def test_rules_past_the_count_limit_are_409(settings, backends):
    settings = settings.model_copy(update={"max_rules": 3})
    with TestClient(create_app(settings, make_engine(settings, backends), run_loop=False)) as client:
        assert client.put("/rules/Third", json={"expr": "x > 1"}, headers=AUTH).status_code == 201
        body = refused(client.put("/rules/Fourth", json={"expr": "x > 1"}, headers=AUTH), 409, "too_many_rules")
        assert "limit of 3 rules" in body["message"]
        assert client.put("/rules/Third", json={"expr": "x > 2"}, headers=AUTH).status_code == 200  # replacing is fine


def test_a_wrong_method_is_405_with_every_method_of_the_path(service):
    response = service.post("/rules/LowConfidence")
    refused(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "DELETE, GET, PUT"


def test_the_websocket_refuses_a_foreign_origin(service):
    with pytest.raises(WebSocketDisconnect) as caught, service.websocket_connect(
            "/ws/alerts", headers={"origin": "https://evil.example"}):
        pass
    assert caught.value.code == 1008
    for origin in ("http://testserver", "http://127.0.0.1:8501"):  # its own, the console's
        with service.websocket_connect("/ws/alerts", headers={"origin": origin}) as ws:
            assert ws.receive_json()["type"] == "snapshot"


def test_a_configured_origin_is_let_in(settings, backends):
    settings = settings.model_copy(update={"allowed_origins": ["https://alerts.example.org"]})
    with TestClient(create_app(settings, make_engine(settings, backends), run_loop=False)) as client, \
            client.websocket_connect("/ws/alerts", headers={"origin": "https://alerts.example.org"}) as ws:
        assert ws.receive_json()["type"] == "snapshot"


def test_active_alerts_carry_the_trace_url_alertmanager_gets(service, backends):
    prometheus, alertmanager = backends
    prometheus.results["p95_seconds > 0.5"] = [(IRIS, 0.8123)]
    service.at(1000)
    (active,) = service.get("/alerts/active").json()
    assert active["trace_url"] == alertmanager.alerts[0]["annotations"]["trace_url"] == (
        "http://127.0.0.1:8501/slow?model=iris&min_ms=812&since=1h")


# -- one rule's failure ------------------------------------------------------------------------


def test_an_exception_in_one_rule_is_its_error_state(service, backends, monkeypatch):
    prometheus, _ = backends
    prometheus.results["low_confidence_ratio > 0.3"] = [(IRIS, 0.45)]
    real = service.engine._query

    async def failing(expr, now):
        if expr.startswith("p95"):
            raise RecursionError("maximum recursion depth exceeded")
        return await real(expr, now)

    monkeypatch.setattr(service.engine, "_query", failing)
    service.at(1000)
    rules = {rule["name"]: rule for rule in service.get("/rules").json()}
    assert rules["SlowPredictions"]["health"] == "error"
    assert rules["SlowPredictions"]["last_error"] == "evaluation failed: RecursionError"
    assert rules["LowConfidence"]["health"] == "ok" and rules["LowConfidence"]["state"] == "firing"


def test_a_stored_rule_that_no_longer_loads_does_not_stop_the_others(settings, backends):
    storage = Storage(settings.db_path)
    too_deep = {"name": "Old", "expr": "(" * 1_500 + "x" + ")" * 1_500}  # stored before the limits
    storage._db.execute("INSERT INTO rules VALUES (?, ?, ?)", ("Old", json.dumps(too_deep), 0))
    storage.close()
    engine = make_engine(settings, backends)
    with TestClient(create_app(settings, engine, run_loop=False)) as client:
        client.portal.call(engine.evaluate, 1000)
        health = client.get("/health").json()
        assert health["status"] == "degraded" and health["reasons"] == ["stored_rules_invalid"]
        assert "nests deeper" in health["stored_rules_invalid"]["Old"]
        assert {rule["health"] for rule in client.get("/rules").json()} == {"ok"}
        assert client.delete("/rules/Old", headers=AUTH).status_code == 200
        assert client.get("/health").json()["status"] == "ok"


def test_queries_are_capped_and_an_outage_is_asked_once_per_evaluation(settings, backends, tmp_path):
    settings = settings.model_copy(update={"max_concurrent_queries": 4})
    engine = make_engine(settings, backends)
    state = {"now": 0, "most": 0, "asked": 0, "down": False}

    async def prometheus(request: httpx.Request) -> httpx.Response:
        state["asked"] += 1
        if state["down"]:
            raise httpx.ConnectError("connection refused")
        state["now"] += 1
        state["most"] = max(state["most"], state["now"])
        await asyncio.sleep(0.01)
        state["now"] -= 1
        return httpx.Response(200, json={"status": "success", "data": {"resultType": "vector", "result": []}})

    engine.prometheus._client._transport = httpx.MockTransport(prometheus)

    async def scenario():
        for i in range(200):
            await engine.put_rule(engine.states["LowConfidence"].rule.model_copy(update={"name": f"R{i}"}), 0)
        await engine.evaluate(1000)
        assert 1 < state["most"] <= 4
        state["down"], state["asked"] = True, 0
        await engine.evaluate(1015)
        assert state["asked"] <= 4  # the ones already started; the rest take the outage's error
        assert {s.health.value for s in engine.states.values()} == {"error"} and engine.prometheus_error

    with TestClient(create_app(settings, engine, run_loop=False)) as client:
        client.portal.call(scenario)


# -- health ----------------------------------------------------------------------------------


def test_health_is_degraded_and_says_why(service, backends):
    prometheus, alertmanager = backends
    prometheus.results["low_confidence_ratio > 0.3"] = [(IRIS, 0.45)]
    service.at(1000)
    assert service.get("/health").json()["status"] == "ok"
    alertmanager.down = True
    prometheus.down = True
    service.at(1060)
    health = service.get("/health")
    assert health.status_code == 200
    assert health.json()["status"] == "degraded"
    assert health.json()["reasons"] == ["prometheus_unreachable", "rules_failing", "delivery_failing"]
    assert "unreachable" in health.json()["prometheus"]["last_error"]
    prometheus.down = alertmanager.down = False
    service.at(1075)
    recovered = service.get("/health").json()
    assert (recovered["status"], recovered["reasons"]) == ("ok", [])


def test_readiness_waits_for_the_first_evaluation_and_liveness_for_a_running_loop(service):
    refused(service.get("/health/ready"), 503, "not_ready")
    assert service.get("/health/live").json() == {"status": "live"}  # no loop in these tests: nothing stuck
    service.at(1000)
    assert service.get("/health/ready").json() == {"status": "ready"}


def test_liveness_fails_when_the_loop_has_stopped(service):
    async def stopped():
        service.engine.loop_task = asyncio.create_task(asyncio.sleep(0))
        await service.engine.loop_task

    service.portal.call(stopped)
    refused(service.get("/health/live"), 503, "not_live")
