"""Overview (``/``): how the served models are doing at a glance, and where to look next."""

import math
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from mlotel_backends.errors import BackendError
from mlotel_console import charts, metrics_data, tables, ui
from mlotel_contract import ERROR_RATIO_ALERT, MODEL, P95_LATENCY_ALERT_SECONDS

# A gauge turns red where the default alert would fire.
P95_LIMIT_MS, ERROR_LIMIT = P95_LATENCY_ALERT_SECONDS * 1000, ERROR_RATIO_ALERT

st.title("Overview")
st.caption("Where to look: a slow model? Open its **slow predictions**. Confidence shifting? Open the **model**. "
           "Something firing? **Alerts**. The API itself struggling? **Resources**.")
range_label, seconds = ui.time_range()


def model_table(models: pd.DataFrame) -> None:
    rows = models.assign(
        model=[f"/models?{urlencode({'model': name})}" for name in models[MODEL]],
        slow=[ui.slower_than_url(name, p95, range_label) for name, p95 in zip(models[MODEL], models["p95"])],
        **{q: models[q] * 1000 for q in ("p50", "p95", "p99")},
    )
    tables.show(
        rows,
        column_order=["model", "requests/s", "predictions/s", "error ratio", "p50", "p95", "p99", "slow"],
        column_config={
            "model": st.column_config.LinkColumn("model", display_text=r"model=(.*)$"),
            "requests/s": charts.RATE, "predictions/s": charts.RATE, "error ratio": charts.SHARE,
            "p50": charts.MILLISECONDS, "p95": charts.MILLISECONDS, "p99": charts.MILLISECONDS,
            "slow": st.column_config.LinkColumn("slow predictions", display_text="slower than p95 ›"),
        },
    )


def body() -> None:
    try:
        data = metrics_data.overview(range_label, seconds)
    except BackendError as error:
        ui.backend_down(error)
        return
    st.subheader("Now (last 5 minutes)")
    p95, errors, cpu, alerts = st.columns(4)
    with p95:
        charts.gauge(data["p95"] * 1000, "p95 response time", 2 * P95_LIMIT_MS, " ms", warn=P95_LIMIT_MS)
    with errors:
        charts.gauge(data["error ratio"] * 100, "error ratio", 4 * ERROR_LIMIT * 100, " %", warn=ERROR_LIMIT * 100)
    with cpu:
        charts.gauge(data["cpu"] * 100, "API CPU", 100, " %", warn=80)
    with alerts:
        st.metric("active alerts", f"{data['alerts']:.0f}" if not math.isnan(data["alerts"]) else "—", border=True)
        st.page_link("views/alerts.py", label="open alerts", icon=":material/notifications:")

    st.subheader(f"Models over the last {range_label}")
    if data["models"].empty:
        st.info(f"No predictions in the last {range_label}. Send some with `mlotel-loadgen`, "
                "or choose a longer time range.", icon=":material/hourglass_empty:")
        return
    model_table(data["models"])
    charts.over_time(data["requests"], MODEL, "requests per second", "requests/s")


ui.live(body)
