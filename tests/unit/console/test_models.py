"""The models page against answers recorded from the live stack (model digits, last 5 minutes)."""

import math

from harness.console.seen import chart_titles, without_data
from mlotel_backends.prometheus import Sample
from mlotel_console.model_data import confidence
from mlotel_console.outcome_data import reliability
from mlotel_contract import CONFIDENCE_BIN

# As recorded: 5 minutes, so that the window before (the drift baseline) had traffic too.
VIEW = {"model": "digits", "range": "5m"}


def test_models_page_shows_the_chosen_model(open_page):
    app, replay = open_page("views/models.py", "models", VIEW)
    assert not app.exception
    assert replay.misses == []
    assert app.selectbox(key="_qp_model").value == "digits"
    assert "iris" in app.selectbox(key="_qp_model").options
    assert app.selectbox(key="_qp_version").value == ""
    assert app.query_params["model"] == "digits"
    assert chart_titles(app) == ["digits prediction latency", "confidence distribution", "predictions by label",
                                 "digits accuracy over time", "digits reliability diagram"]


def test_models_page_formats_confidence_drift_and_batches(open_page):
    app, _ = open_page("views/models.py", "models", VIEW)
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["low-confidence predictions"].endswith("%")
    psi = metrics["confidence drift (PSI)"]
    assert float(psi) >= 0  # the 5 minutes before had traffic too
    assert all(part.isdigit() for part in metrics["batch size p50 / p95 / p99"].split(" / "))


def test_models_page_links_to_the_model_s_slow_predictions(open_page):
    app, _ = open_page("views/models.py", "models", VIEW)
    link = next(md.value for md in app.markdown if "Slow predictions of digits" in md.value)
    assert "(/slow?model=digits&min_ms=" in link and "&since=5m)" in link


def test_prometheus_down_is_a_banner_not_a_traceback(open_page):
    app, _ = open_page("views/models.py", "models", VIEW, down={"prometheus"})
    assert not app.exception
    assert "Prometheus" in app.warning[0].value


def test_the_services_drift_is_shown_as_shares_per_bucket():
    answer = {"le": ["0.5", "0.9", "+Inf"], "recent": [2.0, 4.0, 4.0], "baseline": [1.0, 2.0, 2.0], "psi": 0.0}
    frame, index = confidence(answer)
    assert list(frame["confidence"]) == ["0–0.5", "0.5–0.9", "0.9–1"]
    assert list(frame["recent"]) == [0.2, 0.4, 0.4] and list(frame["baseline"]) == [0.2, 0.4, 0.4]
    assert index == 0
    _, nothing = confidence({**answer, "baseline": [0.0, 0.0, 0.0], "psi": None})
    assert math.isnan(nothing)  # no baseline, no index


def test_the_alert_rule_service_down_leaves_the_rest_of_the_page(open_page):
    app, _ = open_page("views/models.py", "models", VIEW, down={"alerting"})
    assert not app.exception
    assert app.warning[0].value.startswith("Confidence drift unavailable: alert-rule service")
    assert {metric.label: metric.value for metric in app.metric}["confidence drift (PSI)"] == "—"
    # What Prometheus answers stays: latency, labels and the outcome charts.
    titles = chart_titles(app)
    assert titles[:2] == ["digits prediction latency", "predictions by label"]
    assert {"digits accuracy over time", "digits reliability diagram"} <= set(titles)


def test_no_model_served_yet_is_a_hint(open_page, monkeypatch):
    without_data(monkeypatch)
    app, _ = open_page("views/models.py", "models", VIEW)
    assert not app.exception
    assert "No model has served a prediction" in app.info[0].value


def test_a_model_without_traffic_in_the_url_is_said_and_another_shown(open_page):
    app, _ = open_page("views/models.py", "models", {**VIEW, "model": "retired"})
    assert not app.exception
    assert app.warning[0].value == "The model in the link has served no prediction recently; showing digits."
    assert app.query_params["model"] == "digits"


def test_models_page_says_whether_the_model_is_right(open_page):
    """As recorded: the load generator sent half the labels back, 15% of them changed (accuracy 85%)."""
    app, _ = open_page("views/models.py", "models", VIEW)
    metrics = {metric.label: metric.value for metric in app.metric}
    accuracy = float(metrics["realized accuracy"].rstrip("%"))
    assert 70 <= accuracy <= 97, accuracy
    assert metrics["estimated accuracy"].endswith("%") and metrics["label coverage"].endswith("%")
    assert 0 <= float(metrics["calibration error (ECE)"]) < 1
    assert metrics["label delay (median)"].endswith(" s")
    assert "Is the model right?" in [header.value for header in app.subheader]


def test_the_reliability_table_keeps_bins_with_scored_predictions_in_confidence_order():
    def per_bin(values):
        return [Sample({CONFIDENCE_BIN: b}, v) for b, v in values.items()]

    frame = reliability(per_bin({"0.9": 0.95, "0.5": 0.6, "0.2": float("nan")}),
                        per_bin({"0.9": 0.93, "0.5": 0.55, "0.2": float("nan")}),
                        per_bin({"0.9": 40.0, "0.5": 10.0, "0.2": 0.0}))
    assert list(frame["bin"]) == [0.5, 0.9]
    assert list(frame["accuracy"]) == [0.6, 0.95] and list(frame["scored"]) == [10.0, 40.0]
