"""Slow predictions (``/slow?model=&min_ms=&since=``): the slowest predictions Jaeger
kept, with their stage breakdown, and the latency exemplars Prometheus stored.
Every row and every point opens its trace."""

import math
from datetime import datetime

import pandas as pd
import plotly.express as px
import streamlit as st

from mlotel_console import spans, tables, trace_data, ui
from mlotel_console.settings import settings

ALL = "all models"
MAX_MIN_MS = 3_600_000.0  # an hour: no prediction the API serves waits longer
STAGE_COLUMNS = {f"{name}_ms": st.column_config.NumberColumn(f"{name} ms", format="%.1f") for name in spans.STAGES}


def _set(name: str, key: str, default: str) -> None:
    """A control's new value into the query string (left out when it is the default), so the URL is the view."""
    value = str(st.session_state[key])
    if value in (default, ALL):
        st.query_params.pop(name, None)
    else:
        st.query_params[name] = value


def _controls(models: list[str], model: str, min_ms: float, since: str) -> None:
    options = [ALL, *sorted({*models, model} - {""})]
    left, middle, right = st.columns(3)
    left.selectbox("Model", options, index=options.index(model or ALL), key="slow_model",
                   on_change=_set, args=("model", "slow_model", ALL))
    middle.number_input("At least (ms)", min_value=0.0, value=min_ms, step=50.0, key="slow_min_ms",
                        on_change=_set, args=("min_ms", "slow_min_ms", f"{settings.slow_prediction_ms:g}"))
    right.selectbox("Within", list(ui.TIME_RANGES), index=list(ui.TIME_RANGES).index(since), key="slow_since",
                    on_change=_set, args=("since", "slow_since", "1h"))


def _table(rows: list[dict], data: trace_data.Slow, min_ms: float, since: str) -> None:
    if not rows:
        st.info(f"Jaeger has no prediction in the last {since}." if data.below_minimum
                else f"Jaeger has no prediction of at least {min_ms:g} ms in the last {since}.")
        return
    if data.below_minimum:
        st.warning(f"None of the predictions Jaeger has from the last {since} took {min_ms:g} ms; "
                   f"the slowest it has took {rows[0]['duration_ms']:,.0f} ms. Here they are, slowest first.",
                   icon=":material/arrow_downward:")
    frame = pd.DataFrame(rows)
    frame["trace"] = frame.pop("trace_id").map(ui.trace_url)
    frame["started"] = frame["started"].map(datetime.fromtimestamp)
    columns = ["trace", "started", "duration_ms", *[c for c in STAGE_COLUMNS if c in frame], "model", "batch",
               "request_ms", "status"]
    tables.show(frame[columns], column_config={
        "trace": st.column_config.LinkColumn("trace", display_text=r"([0-9a-f]{32})$"),
        "duration_ms": st.column_config.NumberColumn("predict ms", format="%.1f"),
        "request_ms": st.column_config.NumberColumn("request ms", format="%.1f"),
        **STAGE_COLUMNS})
    if not data.complete:
        # Jaeger's search returns the newest matches, not the slowest: say so rather than miss the slowest.
        st.caption(f"Jaeger returned its {trace_data.SEARCH_LIMIT} newest matches, sorted here by duration; "
                   "raise \"At least\" or shorten \"Within\" to be sure the slowest are among them.")
    elif data.searched_ms > min_ms:
        st.caption(f"More than {trace_data.SEARCH_LIMIT} predictions took at least {min_ms:g} ms: "
                   f"these are all {len(rows)} of at least {data.searched_ms:,.0f} ms, the slowest.")


def _exemplars(points: list[dict], min_ms: float) -> None:
    if not points:
        st.info("Prometheus has no latency exemplar in this time range.")
        return
    frame = pd.DataFrame(points).assign(at=lambda f: f["at"].map(datetime.fromtimestamp))
    # SVG, not the WebGL plotly express picks past 1,000 points: clickable without a GPU (headless, remote desktops).
    figure = px.scatter(frame, x="at", y="duration_ms", color="model", custom_data=["trace_id"], log_y=True,
                        render_mode="svg",
                        labels={"at": "time", "duration_ms": "prediction ms"}, hover_data=["trace_id"])
    low, high = frame["duration_ms"].min(), frame["duration_ms"].max()
    if min_ms > 0:
        # No annotation_text: on a log axis plotly places it in log10 units, far off the chart.
        figure.add_hline(y=min_ms, line_dash="dot")
        low, high = min(low, min_ms), max(high, min_ms)  # the line inside the plot, not over the toolbar
    low, high = low / 1.6, high * 1.6  # a margin, and a range over 2.5x: at least one 1-2-5 tick
    ticks = _log_ticks(low, high)
    figure.update_yaxes(range=[math.log10(low), math.log10(high)],
                        tickvals=ticks, ticktext=[f"{tick:,g}" for tick in ticks])
    figure.update_layout(height=320, margin={"t": 10, "b": 10})
    event = st.plotly_chart(figure, on_select="rerun", selection_mode=("points", "box"), key="slow_exemplars")
    chosen = [point["customdata"][0] for point in event.selection.points]
    if len(chosen) == 1 and not settings.trace_ui_url:
        st.switch_page("views/trace.py", query_params={"trace_id": chosen[0]})
    st.caption(f"Click a point to open its trace. Dotted: {min_ms:g} ms. Exemplars under "
               f"{settings.slow_prediction_ms:g} ms were kept by the tail sampler only "
               f"{settings.trace_sampling_percent:g}% of the time.")
    st.markdown("  \n".join(f"[{trace_id}]({ui.trace_url(trace_id)})" for trace_id in chosen))


def _log_ticks(low: float, high: float) -> list[float]:
    """1, 2, 5 times each power of ten within [low, high]: Plotly's own log ticks label 200 and 500 as "2" and "5"."""
    decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    return [tick for power in decades for tick in (10.0**power, 2 * 10.0**power, 5 * 10.0**power) if low <= tick <= high]


def _params() -> tuple[str, float, str]:
    """model ("" for all), min_ms and since from the query string; nonsense falls back to the defaults."""
    since = st.query_params.get("since", "1h")
    try:
        min_ms = float(st.query_params.get("min_ms", settings.slow_prediction_ms))
    except ValueError:
        min_ms = settings.slow_prediction_ms
    if not 0 <= min_ms <= MAX_MIN_MS:  # also NaN; inf would break the number box, and Jaeger refuses NaN
        min_ms = settings.slow_prediction_ms
    return st.query_params.get("model", ""), min_ms, since if since in ui.TIME_RANGES else "1h"


def body() -> None:
    # Read here, not once per page: an auto-refresh or a control's change reruns only this fragment.
    model, min_ms, since = _params()
    data = trace_data.slow(model, min_ms, ui.TIME_RANGES[since])
    _controls(data.models, model, min_ms, since)
    st.subheader("Slowest first")
    if isinstance(data.predictions, Exception):
        ui.backend_down(data.predictions)
    else:
        _table(data.predictions, data, min_ms, since)
    st.subheader("Latency exemplars")
    if isinstance(data.exemplars, Exception):
        ui.backend_down(data.exemplars)
    else:
        _exemplars(data.exemplars, min_ms)


st.title("Slow predictions")
ui.live(body)
