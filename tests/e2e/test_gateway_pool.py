"""`make up SIDECAR=1 GATEWAYS=2` on the running native stack: two gateways behind the
sidecar, each scraped by Prometheus as an instance of its own and shown by the
collector dashboard's per-gateway queries, predictions' spans spread over both; then
`make up` takes the stack back to one gateway."""

import httpx
import pytest

import mlotel_contract as contract
from harness.native_stack import API, PROMETHEUS, prometheus
from harness.processes import poll_until

pytestmark = pytest.mark.integration
IRIS_ROW = [5.1, 3.5, 1.4, 0.2]


@pytest.fixture
def pool(native_stack):
    native_stack.up(sidecar=True, gateways=2)
    try:
        yield native_stack
    finally:
        native_stack.up()


def instances(expr: str) -> set[str]:
    return {series["metric"].get("instance", "") for series in prometheus(expr)}


def test_two_gateways_behind_the_sidecar_each_scraped_and_each_given_traces(pool):
    gateways = {"127.0.0.1:8888", "127.0.0.1:8988"}

    def scraped() -> set[str]:
        targets = httpx.get(f"{PROMETHEUS}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
        return {t["labels"]["instance"] for t in targets if t["labels"]["job"] == contract.COLLECTOR_JOB}
    # Prometheus applies reloaded targets within its discovery's 5 s update interval.
    poll_until(lambda: scraped() == gateways, timeout=30, interval=0.5)
    poll_until(lambda: instances(f'up{{job="{contract.COLLECTOR_JOB}"}} == 1') == gateways, timeout=60, interval=1)
    for _ in range(60):  # sixty traces: both gateways get some, by trace id
        httpx.post(f"{API}/predict", json={"model": "iris", "instances": [IRIS_ROW]}, timeout=10).raise_for_status()
    accepted = contract.collector_gauge(contract.PROM_RECEIVER_ACCEPTED_SPANS, contract.COLLECTORS)
    poll_until(lambda: instances(f"{accepted} > 0") == gateways, timeout=60, interval=1)
    # The dashboard's gateway variable and its per-gateway panels see both.
    assert instances(f"group by (instance) ({contract.COLLECTORS.select(contract.PROM_COLLECTOR_RSS)})") == gateways
    # A rate needs two scrapes of a counter the gateway creates with its first decision: polled.
    dropped_rate = contract.traces_dropped_too_early_rate(contract.COLLECTORS(window="1m"))
    poll_until(lambda: instances(dropped_rate) == gateways, timeout=60, interval=1)
