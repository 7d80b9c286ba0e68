"""PSI on histograms whose answer is known by hand."""

import math

import pytest

from mlotel_alerting.drift import bucket_counts, compare, evaluate, psi, queries
from mlotel_alerting.rules import Drift
from mlotel_backends.prometheus import Sample


def test_identical_distributions_have_no_drift():
    assert psi([10, 20, 70], [1, 2, 7]) == pytest.approx(0.0)


def test_psi_of_a_known_shift():
    # baseline 50/50, recent 90/10: (0.9-0.5)ln(0.9/0.5) + (0.1-0.5)ln(0.1/0.5)
    expected = 0.4 * math.log(1.8) + (-0.4) * math.log(0.2)
    assert psi([50, 50], [90, 10]) == pytest.approx(expected) == pytest.approx(0.87889, abs=1e-5)


def test_an_empty_bucket_on_one_side_stays_finite():
    assert math.isfinite(psi([100, 0], [0, 100]))


def test_psi_needs_observations_and_the_same_buckets():
    with pytest.raises(ValueError):
        psi([0, 0], [1, 1])
    with pytest.raises(ValueError):
        psi([1], [1, 1])


def test_cumulative_le_buckets_become_counts_per_bucket():
    assert bucket_counts({0.5: 2.0, 0.9: 7.0, math.inf: 10.0, 0.1: 1.0}) == [1.0, 1.0, 5.0, 3.0]


def histogram(model: str, cumulative: dict[float, float]) -> list[Sample]:
    return [Sample({"ml_model_name": model, "le": str(le) if le != math.inf else "+Inf"}, v) for le, v in cumulative.items()]


def test_evaluate_alerts_for_the_drifting_model_only():
    spec = Drift(threshold=0.2, min_samples=10)
    baseline = histogram("iris", {0.5: 50, math.inf: 100}) + histogram("digits", {0.5: 50, math.inf: 100})
    recent = histogram("iris", {0.5: 90, math.inf: 100}) + histogram("digits", {0.5: 25, math.inf: 50})
    outcome = evaluate(spec, recent, baseline)
    assert [(s.labels, round(s.value, 5)) for s in outcome.samples] == [({"ml_model_name": "iris"}, 0.87889)]
    assert not outcome.no_data


def test_too_few_observations_is_no_data_not_drift():
    spec = Drift(min_samples=50)
    outcome = evaluate(spec, histogram("iris", {0.5: 9, math.inf: 10}), histogram("iris", {0.5: 50, math.inf: 100}))
    assert outcome.samples == () and outcome.no_data


def test_queries_compare_the_window_with_the_baseline_before_it():
    recent, baseline = queries(Drift(window=600, baseline_window=3600, selector='{job="ml-api"}'))
    assert recent == 'sum by (ml_model_name, le) (increase(ml_prediction_confidence_bucket{job="ml-api"}[10m]))'
    assert baseline == (
        'sum by (ml_model_name, le) (increase(ml_prediction_confidence_bucket{job="ml-api"}[1h] offset 10m))')


def test_compare_de_cumulates_both_windows_over_the_union_of_their_buckets():
    recent = histogram("iris", {0.5: 9.0, 0.9: 9.0, math.inf: 10.0})
    baseline = histogram("iris", {0.5: 5.0, math.inf: 10.0})  # no 0.9 bucket: counted as empty there
    found = compare(recent, baseline)
    assert found["le"] == ["0.5", "0.9", "+Inf"]
    assert found["recent"] == [9.0, 0.0, 1.0] and found["baseline"] == [5.0, 0.0, 5.0]
    assert found["statistic"] == "psi" and found["psi"] == pytest.approx(psi([5.0, 0.0, 5.0], [9.0, 0.0, 1.0]))
    assert compare(recent, [])["psi"] is None  # no baseline, no index
