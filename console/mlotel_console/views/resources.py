"""Resources (``/resources``): the API process and its host (CPU, memory, disk I/O) over time, and its HTTP endpoints."""

import streamlit as st

from mlotel_backends.errors import BackendError
from mlotel_console import charts, metrics_data, tables, ui
from mlotel_contract import CPU_MODE, DISK_DIRECTION, MEMORY_STATE, METHOD, ROUTE

st.title("Resources")
st.caption("Latency that grows with CPU or memory points at the host, not the model; "
           "an endpoint with errors points at its callers.")
range_label, seconds = ui.time_range()

MIB = 2**-20
NO_RESOURCES = "No resource metrics in this time range: is the API running with system metrics switched on?"


def endpoints(table) -> None:
    st.subheader(f"HTTP endpoints over the last {range_label}")
    if table.empty:
        st.info(f"No HTTP requests in the last {range_label}.", icon=":material/hourglass_empty:")
        return
    tables.show(
        # A request that matched no route (a 404) has no route label.
        table.assign(p95=table["p95"] * 1000, **{ROUTE: table[ROUTE].replace("", "(no route)")}),
        column_config={
            ROUTE: st.column_config.TextColumn("route"), METHOD: st.column_config.TextColumn("method"),
            "requests/s": charts.RATE, "error ratio": charts.SHARE, "p95": charts.MILLISECONDS,
        },
    )


def body() -> None:
    try:
        data = metrics_data.resources(range_label, seconds)
    except BackendError as error:
        ui.backend_down(error)
        return
    process, host = st.columns(2)
    with process:
        charts.over_time(data["process cpu"], "instance", "API process CPU", "%", 100, empty=NO_RESOURCES)
        charts.over_time(data["process memory"], "instance", "API process memory", "MiB", MIB, empty=NO_RESOURCES)
    with host:
        # Idle left out: the stack's height is then how busy the host is.
        busy = data["host cpu"][data["host cpu"][CPU_MODE] != "idle"]
        charts.over_time(busy, CPU_MODE, "host CPU busy, by mode", "%", 100, stacked=True, empty=NO_RESOURCES)
        charts.over_time(data["host memory"], MEMORY_STATE, "host memory by state", "MiB", MIB, stacked=True,
                         empty=NO_RESOURCES)
    charts.over_time(data["disk io"], DISK_DIRECTION, "host disk I/O", "KiB/s", 2**-10, empty=NO_RESOURCES)
    endpoints(data["endpoints"])


ui.live(body)
