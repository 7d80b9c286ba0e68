"""The contract's builders that the console adds: PromQL a person could have typed, and PSI's arithmetic."""

from instrumentation.metrics_contract import Scope, bucket_counts, confidence_buckets, for_model, model_versions, psi


def test_for_model_quotes_names_and_keeps_the_scope_s_own_matchers():
    scope = for_model('we"ird', "2", Scope(matchers='job="ml-api"', by=()))
    assert scope.matchers == 'job="ml-api", ml_model_name="we\\"ird", ml_model_version="2"'
    assert for_model("iris").matchers == 'ml_model_name="iris"'


def test_confidence_baseline_is_the_same_increase_shifted_by_the_offset():
    now = confidence_buckets(Scope(window="1h", by=()))
    assert now == "sum by (le) (increase(ml_prediction_confidence_bucket[1h]))"
    assert confidence_buckets(Scope(window="1h", by=()), offset="1h") == now.replace("[1h]", "[1h] offset 1h")


def test_model_versions_groups_by_model_and_version():
    assert model_versions() == "group by (ml_model_name, ml_model_version) (ml_prediction_duration_seconds_count)"


def test_psi_of_de_cumulated_buckets():
    same = bucket_counts({0.5: 10.0, 1.0: 40.0, float("inf"): 40.0})
    assert same == [10.0, 30.0, 0.0]
    assert psi(same, [x * 3 for x in same]) == 0.0
