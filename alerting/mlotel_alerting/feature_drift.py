"""Input drift: each feature's bin counts over a recent window against the
training data's shares of the same bins (``mlotel.feature_drift`` reports both).

A feature of a model version drifts when

- Pearson's chi-square goodness-of-fit test rejects the reference at
  ``false_alarm_rate`` (α, default 0.001): on traffic drawn from the
  reference, that share of evaluation windows alerts per feature, whatever
  the sample size (``benchmarks/drift_false_alarms.py`` measures it); and
- the population stability index of the window against the reference is at
  least ``min_psi`` (default 0.2, "a real shift" by the usual rule of thumb):
  with many thousand observations a test rejects shifts too small to matter.

The first makes small samples quiet, the second large ones. Each model,
version and feature is an alert instance whose value is the PSI; every
figure computed, drifting or not, is kept (``Figure``) for the service's
``/metrics`` (``mlotel_alerting_feature_drift_*``), so the console and
Grafana read the same numbers from Prometheus. The test's chi-square
approximation needs enough observations in every bin: a feature with fewer
than ``min_expected`` (5, Cochran's rule) expected in some bin, or fewer than
``min_samples`` observations in the window, has no data.
"""

from __future__ import annotations

from dataclasses import dataclass

import mlotel_contract as contract
from mlotel_alerting.chi_square import goodness_of_fit
from mlotel_alerting.drift import psi
from mlotel_alerting.durations import format_duration
from mlotel_alerting.rules import FeatureDrift
from mlotel_alerting.state import QueryOutcome
from mlotel_backends.prometheus import Sample
from mlotel_contract import FEATURE, FEATURE_BIN, MODEL, VERSION, Scope

STATISTIC = "chi-square"
BY = (MODEL, VERSION, FEATURE)


@dataclass(frozen=True)
class Figure:
    """One feature's drift in one evaluation."""

    labels: dict[str, str]  # model, version, feature
    p_value: float
    psi: float
    samples: float
    drifting: bool


def queries(spec: FeatureDrift) -> tuple[str, str]:
    """PromQL for the window's bin counts and the reference's bin shares."""
    scope = Scope(window=format_duration(spec.window), matchers=spec.selector, by=BY)
    return contract.feature_bin_counts(scope), contract.feature_reference(scope)


def _by_feature(samples: list[Sample]) -> dict[tuple[str, ...], dict[int, float]]:
    groups: dict[tuple[str, ...], dict[int, float]] = {}
    for sample in samples:
        key = tuple(sample.labels.get(name, "") for name in BY)
        groups.setdefault(key, {})[int(sample.labels[FEATURE_BIN])] = sample.value
    return groups


def evaluate(spec: FeatureDrift, counts: list[Sample], reference: list[Sample]) -> tuple[QueryOutcome, list[Figure]]:
    """The drifting features (value: PSI) and every feature's figures."""
    references = _by_feature(reference)
    samples, figures = [], []
    for key, by_bin in sorted(_by_feature(counts).items()):
        shares = references.get(key)
        if not shares or set(shares) != set(by_bin):
            continue  # bins changed under a new profile: wait for one consistent window
        bins = sorted(by_bin)
        observed, expected = [max(by_bin[b], 0.0) for b in bins], [shares[b] for b in bins]
        n = sum(observed)
        if n < spec.min_samples or n * min(expected) / sum(expected) < spec.min_expected:
            continue
        test, index = goodness_of_fit(observed, expected), psi(expected, observed)
        drifting = test.p_value < spec.false_alarm_rate and index >= spec.min_psi
        labels = dict(zip(BY, key))
        figures.append(Figure(labels, test.p_value, index, n, drifting))
        if drifting:
            samples.append(Sample(labels, index))
    return QueryOutcome(tuple(samples), no_data=not figures), figures
