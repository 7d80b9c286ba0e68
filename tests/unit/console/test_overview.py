"""The overview page against answers recorded from the live stack."""

import json
from urllib.parse import parse_qs, urlsplit

from harness.console.seen import chart_titles, without_data
from mlotel_contract import DURATION_BUCKETS

RECORDED_MODELS = {"digits", "iris"}


def test_overview_shows_every_model_with_its_links(open_page):
    app, replay = open_page("views/overview.py", "overview")
    assert not app.exception
    assert replay.misses == []
    table = app.dataframe[0].value
    links = {parse_qs(urlsplit(url).query)["model"][0]: url for url in table["model"]}
    assert RECORDED_MODELS <= set(links)
    assert links["digits"] == "/models?model=digits"
    slow = dict(zip(table["model"], table["slow"]))["/models?model=digits"]
    query = parse_qs(urlsplit(slow).query)
    assert urlsplit(slow).path == "/slow" and query["model"] == ["digits"] and query["since"] == ["1h"]
    # From the lower edge of the bucket the p95 lies in: a bucket bound, under the p95 shown.
    p95_ms = dict(zip(table["model"], table["p95"]))["/models?model=digits"]
    assert float(query["min_ms"][0]) in {bound * 1000 for bound in DURATION_BUCKETS}
    assert 0 < float(query["min_ms"][0]) < p95_ms
    assert (table["requests/s"] > 0).all()


def test_overview_draws_the_gauges_and_requests_over_time(open_page):
    app, _ = open_page("views/overview.py", "overview")
    assert chart_titles(app) == ["p95 response time", "error ratio", "API CPU", "requests per second"]
    alerts = app.metric[0]
    assert alerts.label == "active alerts" and alerts.value.isdigit()


def test_overview_tells_a_new_user_where_to_look(open_page):
    app, _ = open_page("views/overview.py", "overview")
    assert "slow predictions" in app.caption[0].value


def test_prometheus_down_is_a_banner_not_a_traceback(open_page):
    app, _ = open_page("views/overview.py", "overview", down={"prometheus"})
    assert not app.exception
    assert "Prometheus" in app.warning[0].value
    assert app.title[0].value == "Overview"


def test_no_traffic_yet_is_a_hint_not_an_empty_table(open_page, monkeypatch):
    without_data(monkeypatch)
    app, replay = open_page("views/overview.py", "overview")
    assert not app.exception and replay.misses == []
    assert not app.dataframe
    assert "mlotel-loadgen" in app.info[0].value


def test_overview_formats_latency_in_milliseconds_and_errors_in_percent(open_page):
    app, _ = open_page("views/overview.py", "overview")
    formats = {name: column.get("type_config", {}).get("format") for name, column in
               json.loads(app.dataframe[0].proto.columns).items()}
    assert formats["p95"] == formats["p99"] == "%.1f ms" and formats["error ratio"] == "percent"
    assert formats["requests/s"] == "%.3g"
    latency = app.dataframe[0].value.set_index("model")["p50"]
    assert latency["/models?model=iris"] > 0.1  # milliseconds: iris answers in about one
