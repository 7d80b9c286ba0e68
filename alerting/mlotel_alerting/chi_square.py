"""Pearson's chi-square tests on bin counts, as pure functions of the counts.

- ``goodness_of_fit(counts, shares)``: are the counts drawn from a distribution
  with these bin shares (a feature's bins against its training data)?
- ``homogeneity(a, b)``: are two count vectors drawn from one distribution
  (a histogram's recent window against its baseline window)?

Each returns the statistic, its degrees of freedom and the p-value: the chance
that data with no drift at all gives a statistic this large. Alerting when
``p < α`` makes α the expected share of false alarms per test, whatever the
sample size; that is what a fixed threshold on PSI cannot say (the same PSI is
noise at 50 observations and a certain shift at 50,000). Bins that are empty
on both sides carry no information and are left out of the degrees of freedom.

Written here rather than taken from scipy.stats (``chisquare``,
``chi2_contingency``), which the unit tests compare against: the service would
otherwise carry scipy for one survival function.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Test:
    statistic: float
    df: int
    p_value: float


def chi2_sf(x: float, df: int) -> float:
    """P(X ≥ x) for X chi-square with ``df`` degrees of freedom (integer ``df`` ≥ 1)."""
    if df < 1:
        raise ValueError("a chi-square distribution has at least 1 degree of freedom")
    if x <= 0:
        return 1.0
    if math.isinf(x):
        return 0.0
    # Q(a, y), the regularized upper incomplete gamma function at a = df/2, y = x/2, climbs from
    # Q(1/2, y) = erfc(√y) or Q(1, y) = e^-y by Q(a+1, y) = Q(a, y) + y^a e^-y / Γ(a+1):
    # a sum of positive terms, so small p-values keep their precision.
    y = x / 2
    a, q = (0.5, math.erfc(math.sqrt(y))) if df % 2 else (1.0, math.exp(-y))
    while a < df / 2:
        q += math.exp(a * math.log(y) - y - math.lgamma(a + 1))
        a += 1
    return min(q, 1.0)


def goodness_of_fit(counts: Sequence[float], shares: Sequence[float]) -> Test:
    """Counts per bin against the expected share of each bin (shares are normalized)."""
    if len(counts) != len(shares):
        raise ValueError("counts and shares need the same bins")
    n, total_share = sum(counts), sum(shares)
    if n <= 0 or total_share <= 0:
        raise ValueError("no observations, or no expected share, to test")
    statistic, bins = 0.0, 0
    for observed, share in zip(counts, shares):
        expected = n * share / total_share
        if expected <= 0:
            if observed > 0:
                return Test(math.inf, max(len(counts) - 1, 1), 0.0)  # seen where the reference never was
            continue
        statistic += (observed - expected) ** 2 / expected
        bins += 1
    df = bins - 1
    return Test(statistic, df, chi2_sf(statistic, df) if df >= 1 else 1.0)


def homogeneity(a: Sequence[float], b: Sequence[float]) -> Test:
    """Two count vectors over the same bins (a 2 × bins contingency table)."""
    if len(a) != len(b):
        raise ValueError("both distributions need the same bins")
    total_a, total_b = sum(a), sum(b)
    if total_a <= 0 or total_b <= 0:
        raise ValueError("a distribution without observations cannot be compared")
    total = total_a + total_b
    statistic, bins = 0.0, 0
    for x, y in zip(a, b):
        column = x + y
        if column <= 0:
            continue
        for observed, row_total in ((x, total_a), (y, total_b)):
            expected = row_total * column / total
            statistic += (observed - expected) ** 2 / expected
        bins += 1
    df = bins - 1
    return Test(statistic, df, chi2_sf(statistic, df) if df >= 1 else 1.0)
