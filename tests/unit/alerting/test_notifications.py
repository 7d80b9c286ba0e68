"""Alertmanager's webhook at ``POST /notifications`` and the list at ``GET /notifications``.
Real Alertmanager deliveries are in tests/integration/test_notifications.py."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from harness.alerting_fakes import AUTH, make_engine
from mlotel_alerting.api.notifications import MAX_BODY_BYTES
from mlotel_alerting.main import create_app
from mlotel_alerting.notifications import NotificationStore, WebhookPayload

STARTS = "2026-12-02T01:00:00.000Z"


def alert(status="firing", fingerprint="a1b2c3d4e5f60718", alertname="LowConfidence", starts=STARTS, **labels) -> dict:
    return {"status": status, "labels": {"alertname": alertname, "severity": "warning", **labels},
            "annotations": {"summary": "42% low-confidence"}, "startsAt": starts,
            "endsAt": "2026-12-02T01:05:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
            "generatorURL": "http://127.0.0.1:8080/rules/LowConfidence", "fingerprint": fingerprint}


def payload(*alerts: dict, receiver="webhook") -> dict:
    return {"version": "4", "groupKey": '{}:{alertname="LowConfidence"}', "truncatedAlerts": 0,
            "status": alerts[0]["status"], "receiver": receiver, "groupLabels": {"alertname": "LowConfidence"},
            "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9093", "alerts": list(alerts)}


def test_a_delivery_is_kept_and_listed(service):
    response = service.post("/notifications", json=payload(alert()), headers=AUTH)
    assert response.status_code == 200 and response.json() == {"received": 1, "new": 1, "repeated": 0}
    [kept] = service.get("/notifications").json()
    assert kept["alertname"] == "LowConfidence" and kept["status"] == "firing" and kept["receiver"] == "webhook"
    assert kept["labels"]["severity"] == "warning" and kept["annotations"]["summary"] == "42% low-confidence"
    assert kept["fingerprint"] == "a1b2c3d4e5f60718" and kept["deliveries"] == 1
    assert kept["starts_at"].startswith("2026-12-02T01:00:00") and kept["ends_at"] is None
    assert kept["received_at"].endswith("+00:00")


def test_repeats_are_counted_not_kept_twice_and_resolution_is_its_own(service):
    for _ in range(3):
        service.post("/notifications", json=payload(alert()), headers=AUTH)
    answer = service.post("/notifications", json=payload(alert("resolved")), headers=AUTH).json()
    assert answer == {"received": 1, "new": 1, "repeated": 0}
    resolved, firing = service.get("/notifications").json()
    assert (resolved["status"], resolved["deliveries"]) == ("resolved", 1)
    assert (firing["status"], firing["deliveries"]) == ("firing", 3)
    assert resolved["ends_at"].startswith("2026-12-02T01:05:00")
    assert [n["status"] for n in service.get("/notifications", params={"status": "firing"}).json()] == ["firing"]


def test_the_same_alert_firing_again_later_is_a_new_notification(service):
    service.post("/notifications", json=payload(alert()), headers=AUTH)
    service.post("/notifications", json=payload(alert(starts="2026-12-02T02:00:00Z")), headers=AUTH)
    assert len(service.get("/notifications", params={"status": "firing"}).json()) == 2


def test_list_is_newest_first_bounded_and_filtered(service):
    for number in range(5):
        service.post("/notifications", json=payload(alert(fingerprint=f"{number:016x}", alertname=f"Rule{number}")),
                     headers=AUTH)
    names = [n["alertname"] for n in service.get("/notifications", params={"limit": 3}).json()]
    assert names == ["Rule4", "Rule3", "Rule2"]
    assert [n["alertname"] for n in service.get("/notifications", params={"alertname": "Rule1"}).json()] == ["Rule1"]
    assert service.get("/notifications", params={"since": "2999-01-01T00:00:00Z"}).json() == []
    assert service.get("/notifications", params={"limit": 5000}).status_code == 422
    assert service.get("/notifications", params={"status": "pending"}).status_code == 422


def test_the_webhook_needs_the_token(service):
    assert service.post("/notifications", json=payload(alert())).status_code == 401
    assert service.post("/notifications", json=payload(alert()),
                        headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert service.get("/notifications").json() == []


@pytest.mark.parametrize(("body", "status", "error", "where"), [
    (b"{not json", 400, "malformed_json", ""),
    (json.dumps({**payload(alert()), "version": "3"}).encode(), 422, "invalid_notification", "version"),
    (json.dumps({**payload(alert()), "alerts": [{**alert(), "status": "<script>x</script>"}]}).encode(), 422,
     "invalid_notification", "alerts.0.status"),
    (json.dumps(payload({**alert(), "fingerprint": "SECRET-not-hex"})).encode(), 422, "invalid_notification",
     "alerts.0.fingerprint"),
    (json.dumps(payload(alert(**{"SECRET_LABEL": 7}))).encode(), 422, "invalid_notification", "alerts.0.labels"),
    (json.dumps([1, 2]).encode(), 422, "invalid_notification", "body"),
])
def test_bad_payloads_are_4xx_json_that_never_echo_them(service, body, status, error, where):
    response = service.post("/notifications", content=body, headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == status and response.json()["error"] == error
    assert where in response.json()["message"]
    assert "SECRET" not in response.text and "script" not in response.text
    assert service.get("/notifications").json() == []


def test_a_body_over_the_limit_is_413(service):
    huge = payload(alert(summary="x" * 4000))
    huge["alerts"] = [alert(fingerprint=f"{n:016x}", note="y" * 4000) for n in range(MAX_BODY_BYTES // 4000 + 10)]
    response = service.post("/notifications", json=huge, headers=AUTH)
    assert response.status_code == 413 and response.json()["error"] == "body_too_large"
    assert "yyyy" not in response.text


def test_notifications_outlive_a_restart(settings, backends):
    with TestClient(create_app(settings, make_engine(settings, backends), run_loop=False)) as client:
        client.post("/notifications", json=payload(alert()), headers=AUTH)
    with TestClient(create_app(settings, make_engine(settings, backends), run_loop=False)) as client:
        client.post("/notifications", json=payload(alert()), headers=AUTH)
        [kept] = client.get("/notifications").json()
    assert kept["deliveries"] == 2


def test_concurrent_deliveries_of_one_alert_are_kept_once(tmp_path):
    store = NotificationStore(tmp_path / "n.sqlite3")
    delivery = WebhookPayload.model_validate(payload(alert(), alert(fingerprint="ffff000000000000")))
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: store.record(delivery), range(40)))
    assert sum(new for new, _ in results) == 2 and sum(repeated for _, repeated in results) == 78
    assert sorted(n["deliveries"] for n in store.list()) == [40, 40]
    store.close()


def test_the_store_keeps_the_newest(tmp_path, monkeypatch):
    monkeypatch.setattr("mlotel_alerting.notifications.MAX_KEPT", 3)
    store = NotificationStore(tmp_path / "n.sqlite3")
    for number in range(5):
        store.record(WebhookPayload.model_validate(payload(alert(fingerprint=f"{number:016x}",
                                                                 alertname=f"Rule{number}"))))
    assert [n["alertname"] for n in store.list()] == ["Rule4", "Rule3", "Rule2"]
    store.close()


def test_a_body_over_the_limit_without_a_length_is_413(service):
    chunks = (b" " * 65536 for _ in range(MAX_BODY_BYTES // 65536 + 2))
    response = service.post("/notifications", content=chunks, headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["error"] == "body_too_large"


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                    max_leaves=20)


@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(alert_fields=st.dictionaries(st.sampled_from(["status", "labels", "annotations", "startsAt", "endsAt",
                                                     "generatorURL", "fingerprint"]), JSON),
       top=st.dictionaries(st.sampled_from(["version", "groupKey", "status", "receiver", "alerts"]), JSON))
def test_whatever_the_payload_the_answer_is_200_or_a_json_4xx(service, alert_fields, top):
    body = {**payload(alert()), **top}
    if isinstance(body.get("alerts"), list) and body["alerts"] and isinstance(body["alerts"][0], dict):
        body["alerts"][0] = {**body["alerts"][0], **alert_fields}
    response = service.post("/notifications", json=body, headers=AUTH)
    assert response.status_code == 200 or (400 <= response.status_code < 500 and "error" in response.json())
