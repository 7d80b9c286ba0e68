"""What the overview, models and resources pages read from Prometheus, kept apart
from their layout. Each loader sends all of its queries at once (one
``clients.run``) and is cached for a few seconds by its arguments, so a page
renders in one round trip and auto-refresh does not multiply the load.

Queries come from the metrics contract; here is only which of them, over what
window and at what step. Loaders raise ``BackendError`` when Prometheus fails.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

import pandas as pd
import streamlit as st

import mlotel_contract as mc
from mlotel_backends.errors import BackendError
from mlotel_backends.prometheus import Sample, Series
from mlotel_console import clients
from mlotel_console.loading import gather

# The shortest auto-refresh interval: a refresh never shows older data than this.
TTL = 5
# Points per chart: enough for a smooth line, few enough for a compact answer at any range.
POINTS = 60


def step(seconds: int) -> int:
    """Seconds between a chart's points over the last ``seconds``."""
    return max(seconds // POINTS, 5)


def rate_window(seconds: int) -> str:
    """The rate window of a chart's point: one step, but never under a minute (12 scrapes at 5 s)."""
    return f"{max(step(seconds), 60)}s"


Results = dict[str, Any]  # by key: an instant vector (list[Sample]) or range series (list[Series])


def fetch(now: dict[str, str], over_time: dict[str, str] | None = None, seconds: int = 3600) -> Results:
    """Every query at once: ``now`` as instant vectors, ``over_time`` over the last ``seconds``."""
    over_time = over_time or {}
    end = time.time()

    async def work(c: clients.Clients) -> Results:
        # Every query ends before the clients close; then the first failure is the page's banner.
        answers = await gather(
            *(c.prometheus.query(expr, end) for expr in now.values()),
            *(c.prometheus.query_range(expr, end - seconds, end, step(seconds)) for expr in over_time.values()),
        )
        if failed := next((answer for answer in answers if isinstance(answer, BackendError)), None):
            raise failed
        return dict(zip([*now, *over_time], answers))

    return clients.run(work)


def table(columns: dict[str, list[Sample]], *labels: str) -> pd.DataFrame:
    """One row per label set, one column per query (NaN where a query has no value for that row)."""
    rows: dict[tuple[str, ...], dict] = {}
    for column, samples in columns.items():
        for sample in samples:
            key = tuple(sample.labels.get(label, "") for label in labels)
            rows.setdefault(key, dict(zip(labels, key)))[column] = sample.value
    return pd.DataFrame(list(rows.values()), columns=[*labels, *columns]).sort_values(list(labels), ignore_index=True)


def timeline(series: list[Series], label: str, name: str = "") -> pd.DataFrame:
    """Long-form points (time, value, ``label`` or ``name``) for a Plotly line chart; NaN points dropped."""
    frame = pd.DataFrame(
        [(t, v, s.labels.get(label) or name) for s in series for t, v in s.points if not math.isnan(v)],
        columns=["time", "value", label],
    )
    frame["time"] = pd.to_datetime(frame["time"], unit="s", utc=True)
    return frame


def scalar(samples: list[Sample]) -> float:
    """The single value of an aggregated query, NaN when it returned nothing."""
    return samples[0].value if samples else math.nan


def while_served(rows: pd.DataFrame, column: str, over_time: list[Series], *labels: str) -> None:
    """Replace ``column``, a rate over the whole range, by the mean of the same rate's chart points per row:
    a rate over [1h] divides by the whole hour though the stack may have run three minutes (0.08/s beside a
    chart at 2.5), while the points exist only from the series' first sample on."""
    means = {tuple(s.labels.get(label, "") for label in labels): statistics.fmean(points)
             for s in over_time if (points := [v for _, v in s.points if not math.isnan(v)])}
    rows[column] = [means.get(tuple(key), value) for key, value in zip(rows[list(labels)].itertuples(index=False), rows[column])]


@st.cache_data(ttl=TTL, show_spinner=False)
def overview(range_label: str, seconds: int) -> dict:
    """Per-model numbers over the range, requests/s per model over time, and the gauges (last 5 minutes)."""
    scope, latest = mc.Scope(window=range_label), mc.Scope(by=())
    quantiles = {f"p{round(q * 100)}": mc.latency_quantile(q, scope) for q in mc.QUANTILES}
    data = fetch(
        {"requests/s": mc.request_rate(scope), "error ratio": mc.error_ratio(scope), **quantiles,
         "predictions/s": mc.prediction_rate(scope),
         "gauge p95": mc.latency_quantile(0.95, latest), "gauge errors": mc.error_ratio(latest),
         "gauge cpu": mc.process_cpu(mc.API_SCOPE(by=())), "alerts": mc.active_alerts()},
        {"requests over time": mc.request_rate(mc.Scope(window=rate_window(seconds))),
         "predictions over time": mc.prediction_rate(mc.Scope(window=rate_window(seconds)))},
        seconds,
    )
    models = table({k: data[k] for k in ("requests/s", "error ratio", *quantiles, "predictions/s")}, mc.MODEL)
    while_served(models, "requests/s", data["requests over time"], mc.MODEL)
    while_served(models, "predictions/s", data["predictions over time"], mc.MODEL)
    return {
        "models": models,
        "requests": timeline(data["requests over time"], mc.MODEL),
        "p95": scalar(data["gauge p95"]), "error ratio": scalar(data["gauge errors"]),
        "cpu": scalar(data["gauge cpu"]), "alerts": scalar(data["alerts"]),
    }


@st.cache_data(ttl=TTL, show_spinner=False)
def resources(range_label: str, seconds: int) -> dict:
    """Process and host resources over time, and the HTTP endpoints over the range."""
    window = rate_window(seconds)
    endpoints = mc.ENDPOINTS(window=range_label)
    data = fetch(
        {"requests/s": mc.http_request_rate(endpoints), "error ratio": mc.http_error_ratio(endpoints),
         "p95": mc.http_latency_quantile(0.95, endpoints)},
        {"requests over time": mc.http_request_rate(mc.ENDPOINTS(window=window)),
         "process cpu": mc.process_cpu(), "process memory": mc.process_memory(), "host cpu": mc.host_cpu(),
         "host memory": mc.host_memory(), "disk io": mc.disk_io_rate(mc.API_SCOPE(by=(mc.DISK_DIRECTION,), window=window))},
        seconds,
    )
    endpoints_table = table({k: data[k] for k in ("requests/s", "error ratio", "p95")}, mc.ROUTE, mc.METHOD)
    while_served(endpoints_table, "requests/s", data["requests over time"], mc.ROUTE, mc.METHOD)
    return {
        "endpoints": endpoints_table,
        "process cpu": timeline(data["process cpu"], "instance", "ml-api"),
        "process memory": timeline(data["process memory"], "instance", "ml-api"),
        "host cpu": timeline(data["host cpu"], mc.CPU_MODE),
        "host memory": timeline(data["host memory"], mc.MEMORY_STATE),
        "disk io": timeline(data["disk io"], mc.DISK_DIRECTION),
    }
