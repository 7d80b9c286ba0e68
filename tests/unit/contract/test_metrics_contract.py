"""Every consumer takes its metric names and PromQL from contract/mlotel_contract/__init__.py:
the generated rule files are its output, and no consumer spells a metric of its own; the
builders the console adds write PromQL a person could have typed, and PSI's arithmetic holds."""

import ast
import json
import math
import re
import subprocess
import sys

import mlotel_contract as contract
from harness.processes import ROOT
from mlotel_alerting.summary import queries
from mlotel_contract import Scope, confidence_buckets, for_model, model_versions

# Every metric and attribute name the contract holds (not words such as "instance").
NAMES = {value for name, value in vars(contract).items()
         if name.isupper() and isinstance(value, str) and re.fullmatch(r"[a-z][a-z0-9]*([._][a-z0-9]+)+", value)}
# Where names may be spelled: the contract itself, and tests, which assert on the wire name on purpose
# (a renamed constant must fail them), with the fake Prometheus they query and the model-server tests'
# shared assertions on what a real server sent.
ALLOWED = ("contract/", "tests/", "harness/alerting_fakes.py", "harness/served.py")
SOURCES = ("instrumentation", "ml_api", "alerting", "console", "backends", "service_kit", "scripts", "dashboards",
           "benchmarks", "harness")


def _code_strings(tree: ast.AST) -> list[str]:
    """The string constants of a module's code (f-strings' literal parts included), leaving out
    strings that stand alone as statements (docstrings, a constant's docstring below it): naming
    a metric there is the user manual, not a second spelling."""
    documentation = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in documentation]


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


def test_no_code_outside_the_contract_spells_a_metric_or_attribute_name():
    spelled = {}
    for path in sorted(p for folder in SOURCES for p in (ROOT / folder).rglob("*.py")):
        where = str(path.relative_to(ROOT))
        if where.startswith(ALLOWED):
            continue
        # Not followed by a word character: "ml.stage." in an f-string spells ml.stage, "ml_model_name_x" does not.
        found = {name for text in _code_strings(ast.parse(path.read_text())) for name in NAMES
                 if re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", text)}
        if found:
            spelled[where] = sorted(found)
    assert NAMES > {contract.PROM_DURATION, contract.ATTR_MODEL_NAME, contract.MODEL, contract.PROM_ALERTS}
    assert not spelled, f"take these from contract/mlotel_contract/__init__.py: {spelled}"


def test_importing_the_contract_loads_nothing_but_the_standard_library():
    probe = "import sys, mlotel_contract; print(sorted({m.split('.')[0] for m in sys.modules}))"
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", probe.replace("print(", "print(__import__('json').dumps(")
                                            + ")"], capture_output=True, text=True, check=True).stdout))
    assert "mlotel_contract" in loaded
    assert not {m for m in loaded if m.startswith("opentelemetry")}
    assert loaded - {"mlotel_contract"} <= set(sys.stdlib_module_names) | {"__main__", "_distutils_hack"}


def test_for_model_quotes_names_and_keeps_the_scope_s_own_matchers():
    scope = for_model('we"ird', "2", Scope(matchers='job="ml-api"', by=()))
    assert scope.matchers == 'job="ml-api", ml_model_name="we\\"ird", ml_model_version="2"'
    assert for_model("iris").matchers == 'ml_model_name="iris"'
    assert for_model("\U0001f600").matchers == 'ml_model_name="\U0001f600"'  # not JSON's surrogate pair


def test_confidence_baseline_is_the_same_increase_shifted_by_the_offset():
    now = confidence_buckets(Scope(window="1h", by=()))
    assert now == "sum by (le) (increase(ml_prediction_confidence_bucket[1h]))"
    assert confidence_buckets(Scope(window="1h", by=()), offset="1h") == now.replace("[1h]", "[1h] offset 1h")


def test_model_versions_groups_by_model_and_version():
    assert model_versions() == "group by (ml_model_name, ml_model_version) (ml_prediction_duration_seconds_count)"


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
