"""The models page's correctness section: is the model right? Realized accuracy from
feedback against the confidence-based estimate, the reliability diagram with its
calibration error, and how many labels arrive and how late."""

from __future__ import annotations

import math

import streamlit as st

import mlotel_contract as mc
from mlotel_backends.errors import BackendError
from mlotel_console import charts, outcome_data, ui


def _share(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.1%}"


def _seconds(value: float) -> str:
    if math.isnan(value):
        return "—"
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.0f} min" if value < 7200 else f"{value / 3600:.1f} h"


def outcome_section(model: str, version: str, range_label: str, seconds: int) -> None:
    """Accuracy, calibration and labels of one model over the range (a banner when Prometheus fails)."""
    st.subheader("Is the model right?")
    try:
        data = outcome_data.outcomes(model, version, range_label, seconds)
    except BackendError as error:
        ui.backend_down(error)
        return
    accuracy, estimate, ece, coverage, delay = st.columns(5)
    accuracy.metric("realized accuracy", _share(data["accuracy"]), border=True,
                    help=f"right among the {data['scored']:.0f} predictions scored by feedback in the last {range_label}; "
                         f"the default alert fires under {mc.ACCURACY_FLOOR:.0%}")
    estimate.metric("estimated accuracy", _share(data["estimate"]), border=True,
                    help="mean top-class confidence of all predictions: what accuracy would be if the model were "
                         "calibrated, there before any label arrives")
    ece.metric("calibration error (ECE)", "—" if math.isnan(data["ece"]) else f"{data['ece']:.3f}", border=True,
               help=f"expected calibration error over {len(data['reliability'])} confidence bins; "
                    f"the default alert fires over {mc.CALIBRATION_ERROR_ALERT:g}")
    coverage.metric("label coverage", _share(data["coverage"]), border=True,
                    help="labels that arrived over predictions made in the same range")
    p50, p95 = data["delay"]
    delay.metric("label delay (median)", _seconds(p50), delta=f"p95 {_seconds(p95)}", delta_color="off", border=True,
                 help="time from a prediction to its feedback")
    if not data["scored"]:
        st.info(f"No feedback for {model} in the last {range_label}: send actual labels to POST /feedback with the "
                "prediction ids /predict returned (mlotel-loadgen --feedback-share does).", icon=":material/hourglass_empty:")
    over_time, diagram = st.columns(2)
    with over_time:
        charts.over_time(data["over time"], "series", f"{model} accuracy over time", "accuracy",
                         empty="Neither predictions nor feedback in this range yet.")
    with diagram:
        if data["reliability"].empty:
            st.info("No scored predictions for a reliability diagram yet.", icon=":material/hourglass_empty:")
        else:
            charts.reliability(data["reliability"], f"{model} reliability diagram")
