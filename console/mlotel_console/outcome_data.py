"""What the models page reads about correctness from Prometheus: realized accuracy
against the confidence-based estimate over time, the reliability curve, calibration
error, label coverage and delay, and refused feedback (docs/model-correctness.md)."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

import mlotel_contract as mc
from mlotel_console.metrics_data import TTL, fetch, rate_window, scalar, table, timeline

ACCURACY, ESTIMATE = "realized accuracy (feedback)", "estimated (mean confidence)"


def reliability(accuracy: list, confidence: list, counts: list) -> pd.DataFrame:
    """One row per confidence bin with scored predictions: its mean confidence, accuracy and count."""
    frame = table({"accuracy": accuracy, "confidence": confidence, "scored": counts}, mc.CONFIDENCE_BIN)
    frame = frame[frame["scored"].fillna(0) > 0].dropna(subset=["accuracy", "confidence"])
    frame["bin"] = frame[mc.CONFIDENCE_BIN].astype(float)
    return frame.sort_values("bin", ignore_index=True)


@st.cache_data(ttl=TTL, show_spinner=False)
def outcomes(model: str, version: str, range_label: str, seconds: int) -> dict:
    """One model (one version, or all when ``version`` is empty): correctness over the range."""
    over_range = mc.for_model(model, version, mc.Scope(window=range_label, by=()))
    over_time = mc.for_model(model, version, mc.Scope(window=rate_window(seconds), by=()))
    data = fetch(
        {"accuracy": mc.realized_accuracy(over_range), "estimate": mc.estimated_accuracy(over_range),
         "ece": mc.calibration_error(over_range), "coverage": mc.label_coverage(over_range),
         "scored": mc.scored_count(over_range),
         "delay p50": mc.label_delay_quantile(0.5, over_range), "delay p95": mc.label_delay_quantile(0.95, over_range),
         "bin accuracy": mc.reliability_accuracy(over_range), "bin confidence": mc.reliability_confidence(over_range),
         "bin scored": mc.reliability_counts(over_range)},
        {"accuracy over time": mc.realized_accuracy(over_time), "estimate over time": mc.estimated_accuracy(over_time)},
        seconds,
    )
    over = pd.concat([timeline(data["accuracy over time"], "series", ACCURACY),
                      timeline(data["estimate over time"], "series", ESTIMATE)], ignore_index=True)
    scored = scalar(data["scored"])
    return {
        "over time": over,
        "accuracy": scalar(data["accuracy"]), "estimate": scalar(data["estimate"]),
        "ece": scalar(data["ece"]), "coverage": scalar(data["coverage"]),
        "scored": 0.0 if math.isnan(scored) else scored,
        "delay": (scalar(data["delay p50"]), scalar(data["delay p95"])),
        "reliability": reliability(data["bin accuracy"], data["bin confidence"], data["bin scored"]),
    }
