"""The resources page against answers recorded from the live stack."""

import json
import statistics

import pytest

import mlotel_contract as mc
from harness.console.recording import RECORDED
from harness.console.seen import chart_titles, without_data


def test_resources_page_draws_process_and_host_over_time(open_page):
    app, replay = open_page("views/resources.py", "resources")
    assert not app.exception
    assert replay.misses == []
    assert chart_titles(app) == ["API process CPU", "API process memory", "host CPU busy, by mode", "host memory by state",
                      "host disk I/O"]


def test_resources_page_lists_the_endpoints(open_page):
    app, _ = open_page("views/resources.py", "resources")
    table = app.dataframe[0].value
    rows = set(zip(table["http_route"], table["http_request_method"]))
    assert ("/predict", "POST") in rows
    # A route asked once (GET /models at start) may read 0: Prometheus' rate cannot see a counter's first increment.
    assert (table["requests/s"] >= 0).all() and dict(zip(table["http_route"], table["requests/s"]))["/predict"] > 0
    # A route without a request in the window has no ratio: then the column is text ("0.00%"), that cell empty.
    ratios = [float(v.rstrip("%")) / 100 if isinstance(v, str) else v for v in table["error ratio"] if v != ""]
    assert ratios and all(0 <= r <= 1 for r in ratios)


def test_prometheus_down_is_a_banner_not_a_traceback(open_page):
    app, _ = open_page("views/resources.py", "resources", down={"prometheus"})
    assert not app.exception
    assert "Prometheus" in app.warning[0].value


def test_no_metrics_yet_are_hints_not_empty_charts(open_page, monkeypatch):
    without_data(monkeypatch)
    app, replay = open_page("views/resources.py", "resources")
    assert not app.exception and replay.misses == []
    assert not app.get("plotly_chart")
    assert "system metrics" in app.info[0].value and "No HTTP requests" in app.info[-1].value


def test_an_endpoints_rate_is_over_the_time_it_served_not_the_whole_range(open_page):
    """Recorded on a stack 10 minutes old: over "1h", /predict's rate is the mean of its chart points
    (rates over one step, from its first request on), not its requests divided by the whole hour."""
    recorded = json.loads((RECORDED / "resources.json").read_text())
    over_time = next(answer["body"]["data"]["result"] for key, answer in recorded.items()
                     if json.loads(key)[2] == "/api/v1/query_range" and mc.PROM_HTTP_DURATION in key)
    predict = next(s for s in over_time if s["metric"].get(mc.ROUTE) == "/predict")
    expected = statistics.fmean(float(v) for _, v in predict["values"])
    app, replay = open_page("views/resources.py", "resources")
    assert replay.misses == []
    table = app.dataframe[0].value
    shown = dict(zip(table[mc.ROUTE], table["requests/s"]))["/predict"]
    assert shown == pytest.approx(expected) and shown > 2  # the load generator's 5/s; the hour's rate read 0.2 to 1
