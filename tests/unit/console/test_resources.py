"""The resources page against answers recorded from the live stack."""

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
    assert (table["requests/s"] > 0).all()
    assert table["error ratio"].between(0, 1).all()


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
