"""The chi-square tests on counts against scipy.stats on the same counts."""

import math

import numpy as np
import pytest
from scipy import stats

from mlotel_alerting.chi_square import chi2_sf, goodness_of_fit, homogeneity


@pytest.mark.parametrize("df", [1, 2, 3, 8, 9, 30])
@pytest.mark.parametrize("x", [0.01, 0.5, 3.0, 9.0, 27.9, 60.0, 400.0])
def test_survival_function_matches_scipy(x, df):
    assert chi2_sf(x, df) == pytest.approx(stats.chi2.sf(x, df), rel=1e-9, abs=1e-300)


def test_survival_function_edges():
    assert chi2_sf(0.0, 3) == 1.0 and chi2_sf(math.inf, 3) == 0.0
    with pytest.raises(ValueError):
        chi2_sf(1.0, 0)


def test_goodness_of_fit_matches_scipy_chisquare():
    rng = np.random.default_rng(7)
    for _ in range(50):
        shares = rng.dirichlet(np.ones(10))
        counts = rng.multinomial(int(rng.integers(20, 5000)), rng.dirichlet(np.ones(10)) * 0.3 + shares * 0.7)
        ours = goodness_of_fit(counts.tolist(), shares.tolist())
        theirs = stats.chisquare(counts, counts.sum() * shares)
        assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-9)
        assert ours.df == 9 and ours.p_value == pytest.approx(theirs.pvalue, rel=1e-6, abs=1e-300)


def test_goodness_of_fit_takes_fractional_counts_and_unnormalized_shares():
    # Prometheus' increase() extrapolates, so counts are not whole.
    ours = goodness_of_fit([10.5, 20.25, 30.0], [2, 2, 4])
    theirs = stats.chisquare([10.5, 20.25, 30.0], 60.75 * np.array([0.25, 0.25, 0.5]))
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9)


def test_counts_where_the_reference_never_was_reject_outright():
    assert goodness_of_fit([5, 5, 1], [0.5, 0.5, 0.0]).p_value == 0.0
    assert goodness_of_fit([5, 5, 0], [0.5, 0.5, 0.0]).df == 1  # an empty bin on both sides is no bin


def test_homogeneity_matches_scipy_contingency_without_correction():
    rng = np.random.default_rng(8)
    for _ in range(50):
        p = rng.dirichlet(np.ones(12))
        a, b = rng.multinomial(int(rng.integers(50, 3000)), p), rng.multinomial(int(rng.integers(50, 3000)), p)
        keep = (a + b) > 0
        theirs = stats.chi2_contingency(np.vstack([a[keep], b[keep]]), correction=False)
        ours = homogeneity(a.tolist(), b.tolist())
        assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-9)
        assert ours.df == theirs.dof and ours.p_value == pytest.approx(theirs.pvalue, rel=1e-6, abs=1e-300)


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        goodness_of_fit([1, 2], [1])
    with pytest.raises(ValueError):
        goodness_of_fit([0, 0], [0.5, 0.5])
    with pytest.raises(ValueError):
        homogeneity([0, 0], [1, 1])
