"""The slow-predictions page against Jaeger's and Prometheus's answers recorded from the live stack."""

import json
import math

import pytest

from harness.console.seen import links, text

# The recording's view: digits predictions of a second or more in the last 5 minutes (few, so it stays small).
QUERY = {"model": "digits", "min_ms": "1000", "since": "5m"}


def test_slow_predictions_are_slowest_first_each_linked_to_its_trace(open_page):
    app, replay = open_page("views/slow.py", "slow", QUERY)
    assert not app.exception and replay.misses == []
    table = app.dataframe[0].value
    urls = links(app, "trace")
    assert urls and all(url.startswith("/trace?trace_id=") and len(url) == len("/trace?trace_id=") + 32 for url in urls)
    assert list(table["duration_ms"]) == sorted(table["duration_ms"], reverse=True)
    assert (table["duration_ms"] >= 1000).all()
    assert {"preprocess_ms", "inference_ms", "postprocess_ms"} <= set(table)
    assert set(table["model"]) == {"digits"}


def test_exemplars_are_points_on_a_chart(open_page):
    app, _ = open_page("views/slow.py", "slow", QUERY)
    assert app.get("plotly_chart"), "the exemplar chart"
    assert "Click a point to open its trace" in text(app)


def test_controls_show_the_query_string(open_page):
    app, _ = open_page("views/slow.py", "slow", QUERY)
    assert app.number_input(key="slow_min_ms").value == 1000
    assert app.selectbox(key="slow_since").value == "5m"
    assert app.selectbox(key="slow_model").value == "digits"
    assert {"all models", "digits", "iris"} <= set(app.selectbox(key="slow_model").options)


def test_jaeger_down_is_a_banner_naming_it_and_the_exemplars_still_show(open_page):
    app, _ = open_page("views/slow.py", "slow", QUERY, down={"jaeger"})
    assert not app.exception
    assert any("Jaeger" in warning.value for warning in app.warning)
    assert app.get("plotly_chart")


@pytest.mark.parametrize("min_ms", ["1e309", "NaN", "-5", "abc"])
def test_a_minimum_that_is_no_duration_falls_back_to_the_sampling_threshold(open_page, min_ms):
    app, _ = open_page("views/slow.py", "slow", {"model": "digits", "min_ms": min_ms, "since": "5m"})
    assert not app.exception
    assert app.number_input[0].value == 100


def _exemplar_chart(app) -> dict:
    return json.loads(app.get("plotly_chart")[0].proto.spec)


def test_a_minimum_no_prediction_reaches_lists_the_slowest_there_are_and_says_so(open_page):
    # Recorded with 10 minutes as the minimum: Jaeger answered nothing to it, and its slowest to no minimum.
    app, replay = open_page("views/slow.py", "slow-below-minimum", {"model": "digits", "min_ms": "600000", "since": "5m"})
    assert not app.exception and replay.misses == []
    assert any("None of the predictions" in warning.value and "600000 ms" in warning.value for warning in app.warning)
    table = app.dataframe[0].value
    assert len(table) and list(table["duration_ms"]) == sorted(table["duration_ms"], reverse=True)
    # The dotted minimum lies inside the chart's range, not over its toolbar.
    low, high = _exemplar_chart(app)["layout"]["yaxis"]["range"]
    assert low < math.log10(600_000) < high


def test_the_exemplar_axis_is_labelled_in_whole_milliseconds(open_page):
    app, _ = open_page("views/slow.py", "slow", QUERY)
    axis = _exemplar_chart(app)["layout"]["yaxis"]
    assert axis["type"] == "log" and axis["ticktext"]
    assert all(float(label.replace(",", "")) == tick for label, tick in zip(axis["ticktext"], axis["tickvals"]))
    assert {label[0] for label in axis["ticktext"]} <= {"1", "2", "5"} and len(set(axis["ticktext"])) == len(axis["ticktext"])
