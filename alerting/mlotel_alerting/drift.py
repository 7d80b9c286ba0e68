"""Confidence drift: the population stability index (PSI) between a histogram's
distribution over a recent window and over a baseline window.

    PSI = Σ (recentᵢ − baselineᵢ) · ln(recentᵢ / baselineᵢ)

over the histogram's buckets as proportions. Rules of thumb: < 0.1 stable,
0.1–0.25 moderate shift, > 0.25 a real one. Prometheus returns cumulative
``le`` buckets; ``bucket_counts`` turns them into counts per bucket. Each
group (by default each model) is an alert instance; a group with fewer than
``min_samples`` observations in either window has no data.

The statistics are computed here and nowhere else: the console shows the
confidence drift that ``compare`` works out for ``GET /metrics/drift``.
"""

from __future__ import annotations

import math

from mlotel_alerting.durations import format_duration
from mlotel_alerting.rules import Drift
from mlotel_alerting.state import QueryOutcome
from mlotel_backends.prometheus import Sample

# Proportions are floored at this so that an empty bucket on one side does not
# make the index infinite.
PSI_EPSILON = 1e-4


def bucket_counts(cumulative: dict[float, float]) -> list[float]:
    """Observations per bucket, in ``le`` order, from Prometheus' cumulative counts (clamped at 0)."""
    bounds = sorted(cumulative)
    counts, below = [], 0.0
    for bound in bounds:
        counts.append(max(cumulative[bound] - below, 0.0))
        below = max(below, cumulative[bound])
    return counts


def psi(baseline: list[float], recent: list[float]) -> float:
    """The index between two count vectors over the same buckets."""
    if len(baseline) != len(recent):
        raise ValueError("both distributions need the same buckets")
    total_b, total_r = sum(baseline), sum(recent)
    if total_b <= 0 or total_r <= 0:
        raise ValueError("a distribution without observations has no proportions")
    index = 0.0
    for b, r in zip(baseline, recent):
        p, q = max(r / total_r, PSI_EPSILON), max(b / total_b, PSI_EPSILON)
        index += (p - q) * math.log(p / q)
    return index


def compare(recent: list[Sample], baseline: list[Sample]) -> dict:
    """One histogram's two windows (Prometheus' cumulative ``le`` buckets, a bucket missing on one
    side counted as empty there): the buckets' upper bounds, the observations in each and the PSI,
    None when either window has none."""
    cumulative = [{float(s.labels["le"]): s.value for s in samples} for samples in (recent, baseline)]
    bounds = sorted(set(cumulative[0]) | set(cumulative[1]))
    counts = [bucket_counts({b: c.get(b, 0.0) for b in bounds}) for c in cumulative]
    index = psi(counts[1], counts[0]) if bounds and all(sum(c) for c in counts) else None
    return {"statistic": "psi", "le": [str(b) if math.isfinite(b) else "+Inf" for b in bounds],
            "recent": counts[0], "baseline": counts[1], "psi": index}


def queries(spec: Drift) -> tuple[str, str]:
    """PromQL for the recent and the baseline bucket increases, grouped by ``by`` and ``le``."""
    by = ", ".join([*spec.by, "le"])
    offset = spec.window if spec.baseline_offset is None else spec.baseline_offset
    series = f"{spec.metric}{spec.selector}"
    recent = f"sum by ({by}) (increase({series}[{format_duration(spec.window)}]))"
    baseline = (
        f"sum by ({by}) (increase({series}[{format_duration(spec.baseline_window)}] offset {format_duration(offset)}))"
    )
    return recent, baseline


Groups = dict[tuple[tuple[str, str], ...], dict[float, float]]


def group_buckets(result: list[Sample], by: tuple[str, ...]) -> Groups:
    groups: Groups = {}
    for sample in result:
        key = tuple((name, sample.labels.get(name, "")) for name in by)
        groups.setdefault(key, {})[float(sample.labels["le"])] = sample.value
    return groups


def evaluate(spec: Drift, recent: list[Sample], baseline: list[Sample]) -> QueryOutcome:
    """Samples (labels of the group, PSI) where PSI exceeds the threshold."""
    recent_groups, baseline_groups = group_buckets(recent, spec.by), group_buckets(baseline, spec.by)
    samples, any_data = [], False
    for key, recent_cumulative in recent_groups.items():
        baseline_cumulative = baseline_groups.get(key)
        if not baseline_cumulative or set(baseline_cumulative) != set(recent_cumulative):
            continue
        r, b = bucket_counts(recent_cumulative), bucket_counts(baseline_cumulative)
        if sum(r) < spec.min_samples or sum(b) < spec.min_samples:
            continue
        any_data = True
        index = psi(b, r)
        if index > spec.threshold:
            samples.append(Sample(dict(key), index))
    return QueryOutcome(tuple(samples), no_data=not any_data)
