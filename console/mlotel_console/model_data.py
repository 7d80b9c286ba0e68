"""What the models page reads from Prometheus: the served models and versions,
and one model's latency, confidence distribution (with its drift against the
window before), low-confidence share, labels and batch sizes."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

import mlotel_contract as mc
from mlotel_backends.errors import BackendError
from mlotel_console import clients
from mlotel_console.metrics_data import TTL, fetch, rate_window, scalar, table, timeline


@st.cache_data(ttl=30, show_spinner=False)
def model_versions() -> dict[str, list[str]]:
    """Served model names, each with its versions."""
    found: dict[str, list[str]] = {}
    for sample in fetch({"models": mc.model_versions()})["models"]:
        found.setdefault(sample.labels.get(mc.MODEL, ""), []).append(sample.labels.get(mc.VERSION, ""))
    return {name: sorted(versions) for name, versions in sorted(found.items()) if name}


def _bucket_name(lower: float, upper: float) -> str:
    # Confidence never exceeds 1, so the +Inf bucket ends there.
    return f"{lower:g}–{min(upper, 1.0):g}"


def confidence(drift: dict) -> tuple[pd.DataFrame, float]:
    """Share of predictions per confidence bucket in both windows, and their PSI (NaN without data in
    either), from the alert-rule service's ``GET /metrics/drift``: the service computes drift, the
    console shows it."""
    bounds = [float(le) for le in drift["le"]]
    names = [_bucket_name(lower, upper) for lower, upper in zip([0.0, *bounds], bounds)]
    frame = pd.DataFrame({"confidence": names, "recent": drift["recent"], "baseline": drift["baseline"]})
    for column in ("recent", "baseline"):
        total = sum(drift[column])
        frame[column] = [count / total if total else 0.0 for count in drift[column]]
    return frame, math.nan if drift["psi"] is None else drift["psi"]


NO_DRIFT: dict = {"le": [], "recent": [], "baseline": [], "psi": None}


@st.cache_data(ttl=TTL, show_spinner=False)
def model_detail(model: str, version: str, range_label: str, seconds: int) -> dict:
    """One model (one version, or all when ``version`` is empty) over the range."""
    over_range = mc.for_model(model, version, mc.Scope(window=range_label, by=()))
    over_time = mc.for_model(model, version, mc.Scope(window=rate_window(seconds), by=()))
    quantiles = {f"p{round(q * 100)}": q for q in mc.QUANTILES}
    data = fetch(
        {"low confidence": mc.low_confidence_ratio(over_range),
         "labels": mc.predictions_by_label_rate(over_range),
         **{f"batch {name}": mc.batch_size_quantile(q, over_range) for name, q in quantiles.items()}},
        {name: mc.latency_quantile(q, over_time) for name, q in quantiles.items()},
        seconds,
    )
    latency = pd.concat([timeline(data[name], "quantile", name) for name in quantiles], ignore_index=True)
    try:
        drift, drift_error = clients.run(lambda c: c.alerting.confidence_drift(model, version, range_label)), None
    except BackendError as error:
        drift, drift_error = NO_DRIFT, str(error)
    distribution, index = confidence(drift)
    return {
        "latency": latency,
        "confidence": distribution, "psi": index, "drift error": drift_error,
        "low confidence": scalar(data["low confidence"]),
        "labels": table({"predictions/s": data["labels"]}, mc.LABEL),
        "batch": {name: scalar(data[f"batch {name}"]) for name in quantiles},
    }
