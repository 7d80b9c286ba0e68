"""What the models page reads from Prometheus: the served models and versions,
and one model's latency, confidence distribution (with its drift against the
window before), low-confidence share, labels and batch sizes."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

import mlotel_contract as mc
from mlotel_backends.prometheus import Sample
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


def confidence(recent: list[Sample], baseline: list[Sample]) -> tuple[pd.DataFrame, float]:
    """Share of predictions per confidence bucket in both windows, and their PSI (NaN without data in either)."""
    cumulative = [{float(s.labels["le"]): s.value for s in samples} for samples in (recent, baseline)]
    bounds = sorted(set(cumulative[0]) | set(cumulative[1]))
    counts = [mc.bucket_counts({b: c.get(b, 0.0) for b in bounds}) for c in cumulative]
    names = [_bucket_name(lower, upper) for lower, upper in zip([0.0, *bounds], bounds)]
    frame = pd.DataFrame({"confidence": names, "recent": counts[0], "baseline": counts[1]})
    totals = [sum(c) for c in counts]
    for column, total in zip(("recent", "baseline"), totals):
        frame[column] = frame[column] / total if total else 0.0
    index = mc.psi(counts[1], counts[0]) if all(totals) and bounds else math.nan
    return frame, index


@st.cache_data(ttl=TTL, show_spinner=False)
def model_detail(model: str, version: str, range_label: str, seconds: int) -> dict:
    """One model (one version, or all when ``version`` is empty) over the range."""
    over_range = mc.for_model(model, version, mc.Scope(window=range_label, by=()))
    over_time = mc.for_model(model, version, mc.Scope(window=rate_window(seconds), by=()))
    quantiles = {f"p{round(q * 100)}": q for q in mc.QUANTILES}
    data = fetch(
        {"recent": mc.confidence_buckets(over_range), "baseline": mc.confidence_buckets(over_range, range_label),
         "low confidence": mc.low_confidence_ratio(over_range),
         "labels": mc.predictions_by_label_rate(over_range),
         **{f"batch {name}": mc.batch_size_quantile(q, over_range) for name, q in quantiles.items()}},
        {name: mc.latency_quantile(q, over_time) for name, q in quantiles.items()},
        seconds,
    )
    latency = pd.concat([timeline(data[name], "quantile", name) for name in quantiles], ignore_index=True)
    distribution, index = confidence(data["recent"], data["baseline"])
    return {
        "latency": latency,
        "confidence": distribution, "psi": index,
        "low confidence": scalar(data["low confidence"]),
        "labels": table({"predictions/s": data["labels"]}, mc.LABEL),
        "batch": {name: scalar(data[f"batch {name}"]) for name in quantiles},
    }
