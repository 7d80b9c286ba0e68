"""The alerts page against the alert-rule service's and Alertmanager's answers recorded from the live stack
(with a latency rule firing for digits)."""

import json

from mlotel_console.settings import settings
from tests.unit.console.recording import RECORDED
from tests.unit.console.seen import links, text

FIRING = [alert for key, answer in json.loads((RECORDED / "alerts.json").read_text()).items()
          if json.loads(key)[2] == "/alerts/active" for alert in answer["body"] if alert["state"] == "firing"]


def test_active_alerts_are_named_and_a_model_alert_links_to_its_slow_predictions(open_page):
    app, replay = open_page("views/alerts.py", "alerts")
    assert not app.exception and replay.misses == []
    seen = text(app)
    assert FIRING and all(alert["rule"] in seen for alert in FIRING)
    latency = next(alert for alert in FIRING if alert["labels"].get("ml_model_name") == "digits")
    # A latency rule searches traces by its value: the link asks for predictions at least that slow.
    assert f"/slow?model=digits&min_ms={latency['value'] * 1e3:g}&since=1h" in links(app, "slow predictions")
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
