"""Every consumer takes its metric names and PromQL from contract/mlotel_contract/__init__.py:
the generated rule files are its output, and no consumer spells a metric of its own; the
builders the console adds write PromQL a person could have typed, and PSI's arithmetic holds."""

import math
import subprocess
import sys

import mlotel_contract as contract
from harness.processes import ROOT
from mlotel_alerting.summary import queries
from mlotel_contract import Scope, bucket_counts, confidence_buckets, for_model, model_versions, psi

# What reads mlotel's metrics; each must take their names (and so its PromQL) from the contract.
CONSUMERS = ["scripts/generate_rules.py", "alerting/mlotel_alerting/summary.py", "dashboards/generate.py", "scripts/demo.py",
             *(str(path.relative_to(ROOT)) for path in sorted((ROOT / "console").rglob("*.py")))]
METRICS = {value for name, value in vars(contract).items() if name.startswith("PROM_")}


def test_the_checked_in_rule_files_are_the_generators_output():
    result = subprocess.run([sys.executable, "scripts/generate_rules.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_summary_asks_the_contracts_queries_over_its_window():
    scope = Scope(window="10m")
    assert queries(600) == {
        "request_rate": contract.request_rate(scope),
        "latency_p50_seconds": contract.latency_quantile(0.5, scope),
        "latency_p95_seconds": contract.latency_quantile(0.95, scope),
        "latency_p99_seconds": contract.latency_quantile(0.99, scope),
        "error_ratio": contract.error_ratio(scope),
        "low_confidence_ratio": contract.low_confidence_ratio(scope),
    }


def test_no_consumer_spells_a_metric_name_of_its_own():
    for consumer in CONSUMERS:
        source = (ROOT / consumer).read_text()
        spelled = [metric for metric in METRICS if metric in source]
        assert not spelled, f"{consumer} spells {spelled}: take them from contract/mlotel_contract/__init__.py"


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


def test_the_pipeline_alerts_on_loss_ask_the_contracts_queries():
    """prometheus/rules/pipeline.alerts.yml is written by hand; its loss alerts must still be the
    contract's PromQL, over every collector job (the sidecar's too), per instance."""
    import yaml

    rules = {rule["alert"]: rule["expr"] for group in yaml.safe_load(
        (ROOT / "prometheus" / "rules" / "pipeline.alerts.yml").read_text())["groups"] for rule in group["rules"]}
    everywhere = contract.COLLECTORS(matchers="")
    assert rules["TailSamplingDroppingTraces"] == f"{contract.traces_dropped_too_early_rate(everywhere)} > 0"
    assert rules["CollectorQueueFilling"] == f"{contract.export_queue_fill(everywhere)} > 0.8"
    assert rules["CollectorRefusingSpans"] == (
        f"{contract.collector_rate(contract.PROM_RECEIVER_REFUSED_SPANS, everywhere, 'receiver')} > 0")


def test_a_quantiles_bucket_floor_is_the_bound_below_it():
    assert contract.bucket_floor(4.433) == 2.5 and contract.bucket_floor(2.5) == 1.0  # le="2.5" holds 2.5 itself
    assert contract.bucket_floor(0.0004) == 0.0 and contract.bucket_floor(30.0) == 10.0
    assert math.isnan(contract.bucket_floor(math.nan)) and math.isnan(contract.bucket_floor(None))
