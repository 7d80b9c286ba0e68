"""No table cell on any page reads "None": Streamlit draws a missing value (None, NaN, NaT) as a grey
"None" on its canvas, where a person expects an empty cell."""

import json
import math

import pandas as pd
import pytest
import streamlit as st

from harness.console.seen import answering
from mlotel_console import charts, tables
from tests.unit.console.test_slow import QUERY
from tests.unit.console.test_trace import TRACE_ID, UNKNOWN

PAGES = [("views/overview.py", "overview", {}), ("views/models.py", "models", {"model": "iris"}),
         ("views/models.py", "models", {"model": "digits"}), ("views/resources.py", "resources", {}),
         ("views/slow.py", "slow", QUERY), ("views/slow.py", "slow-below-minimum",
                                            {"model": "digits", "min_ms": "600000", "since": "5m"}),
         ("views/trace.py", "trace", {"trace_id": TRACE_ID}), ("views/trace.py", "trace-missing", {"trace_id": UNKNOWN}),
         ("views/alerts.py", "alerts", {})]


def drawn_as_none(element) -> dict[str, list]:
    """Per column, the cells Streamlit draws as "None": missing values, and empty text in a column it
    was told holds numbers or times."""
    table, columns = element.value, json.loads(element.proto.columns or "{}")
    typed = {name for name, c in columns.items() if (c.get("type_config") or {}).get("type") in ("number", "datetime")}
    return {name: list(table[name][table[name].isna() | (table[name].astype(str) == "") if name in typed
                                   else table[name].isna()]) for name in table.columns
            if table[name].isna().any() or (name in typed and (table[name].astype(str) == "").any())}


@pytest.mark.parametrize(("script", "recording", "query"), PAGES, ids=[f"{p[1]}-{'-'.join(p[2].values())}" for p in PAGES])
def test_no_table_cell_is_drawn_as_none(open_page, script, recording, query):
    app, _ = open_page(script, recording, query)
    assert not app.exception
    assert [drawn_as_none(frame) for frame in app.dataframe if drawn_as_none(frame)] == []


def test_a_history_of_no_data_changes_shows_empty_cells_where_a_value_and_a_model_are_missing(open_page, monkeypatch):
    """What a fresh stack's history holds: a rule without a model going pending on no data, without a value."""
    no_data = {"at": "2026-12-06T15:43:13.574+00:00", "rule": "NoPredictionTraffic",
               "labels": {"alertname": "NoPredictionTraffic", "alert_reason": "no_data"},
               "previous": "inactive", "current": "pending", "value": None, "trace_url": None}
    answering(monkeypatch, "/alerts/history", lambda body: [no_data, *body])
    app, _ = open_page("views/alerts.py", "alerts")
    (history,) = [frame.value for frame in app.dataframe if "from" in frame.value]
    first = history.iloc[0]
    assert (first["rule"], first["value"], first["slow predictions"], first["model"]) == ("NoPredictionTraffic", "", "", "")
    assert [drawn_as_none(frame) for frame in app.dataframe if drawn_as_none(frame)] == []


def test_a_service_with_no_rules_says_so(open_page, monkeypatch):
    answering(monkeypatch, "/rules", lambda body: [])
    app, _ = open_page("views/alerts.py", "alerts")
    assert not app.exception
    assert any("has no rules" in info.value for info in app.info)


def test_a_column_with_a_missing_value_is_text_in_the_columns_own_format():
    frame = pd.DataFrame({"rate": [0.004321, math.nan], "share": [0.1234, None], "ms": [12.34, math.nan],
                          "at": pd.to_datetime(["2026-12-06T15:43:13Z", None], utc=True), "link": ["/slow?model=iris", None],
                          "whole": [1.0, 2.0], "none yet": [None, None]})
    config = {"rate": charts.RATE, "share": charts.SHARE, "ms": charts.MILLISECONDS,
              "none yet": st.column_config.NumberColumn("none yet", format="%.4g")}
    shown, columns = tables.as_text(frame, config)
    assert shown.to_dict("list") == {"rate": ["0.00432", ""], "share": ["12.34%", ""], "ms": ["12.3 ms", ""],
                                     "at": ["2026-12-06 15:43:13", ""], "link": ["/slow?model=iris", ""], "whole": [1.0, 2.0],
                                     "none yet": ["", ""]}
    # A number column of text would read "" as missing again: every such column is configured as text.
    assert {name: columns[name]["type_config"]["type"] for name in ("rate", "share", "ms", "at", "none yet")} == dict.fromkeys(
        ("rate", "share", "ms", "at", "none yet"), "text")
    assert columns["rate"]["alignment"] == "right" and columns["none yet"]["alignment"] == "right"
    assert "whole" not in columns and frame["rate"].isna().any()  # untouched: a copy is shown
