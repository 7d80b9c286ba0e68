"""Input drift per feature (mlotel_alerting.feature_drift) on counts whose answer is known."""

import numpy as np
import pytest
from scipy import stats

from mlotel_alerting.feature_drift import evaluate, queries
from mlotel_alerting.rules import FeatureDrift, parse_rule
from mlotel_backends.prometheus import Sample

SHARES = [0.1] * 10


def series(feature: str, values: list[float], model: str = "iris") -> list[Sample]:
    labels = {"ml_model_name": model, "ml_model_version": "v1", "ml_feature_name": feature}
    return [Sample({**labels, "ml_feature_bin": str(i)}, v) for i, v in enumerate(values)]


def test_only_the_shifted_feature_alerts_and_every_feature_has_figures():
    rng = np.random.default_rng(3)
    steady = rng.multinomial(2000, SHARES).tolist()
    shifted = rng.multinomial(2000, [0.02, 0.04, 0.06, 0.08, 0.1, 0.1, 0.12, 0.14, 0.16, 0.18]).tolist()
    counts = series("a", steady) + series("b", shifted)
    outcome, figures = evaluate(FeatureDrift(), counts, series("a", SHARES) + series("b", SHARES))
    assert [s.labels["ml_feature_name"] for s in outcome.samples] == ["b"]
    by_feature = {f.labels["ml_feature_name"]: f for f in figures}
    assert by_feature["a"].p_value == pytest.approx(stats.chisquare(steady).pvalue)
    assert not by_feature["a"].drifting and by_feature["b"].drifting and by_feature["b"].samples == 2000
    assert outcome.samples[0].value == pytest.approx(by_feature["b"].psi)


def test_a_significant_but_tiny_shift_does_not_alert():
    counts = [10_500] * 5 + [9_500] * 5  # p ≈ 0 at 100,000 observations, PSI 0.0025
    outcome, (figure,) = evaluate(FeatureDrift(), series("a", counts), series("a", SHARES))
    assert figure.p_value < 1e-10 and figure.psi < 0.01 and outcome.samples == ()


def test_a_large_but_small_sample_shift_does_not_alert():
    counts = [1, 1, 2, 4, 7, 9, 9, 7, 5, 5]  # PSI 0.44 on 50 observations, p ≈ 0.06: chance does that
    outcome, (figure,) = evaluate(FeatureDrift(), series("a", counts), series("a", SHARES))
    assert figure.psi > 0.4 and figure.p_value == pytest.approx(stats.chisquare(counts).pvalue)
    assert outcome.samples == ()


def test_a_bin_expecting_fewer_than_five_is_no_data():
    # 100 observations, but the last bin expects 2: the chi-square approximation does not hold.
    shares = [0.49, 0.49, 0.02]
    outcome, figures = evaluate(FeatureDrift(), series("a", [49, 49, 2]), series("a", shares))
    assert outcome.no_data and figures == []


def test_too_few_observations_or_no_reference_is_no_data():
    outcome, figures = evaluate(FeatureDrift(min_samples=50), series("a", [4] * 10), series("a", SHARES))
    assert outcome.no_data and figures == []
    outcome, figures = evaluate(FeatureDrift(), series("a", [100] * 10), [])
    assert outcome.no_data and figures == []


def test_queries_read_the_window_and_the_reference_per_feature():
    counts, reference = queries(FeatureDrift(window=300, selector='job="ml-api"'))
    assert counts == ('sum by (ml_feature_bin, ml_model_name, ml_model_version, ml_feature_name) '
                      '(increase(ml_feature_observations_total{job="ml-api"}[5m]))')
    assert reference == ('max by (ml_feature_bin, ml_feature_bin_range, ml_model_name, ml_model_version, ml_feature_name) '
                         '(ml_feature_reference_ratio{job="ml-api"})')


def test_a_rule_has_one_kind_and_bounded_settings():
    rule = parse_rule({"name": "F", "feature_drift": {"window": "5m", "false_alarm_rate": 0.01}})
    assert rule.feature_drift.window == 300
    for bad in ({"false_alarm_rate": 0}, {"false_alarm_rate": 1.5}, {"min_psi": -1}, {"window": "0s"}):
        with pytest.raises(ValueError):
            parse_rule({"name": "F", "feature_drift": bad})
    with pytest.raises(ValueError, match="exactly one"):
        parse_rule({"name": "F", "expr": "up", "feature_drift": {}})


@pytest.mark.parametrize("n", [50, 200, 5000])
def test_stationary_windows_alert_at_most_at_the_false_alarm_rate(n):
    """Windows drawn from the reference itself: at most α of them alert per feature (fixed seed)."""
    rng = np.random.default_rng(n)
    shares = [0.3, 0.2, 0.1, 0.1, 0.1, 0.08, 0.06, 0.06]
    reference = series("a", shares)
    spec = FeatureDrift(false_alarm_rate=0.01, min_psi=0.0)  # the test alone, at an α that 3,000 windows can measure
    alerts = sum(bool(evaluate(spec, series("a", rng.multinomial(n, shares).tolist()), reference)[0].samples)
                 for _ in range(3000))
    assert alerts / 3000 <= 0.01 + 3 * (0.01 * 0.99 / 3000) ** 0.5
