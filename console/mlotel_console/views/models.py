"""Models (``/models?model=&version=``): one model's latency, confidence and its drift, labels and batch sizes,
and whether it is right (accuracy from feedback, calibration, labels: :mod:`mlotel_console.outcome_view`)."""

import math

import streamlit as st

from mlotel_backends.errors import BackendError
from mlotel_console import charts, model_data, ui
from mlotel_console.outcome_view import outcome_section
from mlotel_contract import LABEL

# The default alert rules' thresholds (alerting/mlotel_alerting/default_rules/ml.yml): low-confidence share, drift.
LOW_CONFIDENCE_LIMIT, PSI_LIMIT = 0.3, 0.2

st.title("Models")
range_label, seconds = ui.time_range()


def selected(label: str, name: str, options: list[str], shown=str) -> str:
    """A select box kept in the query parameter ``name`` (always, so the URL names what is shown)."""
    current = st.query_params.get(name)
    choice = st.selectbox(label, options, index=options.index(current) if current in options else 0,
                          format_func=shown, key=f"_qp_{name}")
    if choice:
        st.query_params[name] = choice
    else:
        st.query_params.pop(name, None)
    return choice


def percent(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.1%}"


def drift(index: float) -> str:
    if math.isnan(index):
        return "not enough data"
    return "stable" if index < 0.1 else "moderate shift" if index < PSI_LIMIT else "real shift"


def body(model: str, version: str) -> None:
    try:
        data = model_data.model_detail(model, version, range_label, seconds)
    except BackendError as error:
        ui.backend_down(error)
        return
    latency = data["latency"]
    p95 = latency[latency["quantile"] == "p95"]["value"]
    slow = ui.slower_than_url(model, p95.iloc[-1] if not p95.empty else math.nan, range_label)
    st.markdown(f"[Slow predictions of {model} ›]({slow}) — the traces slower than its latest p95.")
    charts.over_time(latency, "quantile", f"{model} prediction latency", "ms", 1000,
                     empty=f"No predictions of {model} in the last {range_label}.")

    low, index, batch = st.columns(3)
    low.metric("low-confidence predictions", percent(data["low confidence"]), border=True,
               help=f"share under the low-confidence threshold; the default alert fires over {LOW_CONFIDENCE_LIMIT:.0%}")
    index.metric("confidence drift (PSI)", "—" if math.isnan(data["psi"]) else f"{data['psi']:.3f}",
                 delta=drift(data["psi"]), delta_color="off", border=True,
                 help=f"population stability index of the confidence histogram, last {range_label} against the "
                      f"{range_label} before (computed by the alert-rule service); over {PSI_LIMIT} is a real shift")
    sizes = data["batch"]
    batch.metric("batch size p50 / p95 / p99",
                 " / ".join("—" if math.isnan(v) else f"{v:.0f}" for v in sizes.values()), border=True)

    distribution, labels = st.columns(2)
    with distribution:
        if data["drift error"]:
            st.warning(f"Confidence drift unavailable: {data['drift error']}", icon=":material/cloud_off:")
        elif sum(data["confidence"]["recent"]) or sum(data["confidence"]["baseline"]):
            charts.bars(data["confidence"].rename(columns={"recent": f"last {range_label}",
                                                           "baseline": f"the {range_label} before"}),
                        "confidence", [f"last {range_label}", f"the {range_label} before"],
                        "confidence distribution", "share of predictions")
        else:
            st.info("No confidence measured in either window yet.", icon=":material/hourglass_empty:")
    with labels:
        if data["labels"].empty:
            st.info("No predictions by label in this time range.", icon=":material/hourglass_empty:")
        else:
            charts.bars(data["labels"], LABEL, "predictions/s", "predictions by label", "predictions/s", "label")
    outcome_section(model, version, range_label, seconds)


try:
    served = model_data.model_versions()
except BackendError as error:
    ui.backend_down(error)
    st.stop()
if not served:
    st.info("No model has served a prediction recently. Send some with `mlotel-loadgen`.",
            icon=":material/hourglass_empty:")
    st.stop()
asked = st.query_params.get("model")
pick_model, pick_version = st.columns(2)
with pick_model:
    chosen = selected("Model", "model", list(served))
if asked and asked != chosen:
    # The asked name is not repeated: a link can carry anything.
    st.warning(f"The model in the link has served no prediction recently; showing {chosen}.", icon=":material/help:")
with pick_version:
    chosen_version = selected("Version", "version", ["", *served[chosen]], lambda v: v or "all versions")
ui.live(lambda: body(chosen, chosen_version))
