"""Confidence drift: the population stability index (PSI) between a histogram's
distribution over a recent window and over a baseline window.

    PSI = Σ (recentᵢ − baselineᵢ) · ln(recentᵢ / baselineᵢ)

over the histogram's buckets as proportions. Rules of thumb: < 0.1 stable,
0.1–0.25 moderate shift, > 0.25 a real one. A group alerts when its PSI is over
``threshold`` and Pearson's chi-square test of homogeneity on the two windows'
counts rejects "one distribution" at ``false_alarm_rate`` (α): with fifty
observations a PSI of 0.3 is often chance, and α bounds how often chance alerts. Prometheus returns cumulative
``le`` buckets; ``bucket_counts`` turns them into counts per bucket. Both come
from the metrics contract, which the console shares. Each
group (by default each model) is an alert instance; a group with fewer than
``min_samples`` observations in either window has no data.
"""

from __future__ import annotations

from mlotel_alerting.chi_square import homogeneity
from mlotel_alerting.durations import format_duration
from mlotel_alerting.rules import Drift
from mlotel_alerting.state import QueryOutcome
from mlotel_backends.prometheus import Sample
from mlotel_contract import bucket_counts, psi


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
    """Samples (labels of the group, PSI) where PSI exceeds the threshold beyond chance."""
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
        if index > spec.threshold and homogeneity(b, r).p_value < spec.false_alarm_rate:
            samples.append(Sample(dict(key), index))
    return QueryOutcome(tuple(samples), no_data=not any_data)
