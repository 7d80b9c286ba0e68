"""Long-term metrics: the Prometheus config scripts/stack/ writes with
LONG_TERM_METRICS=1 remote-writes every sample to a real VictoriaMetrics (Debian's),
whose PromQL answers with the series Prometheus has, and which keeps them for
its retention."""

import subprocess
from pathlib import Path

import httpx
import pytest
import yaml

from harness.processes import free_port, poll_until
from scripts import stack

pytestmark = pytest.mark.integration


def query(base: str, promql: str) -> dict[str, str]:
    """Each series' labels (as a sorted string) and value."""
    try:
        response = httpx.get(f"{base}/api/v1/query", params={"query": promql}, timeout=5)
    except httpx.HTTPError:
        return {}
    if response.status_code != 200:
        return {}
    return {str(sorted(r["metric"].items())): r["value"][1] for r in response.json()["data"]["result"]}


def started(command: list[str], health: str, log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    poll_until(lambda: process.poll() is not None or answers(health), timeout=30, interval=0.2)
    assert process.poll() is None, log.read_text()[-2000:]
    return process


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_prometheus_samples_reach_victoria_metrics_and_answer_promql_there(tmp_path, monkeypatch):
    victoria, prometheus = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("VICTORIA_RETENTION", "3")
    # The stack's own command line, on this test's port and directory.
    moved = {"-httpListenAddr": victoria, "-storageDataPath": str(tmp_path / "vm")}
    command = [f"{arg.split('=')[0]}={moved[arg.split('=')[0]]}" if arg.split("=")[0] in moved else arg
               for arg in stack.long_term_store().command]
    config = yaml.safe_load(stack.prometheus_config(stack.gateway_pool(False, 1), False, f"http://{victoria}/api/v1/write"))
    config["global"]["scrape_interval"] = "1s"
    for job in config["scrape_configs"]:  # the stack's fixed ports are not this test's
        if job["job_name"] in ("prometheus", "victoria-metrics"):
            job["static_configs"] = [{"targets": [prometheus if job["job_name"] == "prometheus" else victoria]}]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    store = started(command, f"http://{victoria}/health", tmp_path / "victoria.log")
    try:
        scraper = started(["prometheus", f"--config.file={tmp_path / 'prometheus.yml'}",
                           f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address={prometheus}"],
                          f"http://{prometheus}/-/ready", tmp_path / "prometheus.log")
        try:
            promql = 'up{job=~"prometheus|victoria-metrics"}'
            poll_until(lambda: len(query(f"http://{prometheus}", promql)) == 2, timeout=30, interval=0.5)
            # VictoriaMetrics holds the same two series (both targets up), written there by Prometheus alone.
            remote = poll_until(lambda: (found := query(f"http://{victoria}", promql)) and len(found) == 2 and found,
                                timeout=60, interval=1)
            assert remote.keys() == query(f"http://{prometheus}", promql).keys()
            assert set(remote.values()) == {"1"}
            sent = query(f"http://{prometheus}", "prometheus_remote_storage_samples_total")
            assert sent and all(float(v) > 0 for v in sent.values())
            # Its retention is the stack's setting, as the store itself reports it.
            flags = httpx.get(f"http://{victoria}/metrics", timeout=5).text
            assert 'flag{name="retentionPeriod", value="3"' in flags.replace(",value", ", value"), flags[:500]
        finally:
            scraper.terminate()
            scraper.wait(timeout=20)
    finally:
        store.terminate()
        store.wait(timeout=20)
