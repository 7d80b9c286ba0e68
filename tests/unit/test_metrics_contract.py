"""Every consumer takes its metric names and PromQL from instrumentation/metrics_contract.py:
the generated rule files are its output, and no consumer spells a metric of its own."""

import subprocess
import sys
from pathlib import Path

from alerting.summary import queries
from instrumentation import metrics_contract as contract
from instrumentation.metrics_contract import Scope

ROOT = Path(__file__).resolve().parents[2]


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
