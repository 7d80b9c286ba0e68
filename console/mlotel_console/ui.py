"""What every page shares: the time range and auto-refresh (kept in the query
string so a URL reproduces the view), backend-down banners, and trace links."""

from __future__ import annotations

import math
from collections.abc import Callable

import streamlit as st

import mlotel_contract as contract
from mlotel_backends.errors import BackendError
from mlotel_backends.trace_links import TraceLinks
from mlotel_console.settings import settings

# Label -> seconds: minutes (a load test) to a week (drift).
TIME_RANGES = {"5m": 300, "15m": 900, "1h": 3600, "6h": 21_600, "24h": 86_400, "7d": 604_800}
REFRESH = {"off": None, "5s": 5, "15s": 15, "30s": 30}


def _query_param_choice(label: str, name: str, options: list[str], default: str) -> str:
    """A sidebar select box whose value lives in the query string as ``name``."""
    current = st.query_params.get(name, default)
    if current not in options:
        current = default
    choice = st.sidebar.selectbox(label, options, index=options.index(current), key=f"_qp_{name}")
    if choice == default:
        st.query_params.pop(name, None)
    else:
        st.query_params[name] = choice
    return choice


def time_range() -> tuple[str, int]:
    """The page's time range, e.g. ("1h", 3600)."""
    label = _query_param_choice("Time range", "range", list(TIME_RANGES), "1h")
    return label, TIME_RANGES[label]


def refresh_interval() -> int | None:
    """Seconds between automatic refreshes, or None (off)."""
    return REFRESH[_query_param_choice("Auto-refresh", "refresh", list(REFRESH), "off")]


def live(body: Callable[[], None]) -> None:
    """Run the page's ``body``, again every auto-refresh interval when one is chosen."""
    interval = refresh_interval()
    st.fragment(body, run_every=interval)() if interval else body()


def backend_down(error: BackendError) -> None:
    """The banner a panel shows instead of its data when its backend failed."""
    st.warning(f"{error}", icon=":material/cloud_off:")


def trace_url(trace_id: str) -> str:
    """Where a trace opens: the console's trace page, or the configured trace UI (Jaeger's)."""
    return TraceLinks(trace_ui_url=settings.trace_ui_url).trace(trace_id)


def slow_url(model: str = "", min_ms: float | None = None, since: str = "") -> str:
    """The slow predictions of ``model`` (at least ``min_ms``, within ``since`` like "1h")."""
    return TraceLinks(trace_ui_url=settings.trace_ui_url).slow(model, min_ms, since, service=settings.service_name,
                       operation=f"predict {model}" if model else "")


def slower_than_url(model: str, quantile_s: float, since: str) -> str:
    """The predictions of ``model`` slower than its latency quantile ``quantile_s`` (seconds, NaN: none), searched
    from the lower edge of the quantile's histogram bucket, which no interpolation pushes above them."""
    floor = contract.bucket_floor(quantile_s)
    return slow_url(model, None if math.isnan(floor) else floor * 1000, since)
