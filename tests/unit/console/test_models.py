"""The models page against answers recorded from the live stack (model digits, last 5 minutes)."""

import math

from harness.console.seen import chart_titles, without_data
from mlotel_backends.prometheus import Sample
from mlotel_console.model_data import confidence

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
    assert chart_titles(app) == ["digits prediction latency", "confidence distribution", "predictions by label"]


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


def test_confidence_histogram_is_de_cumulated_and_shared_out():
    def buckets(counts):
        return [Sample({"le": le}, value) for le, value in zip(("0.5", "0.9", "+Inf"), counts)]

    frame, index = confidence(buckets([2, 6, 10]), buckets([1, 3, 5]))
    assert list(frame["confidence"]) == ["0–0.5", "0.5–0.9", "0.9–1"]
    assert list(frame["recent"]) == [0.2, 0.4, 0.4] and list(frame["baseline"]) == [0.2, 0.4, 0.4]
    assert index == 0
    _, nothing = confidence(buckets([2, 6, 10]), buckets([0, 0, 0]))
    assert math.isnan(nothing)  # no baseline, no index


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
