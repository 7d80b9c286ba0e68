"""Every dashboard panel's query, variables substituted, returns data from the live
Prometheus once the load generator has run: a panel that can never show data is a bug."""

import json
import re
from pathlib import Path

import pytest

from harness.native_stack import prometheus
from harness.processes import poll_until

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SUBSTITUTIONS = {"$__rate_interval": "2m", "$model": ".*", "$version": ".*", "$instance": ".*", "$gateway": ".*"}


def substituted(expr: str) -> str:
    for variable, value in SUBSTITUTIONS.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"unsubstituted variable in {expr}"
    return expr


def panel_queries() -> list[tuple[str, str, str]]:
    queries = []
    for path in sorted((ROOT / "dashboards" / "json").glob("*.json")):
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                queries.append((dashboard["title"], f"{panel['title']} [{target['refId']}]", target["expr"]))
        for variable in dashboard["templating"].get("list", []):
            metric, label = re.fullmatch(r"label_values\((.+), (\w+)\)", variable["query"]).groups()
            queries.append((dashboard["title"], f"variable {variable['name']}", f"group by ({label}) ({metric})"))
    return queries


@pytest.mark.parametrize(("dashboard", "panel", "expr"), panel_queries(), ids=lambda v: v if len(v) < 60 else None)
def test_every_panel_shows_data(traffic, dashboard, panel, expr):
    poll_until(lambda: prometheus(substituted(expr)), timeout=60, interval=2)
