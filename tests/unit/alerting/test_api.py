"""The REST and WebSocket API, the delivery to Alertmanager, and restarts."""

import time
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

import mlotel_contract as contract
from harness.alerting_fakes import AUTH, make_engine
from mlotel_alerting.main import create_app

IRIS = {"ml_model_name": "iris"}
NEW_RULE = {"expr": "error_ratio > 0.05", "for": "1m", "labels": {"severity": "critical"}}


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- the token -----------------------------------------------------------------------------


def test_changes_without_a_token_are_401_with_a_bearer_challenge(service):
    response = service.put("/rules/ErrorsHigh", json=NEW_RULE)
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in response.json()["message"]
    assert service.delete("/rules/LowConfidence").status_code == 401
    assert service.post("/alerts/LowConfidence/resolve").status_code == 401


def test_a_wrong_token_is_403(service):
    response = service.put("/rules/ErrorsHigh", json=NEW_RULE, headers={"Authorization": "Bearer s3cret-tokeN"})
    assert response.status_code == 403 and response.json()["message"] == "wrong token"
    assert service.get("/rules/ErrorsHigh").status_code == 404


def test_without_a_configured_token_changes_are_refused(settings, backends):
    settings = settings.model_copy(update={"api_token": None})
    with TestClient(create_app(settings, make_engine(settings, backends), run_loop=False)) as client:
        response = client.put("/rules/ErrorsHigh", json=NEW_RULE, headers=AUTH)
    assert response.status_code == 403 and "without ALERTING_API_TOKEN" in response.json()["message"]


def test_reading_needs_no_token(service):
    assert service.get("/rules").status_code == 200 and service.get("/alerts/active").status_code == 200


# -- rules ---------------------------------------------------------------------------------


def test_put_adds_then_replaces_a_rule(service):
    created = service.put("/rules/ErrorsHigh", json=NEW_RULE, headers=AUTH)
    assert created.status_code == 201
    assert created.json()["source"] == "api" and created.json()["rule"]["for"] == 60.0
    replaced = service.put("/rules/ErrorsHigh", json={**NEW_RULE, "for": "2m"}, headers=AUTH)
    assert replaced.status_code == 200 and replaced.json()["rule"]["for"] == 120.0
    names = {rule["name"]: rule["source"] for rule in service.get("/rules").json()}
    assert names["ErrorsHigh"] == "api" and names["LowConfidence"].endswith("ml.yml")


@pytest.mark.parametrize(("body", "status", "message"), [
    ({"expr": "x > 1", "for": "soon"}, 400, "field 'for': a duration is a string like '30s'"),
    ({"expr": "sum(rate(x[5m])"}, 400, "PromQL does not parse"),
    ({"name": "Other", "expr": "x > 1"}, 400, "the body's 'name' differs from the name in the path"),
    ([{"expr": "x"}], 400, "a JSON object"),
    ({"drift": {"selector": "{job="}}, 400, "PromQL does not parse"),
])
def test_bad_rules_are_refused_with_what_is_wrong(service, body, status, message):
    response = service.put("/rules/ErrorsHigh", json=body, headers=AUTH)
    assert response.status_code == status and message in response.json()["message"]
    assert service.get("/rules/ErrorsHigh").status_code == 404


def test_malformed_json_is_400(service):
    response = service.put("/rules/ErrorsHigh", content=b"{expr:", headers={**AUTH, "content-type": "application/json"})
    assert response.status_code == 400 and response.json()["error"] == "malformed_json"


def test_while_prometheus_is_down_the_bundled_parser_checks_new_rules(service, backends):
    backends[0].down = True
    assert service.put("/rules/ErrorsHigh", json=NEW_RULE, headers=AUTH).status_code == 201
    bad = service.put("/rules/Broken", json={"expr": "sum(x"}, headers=AUTH)
    assert bad.status_code == 400 and "PromQL does not parse" in bad.json()["message"]


def test_rules_from_files_cannot_be_changed_over_the_api(service):
    response = service.put("/rules/LowConfidence", json=NEW_RULE, headers=AUTH)
    assert response.status_code == 409 and "ml.yml" in response.json()["message"]
    assert service.delete("/rules/LowConfidence", headers=AUTH).status_code == 409


def test_unknown_rules_are_404(service):
    assert service.delete("/rules/Nope", headers=AUTH).status_code == 404
    assert service.post("/alerts/Nope/resolve", headers=AUTH).json()["error"] == "unknown_rule"


# -- evaluation and delivery ---------------------------------------------------------------


def test_a_firing_alert_reaches_alertmanager_with_times_links_and_annotations(service, backends):
    prometheus, alertmanager = backends
    prometheus.results["low_confidence_ratio > 0.3"] = [(IRIS, 0.45)]
    prometheus.results["p95_seconds > 0.5"] = [(IRIS, 0.8123)]
    service.at(1_000_000)
    posted = {alert["labels"]["alertname"]: alert for alert in alertmanager.alerts}
    low = posted["LowConfidence"]
    assert low["labels"] == {"alertname": "LowConfidence", "ml_model_name": "iris", "severity": "warning"}
    assert low["annotations"] == {"summary": "45.0% low-confidence for iris"}
    assert low["startsAt"] == iso(1_000_000) and low["endsAt"] == iso(1_000_000 + 4 * 60)
    assert low["generatorURL"].startswith("http://127.0.0.1:9090/graph?g0.expr=low_confidence_ratio%20%3E%200.3")
    assert posted["SlowPredictions"]["annotations"]["trace_url"] == "http://127.0.0.1:8501/slow?model=iris&min_ms=812&since=1h"
    active = service.get("/alerts/active").json()
    assert {(a["rule"], a["state"], a["delivered"]) for a in active} == {
        ("LowConfidence", "firing", "firing"), ("SlowPredictions", "firing", "firing")}
    # Past changes link to the same traces, so the console's history opens them too.
    history = service.get("/alerts/history", params={"rule": "SlowPredictions"}).json()
    assert posted["SlowPredictions"]["annotations"]["trace_url"] in {row["trace_url"] for row in history}
    assert all(row["trace_url"].startswith("http://127.0.0.1:8501/slow?model=iris") for row in history)


def test_with_a_trace_ui_the_trace_url_is_a_jaeger_search_for_the_rules_operation(settings, backends):
    settings = settings.model_copy(update={"trace_ui_url": "http://localhost:16686/"})
    prometheus, alertmanager = backends
    prometheus.results["p95_seconds > 0.5"] = [(IRIS, 0.8123)]
    engine = make_engine(settings, backends)
    with TestClient(create_app(settings, engine, run_loop=False)) as client:
        client.portal.call(engine.evaluate, 1000)
        client.portal.call(engine.notify, 1000)
    assert alertmanager.alerts[0]["annotations"]["trace_url"] == (
        "http://localhost:16686/search?service=ml-api&operation=predict%20iris&minDuration=812ms&lookback=1h")


def test_firing_alerts_are_re_sent_each_resend_interval_and_resolutions_once(service, backends):
    prometheus, alertmanager = backends
    prometheus.results["low_confidence_ratio > 0.3"] = [(IRIS, 0.45)]
    service.at(1000)
    service.at(1030)  # within the resend interval: nothing new
    assert len(alertmanager.alerts) == 1
    service.at(1060)
    assert len(alertmanager.alerts) == 2 and alertmanager.alerts[1]["endsAt"] == iso(1060 + 240)
    prometheus.results.clear()
    service.at(1075)
    service.at(1090)
    resolved = alertmanager.alerts[2:]
    assert len(resolved) == 1 and resolved[0]["endsAt"] == iso(1075) and resolved[0]["startsAt"] == iso(1000)


def test_alertmanager_down_keeps_alerts_due_and_delivers_after_recovery(service, backends):
    prometheus, alertmanager = backends
    prometheus.results["low_confidence_ratio > 0.3"] = [(IRIS, 0.45)]
    alertmanager.down = True
    service.at(1000)
    health = service.get("/health").json()["delivery"]
    assert health["failures"] == 1 and "unreachable" in health["last_error"]
    assert service.get("/alerts/summary").json()["undelivered"] == 1
    alertmanager.down = False
    service.at(1015)
    assert [a["startsAt"] for a in alertmanager.alerts] == [iso(1000)]
    assert service.get("/health").json()["delivery"]["last_error"] is None


def test_prometheus_down_is_an_error_state_not_a_resolve(service, backends):
    prometheus, alertmanager = backends
    prometheus.results["low_confidence_ratio > 0.3"] = [(IRIS, 0.45)]
    service.at(1000)
    prometheus.down = True
    service.at(1015)
    rule = service.get("/rules/LowConfidence").json()
    assert rule["health"] == "error" and "unreachable" in rule["last_error"] and rule["state"] == "firing"
    assert service.get("/health").json()["rules_failing"] == ["LowConfidence", "SlowPredictions"]
    assert all(a["endsAt"] != iso(1015) for a in alertmanager.alerts)
    summary = service.get("/metrics/summary")
    assert summary.status_code == 503 and "unreachable" in summary.json()["message"]


def test_deleting_a_rule_resolves_its_alerts_in_alertmanager(service, backends):
    prometheus, alertmanager = backends
    service.put("/rules/ErrorsHigh", json={"expr": "error_ratio > 0.05"}, headers=AUTH)
    prometheus.results["error_ratio > 0.05"] = [(IRIS, 0.2)]
    service.at(1000)
    response = service.delete("/rules/ErrorsHigh", headers=AUTH)  # resolved at the wall-clock time
    assert response.json() == {"deleted": "ErrorsHigh", "resolved": 1}
    service.at(time.time())
    firing, resolution = alertmanager.alerts
    assert resolution["labels"] == firing["labels"] == {"alertname": "ErrorsHigh", "ml_model_name": "iris"}
    assert resolution["startsAt"] == iso(1000) and resolution["endsAt"] < iso(time.time())
    assert service.get("/rules/ErrorsHigh").status_code == 404


def test_resolving_by_hand(service, backends):
    prometheus, alertmanager = backends
    prometheus.results["low_confidence_ratio > 0.3"] = [(IRIS, 0.45)]
    service.at(1000)
    assert service.post("/alerts/LowConfidence/resolve", headers=AUTH).json() == {"rule": "LowConfidence", "resolved": 1}
    assert service.get("/alerts/active").json() == []


def test_history_filters_by_rule_and_time(service, backends):
    prometheus, _ = backends
    prometheus.results["low_confidence_ratio > 0.3"] = [(IRIS, 0.45)]
    service.at(1000)
    prometheus.results = {"p95_seconds > 0.5": [(IRIS, 0.9)]}
    service.at(2000)
    low = service.get("/alerts/history", params={"rule": "LowConfidence"}).json()
    assert [(h["previous"], h["current"]) for h in low] == [("firing", "resolved"), ("pending", "firing"),
                                                           ("inactive", "pending")]
    recent = service.get("/alerts/history", params={"since": iso(1500)}).json()
    assert {(h["rule"], h["current"]) for h in recent} == {("LowConfidence", "resolved"), ("SlowPredictions", "pending"),
                                                           ("SlowPredictions", "firing")}
    assert service.get("/alerts/history", params={"since": "yesterday"}).status_code == 422


def test_metrics_summary_per_model_and_bad_windows(service, backends):
    prometheus, _ = backends
    prometheus.results[contract.latency_quantile(0.95)] = [(IRIS, 0.012)]
    models = service.get("/metrics/summary").json()["models"]
    assert models["iris"]["latency_p95_seconds"] == 0.012 and models["iris"]["request_rate"] is None
    for window in ("0s", "400d"):
        response = service.get("/metrics/summary", params={"window": window})
        assert response.status_code == 400 and response.json()["message"].startswith("window:")
    response = service.get("/metrics/summary", params={"window": "5x"})  # not a duration: the schema's pattern
    assert response.status_code == 422 and response.json()["message"].startswith("query.window:")


def test_metrics_drift_is_one_models_confidence_psi_over_the_window_and_the_one_before(service, backends):
    prometheus, _ = backends
    scope = contract.for_model("iris", "2", contract.Scope(window="10m", by=()))
    prometheus.results[contract.confidence_buckets(scope)] = [({"le": "0.5"}, 90.0), ({"le": "+Inf"}, 100.0)]
    prometheus.results[contract.confidence_buckets(scope, "10m")] = [({"le": "0.5"}, 50.0), ({"le": "+Inf"}, 100.0)]
    answer = service.get("/metrics/drift", params={"model": "iris", "version": "2", "window": "10m"}).json()
    assert answer["le"] == ["0.5", "+Inf"] and answer["recent"] == [90.0, 10.0] and answer["baseline"] == [50.0, 50.0]
    assert answer["statistic"] == "psi" and answer["psi"] == pytest.approx(0.87889, abs=1e-5)  # test_drift's known shift
    assert service.get("/metrics/drift", params={"model": "digits"}).json()["psi"] is None  # no predictions
    assert service.get("/metrics/drift").status_code == 422  # the model is required
    assert service.get("/metrics/drift", params={"model": "iris", "window": "0s"}).status_code == 400


def test_the_websocket_streams_a_snapshot_then_state_changes(service, backends):
    prometheus, _ = backends
    prometheus.results["low_confidence_ratio > 0.3"] = [(IRIS, 0.45)]
    service.at(1000)
    with service.websocket_connect("/ws/alerts") as ws:
        snapshot = ws.receive_json()
        assert snapshot["type"] == "snapshot" and [a["rule"] for a in snapshot["alerts"]] == ["LowConfidence"]
        prometheus.results.clear()
        service.at(1015)
        change = ws.receive_json()
    assert (change["type"], change["rule"], change["previous"], change["current"]) == (
        "transition", "LowConfidence", "firing", "resolved")


# -- restarts ------------------------------------------------------------------------------


def test_a_restart_restores_state_and_sends_no_duplicates(settings, backends):
    prometheus, alertmanager = backends
    prometheus.results["low_confidence_ratio > 0.3"] = [(IRIS, 0.45)]
    with TestClient(create_app(settings, engine := make_engine(settings, backends), run_loop=False)) as client:
        client.portal.call(engine.evaluate, 1000)
        client.portal.call(engine.notify, 1000)
        client.put("/rules/ErrorsHigh", json={"expr": "error_ratio > 0.05"}, headers=AUTH)
    with TestClient(create_app(settings, engine := make_engine(settings, backends), run_loop=False)) as client:
        assert "ErrorsHigh" in {rule["name"] for rule in client.get("/rules").json()}
        assert [(a["rule"], a["fired_at"]) for a in client.get("/alerts/active").json()] == [
            ("LowConfidence", "1970-01-01T00:16:40.000+00:00")]
        client.portal.call(engine.evaluate, 1015)
        client.portal.call(engine.notify, 1015)
        assert len(alertmanager.alerts) == 1  # nothing sent again
        prometheus.results.clear()
        client.portal.call(engine.evaluate, 1030)
        client.portal.call(engine.notify, 1030)
    assert [a["endsAt"] for a in alertmanager.alerts] == [iso(1000 + 240), iso(1030)]


def test_prometheus_metrics_count_alerts_by_rule_and_state(service, backends):
    prometheus, alertmanager = backends
    prometheus.results["low_confidence_ratio > 0.3"] = [(IRIS, 0.45)]
    alertmanager.down = True
    service.at(1000)
    text = service.get("/metrics").text
    assert 'mlotel_alerting_alerts{alertname="LowConfidence",state="firing"} 1.0' in text
    assert 'mlotel_alerting_alerts{alertname="SlowPredictions",state="firing"} 0.0' in text
    assert 'mlotel_alerting_rule_healthy{alertname="LowConfidence",health="ok"} 1.0' in text
    assert "mlotel_alerting_delivery_failures_total 1.0" in text
