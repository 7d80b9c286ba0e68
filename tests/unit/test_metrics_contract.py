"""Every consumer takes its metric names and PromQL from instrumentation/metrics_contract.py:
the generated rule files are its output, and no consumer spells a metric of its own."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_checked_in_rule_files_are_the_generators_output():
    result = subprocess.run([sys.executable, "scripts/generate_rules.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
