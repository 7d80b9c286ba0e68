"""What the models page's drift table reads from Prometheus: each input feature's
drift as the alert-rule service computed it (``mlotel_alerting_feature_drift_*``,
the same figures its FeatureDrift alerts were decided on), and the feature's bins
over the rule's window against the training data's shares."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import mlotel_contract as mc
from mlotel_backends.prometheus import Sample
from mlotel_console.metrics_data import TTL, fetch, table

KEYS = (mc.VERSION, mc.FEATURE)
COLUMNS = ["version", "feature", "drifting", "statistic", "PSI", "p-value", "α", "samples", "reference → now"]


Bins = dict[tuple[str, ...], dict[int, tuple[float, str]]]


def _bins(samples: list[Sample]) -> Bins:
    """Per version and feature, each bin's value and range (the range only where the series has it)."""
    found: Bins = {}
    for sample in samples:
        key = tuple(sample.labels.get(k, "") for k in KEYS)
        found.setdefault(key, {})[int(sample.labels[mc.FEATURE_BIN])] = (sample.value, sample.labels.get(mc.FEATURE_BIN_RANGE, ""))
    return found


def biggest_change(counts: dict[int, tuple[float, str]], reference: dict[int, tuple[float, str]]) -> str:
    """The bin whose share moved most, as ``range: reference% → now%``."""
    total = sum(count for count, _ in counts.values())
    if not total or not reference:
        return ""
    now = {b: counts.get(b, (0.0, ""))[0] / total for b in reference}
    moved = max(reference, key=lambda b: abs(now[b] - reference[b][0]))
    return f"{reference[moved][1]}: {reference[moved][0]:.0%} → {now[moved]:.0%}"


@st.cache_data(ttl=TTL, show_spinner=False)
def feature_drift(model: str, version: str) -> pd.DataFrame:
    """One row per version and feature, the drifting ones first, then by PSI."""
    scope = mc.for_model(model, version, mc.FEATURE_SCOPE)
    data = fetch({
        "PSI": mc.feature_drift(mc.PROM_FEATURE_DRIFT_PSI, scope),
        "p-value": mc.feature_drift(mc.PROM_FEATURE_DRIFT_P_VALUE, scope),
        "samples": mc.feature_drift(mc.PROM_FEATURE_DRIFT_SAMPLES, scope),
        "α": mc.feature_drift(mc.PROM_FEATURE_DRIFT_ALERT_LEVEL, scope),
        "counts": mc.feature_bin_counts(scope), "reference": mc.feature_reference(scope),
    })
    frame = table({name: data[name] for name in ("PSI", "p-value", "samples", "α")}, *KEYS)
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    statistics = {tuple(s.labels.get(k, "") for k in KEYS): s.labels.get(mc.STATISTIC, "") for s in data["PSI"]}
    counts, reference = _bins(data["counts"]), _bins(data["reference"])
    keys = list(zip(frame[mc.VERSION], frame[mc.FEATURE]))
    frame["statistic"] = [statistics.get(key, "") for key in keys]
    frame["reference → now"] = [biggest_change(counts.get(key, {}), reference.get(key, {})) for key in keys]
    frame["drifting"] = (frame["p-value"] < frame["α"]) & (frame["PSI"] >= mc.FEATURE_DRIFT_MIN_PSI)
    frame = frame.rename(columns={mc.VERSION: "version", mc.FEATURE: "feature"})
    return frame.sort_values(["drifting", "PSI"], ascending=False, ignore_index=True)[COLUMNS]
