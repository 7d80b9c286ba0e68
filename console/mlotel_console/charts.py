"""The console's Plotly charts and table columns, so every page draws time series, gauges, bars and numbers alike."""

from __future__ import annotations

import math

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

HEIGHT = 280
MARGIN = dict(l=10, r=10, t=40, b=10)
# Table columns: rates, shares and durations (values already in milliseconds).
# Three significant digits: a rate over a week can be 0.004/s.
RATE = st.column_config.NumberColumn(format="%.3g")
SHARE = st.column_config.NumberColumn(format="percent")
MILLISECONDS = st.column_config.NumberColumn(format="%.1f ms")
# Under the chart, so long series names (instance ids) do not squeeze the plot.
LEGEND = dict(orientation="h", yanchor="top", y=-0.3, x=0, title=None)


def over_time(frame: pd.DataFrame, color: str, title: str, unit: str = "", scale: float = 1.0,
              stacked: bool = False, empty: str = "No data in this time range yet.") -> None:
    """A line (or stacked area) per ``color`` value over time, values times ``scale`` (into ``unit``);
    ``empty`` says why there is none."""
    if frame.empty:
        st.info(empty, icon=":material/hourglass_empty:")
        return
    # Markers when a series has too few points to draw a line (a week at 60 points, traffic for minutes).
    figure = (px.area if stacked else px.line)(frame.assign(value=frame["value"] * scale), x="time", y="value",
                                               color=color, title=title, height=HEIGHT,
                                               markers=bool(frame.groupby(color).size().min() < 3))
    figure.update_layout(margin=MARGIN, xaxis_title=None, yaxis_title=unit, legend=LEGEND, hovermode="x unified",
                         showlegend=frame[color].nunique() > 1)
    st.plotly_chart(figure, key=title)


def gauge(value: float, title: str, top: float, suffix: str = "", warn: float | None = None) -> None:
    """A dial from 0 to ``top`` (red above ``warn``); "no data" rather than a dial at 0 when ``value`` is NaN."""
    steps = [{"range": [warn, top], "color": "#f8d7da"}] if warn is not None else []
    # ",.3~r": 4,460 ms and 12.3 %, where ".3g" wrote "4.46e+3 ms".
    figure = go.Figure(go.Indicator(
        mode="gauge+number", value=None if math.isnan(value) else value,
        number={"suffix": suffix, "valueformat": ",.3~r"}, title={"text": title},
        gauge={"axis": {"range": [0, max(top, value if not math.isnan(value) else 0)]}, "steps": steps,
               "bar": {"color": "#4c78a8"}},
    ))
    if math.isnan(value):
        figure.add_annotation(text="no data", showarrow=False, font={"size": 18})
    # Side margins wide enough for the axis' end label ("1000").
    figure.update_layout(height=200, margin=dict(l=40, r=40, t=50, b=10))
    st.plotly_chart(figure, key=title)


def bars(frame: pd.DataFrame, x: str, y: list[str] | str, title: str, unit: str = "", x_title: str = "") -> None:
    """Bars of ``y`` per ``x`` (several ``y`` side by side)."""
    figure = px.bar(frame, x=x, y=y, barmode="group", title=title, height=HEIGHT)
    # The legend inside, top left: the bucket names under the bars take the room below, the
    # toolbar the room above, and the low-confidence buckets on the left are nearly empty.
    figure.update_layout(margin=MARGIN, xaxis_title=x_title or x, yaxis_title=unit, xaxis_type="category",
                         legend=dict(yanchor="top", y=1, xanchor="left", x=0.01, title=None,
                                     bgcolor="rgba(255,255,255,0.7)"))
    st.plotly_chart(figure, key=title)


def reliability(frame: pd.DataFrame, title: str) -> None:
    """The reliability diagram: accuracy against mean confidence per bin, the diagonal where they agree,
    each point as large as its bin's share of the scored predictions."""
    figure = go.Figure([
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="calibrated", line={"dash": "dot", "color": "#999"}),
        go.Scatter(x=frame["confidence"], y=frame["accuracy"], mode="lines+markers", name="model",
                   marker={"size": 6 + 24 * frame["scored"] / frame["scored"].max(), "color": "#4c78a8"},
                   customdata=frame[["scored"]], hovertemplate="confidence %{x:.2f}<br>accuracy %{y:.1%}"
                                                               "<br>%{customdata[0]:.0f} scored<extra></extra>"),
    ])
    figure.update_layout(title=title, height=HEIGHT, margin=MARGIN, xaxis_title="mean confidence",
                         yaxis_title="accuracy", xaxis_range=[0, 1.02], yaxis_range=[0, 1.02], legend=LEGEND)
    st.plotly_chart(figure, key=title)
