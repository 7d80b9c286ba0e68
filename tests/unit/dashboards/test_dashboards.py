"""The dashboard JSON in the repo is exactly what dashboards/generate.py builds, and
every panel and variable points at the provisioned datasources."""

import json
import subprocess
import sys

import yaml

from harness.processes import ROOT

DASHBOARDS = sorted((ROOT / "dashboards" / "json").glob("*.json"))


def test_the_checked_in_json_is_the_generators_output():
    result = subprocess.run([sys.executable, "dashboards/generate.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_three_dashboards_with_unique_uids_and_the_provisioned_datasources():
    provisioned = yaml.safe_load((ROOT / "dashboards/provisioning/datasources/datasources.yml").read_text())
    uids = {source["uid"] for source in provisioned["datasources"]}
    dashboards = [json.loads(path.read_text()) for path in DASHBOARDS]
    assert sorted(d["title"] for d in dashboards) == ["Collector pipeline", "ML API overview", "System resources"]
    assert len({d["uid"] for d in dashboards}) == 3
    for dashboard in dashboards:
        for panel in dashboard["panels"]:
            if panel["type"] != "row":
                assert panel["datasource"]["uid"] in uids and panel["targets"], panel["title"]
                assert len({t["refId"] for t in panel["targets"]}) == len(panel["targets"])
        for variable in dashboard["templating"].get("list", []):
            assert variable["datasource"]["uid"] in uids
    prometheus = next(s for s in provisioned["datasources"] if s["uid"] == "prometheus")
    assert prometheus["jsonData"]["exemplarTraceIdDestinations"] == [{"name": "trace_id", "datasourceUid": "jaeger"}]
