"""The alerts page against the alert-rule service's and Alertmanager's answers recorded from the live stack
(with a latency rule firing for digits, and a critical rule that fired and was deleted: both delivered
to the service's webhook, the second firing and resolved)."""

import json

from harness.console.recording import RECORDED
from harness.console.seen import answering, links, text
from mlotel_console.settings import settings

ANSWERS = {json.loads(key)[2]: answer["body"] for key, answer in json.loads((RECORDED / "alerts.json").read_text()).items()}
FIRING = [alert for alert in ANSWERS["/alerts/active"] if alert["state"] == "firing"]
DELIVERED = ANSWERS["/notifications"]


def test_active_alerts_are_named_and_a_model_alert_links_to_its_slow_predictions(open_page):
    app, replay = open_page("views/alerts.py", "alerts")
    assert not app.exception and replay.misses == []
    seen = text(app)
    assert FIRING and all(alert["rule"] in seen for alert in FIRING)
    latency = next(alert for alert in FIRING if alert["labels"].get("ml_model_name") == "digits")
    # The alert-rule service's own trace_url: the link Alertmanager's notifications carry too.
    assert latency["trace_url"] and latency["trace_url"] in links(app, "slow predictions")
    assert "In Alertmanager" in seen and "active" in seen


def test_each_active_rule_has_a_resolve_button_that_needs_the_token(open_page, monkeypatch):
    monkeypatch.setattr(settings, "alerting_api_token", None)
    app, _ = open_page("views/alerts.py", "alerts")
    assert app.text_input[0].label.startswith("API token")
    buttons = {button.label: button for button in app.button}
    assert all(f"Resolve {alert['rule']}" in buttons and buttons[f"Resolve {alert['rule']}"].disabled
               for alert in FIRING)


def test_alert_rule_service_down_is_a_banner_and_alertmanager_still_shows(open_page):
    app, _ = open_page("views/alerts.py", "alerts", down={"alerting"})
    assert not app.exception
    assert any("alert-rule service" in warning.value and "unreachable" in warning.value for warning in app.warning)
    assert any("alertname" not in frame.value and "alert" in frame.value for frame in app.dataframe)


def test_notifications_show_what_was_delivered_when_firing_or_resolved_and_to_which_receiver(open_page):
    app, replay = open_page("views/alerts.py", "alerts")
    assert not app.exception and replay.misses == []
    assert {(n["alertname"], n["status"]) for n in DELIVERED} >= {
        ("console_helper_latency", "firing"), ("console_helper_traffic", "firing"), ("console_helper_traffic", "resolved")}
    [table] = [frame.value for frame in app.dataframe if "receiver" in frame.value]
    shown = set(zip(table["alert"], table["status"], table["receiver"], table["model"]))
    assert shown == {(n["alertname"], n["status"], n["receiver"], n["labels"].get("ml_model_name", "")) for n in DELIVERED}
    # Newest first, with the time each arrived.
    assert list(table["delivered at"]) == sorted(table["delivered at"], reverse=True)
    assert table["delivered at"].min().year >= 2026 and "Notifications delivered" in text(app)


def test_no_notification_yet_says_where_they_would_come_from(open_page, monkeypatch):
    answering(monkeypatch, "/notifications", lambda body: [])
    app, _ = open_page("views/alerts.py", "alerts")
    assert not app.exception
    assert any("No notification has arrived yet" in info.value for info in app.info)


def test_rules_show_their_file_by_name_and_nothing_where_there_is_no_value(open_page):
    app, _ = open_page("views/alerts.py", "alerts")
    (rules,) = [frame.value for frame in app.dataframe if "health" in frame.value]
    assert set(rules["source"]) <= {"ml.yml", "api"} and "ml.yml" in set(rules["source"])
    assert not rules.isin(["None"]).any().any() and rules["last_error"].notna().all()
