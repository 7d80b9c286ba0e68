"""From the latency alert to its slow predictions, in Chromium on the native stack.

The doc's latency recipe (docs/tracing-a-slow-prediction.md) runs until the real
``PredictionLatencyHigh`` rule (the shipped default, ``for: 2m``; only the evaluation
interval is the tests' 5 s) fires for digits. Its ``trace_url`` and the overview's
"slower than p95 ›" each open a list of the predictions that made it fire, slowest
first, with the slowest Jaeger has among them, and each listed row opens its
waterfall. Then the first visit of a freshly restarted console, timed against a later one.

    scripts/run_pytest.sh -s tests/e2e/test_alert_to_slow_predictions.py   # -s prints the figures
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from harness.browser import chromium, exceptions, open_rendered, screenshot, table_cells, text
from harness.native_stack import ALERTING, ALERTMANAGER, JAEGER
from harness.processes import ROOT, poll_until

# The fixture waits up to 7 minutes for the alert (pytest's default timeout is 5): fired in 148-169 s here.
pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.timeout(900)]
CONSOLE = "http://127.0.0.1:8501"
RULE = "PredictionLatencyHigh"
# The doc's recipe at 30 requests/s instead of 10: on a quiet 2-core host a 1,000-row digits batch is answered
# in ~150 ms and at 10/s the p95 stays under the rule's 0.5 s (it did not fire in 420 s); 30/s is more than two
# cores answer, so batches queue as they do on a busy host and the p95 crosses it.
RECIPE = ["--models", "digits=1", "--slow-fraction", "1", "--ood-fraction", "0", "--rate", "30", "--duration", "60"]
FIRST_VISIT_LIMIT_S = 2.0


def _firing() -> dict | None:
    active = httpx.get(f"{ALERTING}/alerts/active", params={"rule": RULE}, timeout=10).json()
    return next((a for a in active if a["state"] == "firing" and a["labels"].get("ml_model_name") == "digits"), None)


@pytest.fixture(scope="module")
def latency_alert(native_stack) -> dict:
    """The recipe's load, until the latency alert fires for digits."""
    started = time.monotonic()
    load = subprocess.Popen([sys.executable, "-m", "mlotel_model_server.loadgen", *RECIPE, "--quiet"],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        alert = poll_until(_firing, timeout=420, interval=2)
        fired = time.monotonic() - started
    finally:
        summary, _ = load.communicate(timeout=600)
    print(f"\n{RULE} firing {fired:.0f} s after the recipe started; the load generator said:\n{summary}")
    return alert


@pytest.fixture(scope="module")
def browser():
    driver = chromium()
    yield driver
    driver.quit()


def _slowest_in_jaeger(min_ms: float) -> float:
    """The slowest ``predict digits`` span Jaeger has from the last hour, in ms: every match, not its newest page."""
    found = httpx.get(f"{JAEGER}/api/traces", params={"service": "ml-api", "operation": "predict digits",
                      "minDuration": f"{min_ms:g}ms", "lookback": "1h", "limit": 5000}, timeout=60).json()["data"]
    assert 0 < len(found) < 5000
    return max(s["duration"] for t in found for s in t["spans"] if s["operationName"] == "predict digits") / 1000


def _lists_the_slowest_each_opening_its_waterfall(driver, url: str, name: str) -> list[float]:
    """Open a slow-predictions link; check its rows against Jaeger and open each row's trace."""
    open_rendered(driver, url)
    screenshot(driver, name)
    assert exceptions(driver) == []
    shown = text(driver)
    assert "None of the predictions" not in shown and "has no prediction" not in shown, shown[:800]
    min_ms = float(parse_qs(urlsplit(url).query)["min_ms"][0])
    links, predict_ms = table_cells(driver, 0), [float(ms.replace(",", "")) for ms in table_cells(driver, 2)]
    assert links and predict_ms == sorted(predict_ms, reverse=True) and predict_ms[-1] >= min_ms
    assert predict_ms[0] == pytest.approx(_slowest_in_jaeger(min_ms), abs=0.1)
    for link in links:
        open_rendered(driver, CONSOLE + link)
        page = text(driver)
        assert "POST /predict" in page and "predict digits" in page and "inference" in page, page[:500]
        assert driver.find_elements("css selector", '[data-testid="stPlotlyChart"] .main-svg'), "no waterfall"
    print(f"{name}: {url} lists {len(links)} rows in view, {predict_ms[0]:,.0f} to {predict_ms[-1]:,.0f} ms; "
          f"each opened its waterfall")
    return predict_ms


def _alert_and_alertmanagers_copy() -> tuple[dict, list[dict]] | None:
    """The firing alert and Alertmanager's copy of it, once both carry the same link."""
    alert = _firing()
    held = [a for a in httpx.get(f"{ALERTMANAGER}/api/v2/alerts", timeout=10).json()
            if a["labels"].get("alertname") == RULE]
    if alert is None or not held or {a["annotations"]["trace_url"] for a in held} != {alert["trace_url"]}:
        return None
    return alert, held


def test_the_alerts_link_lists_the_predictions_that_made_it_fire(browser, latency_alert):
    assert latency_alert["trace_url"].startswith(f"{CONSOLE}/slow?model=digits&min_ms=")
    # Alertmanager's copy carries the same link: the Slack message or email opens these rows. The link
    # follows the p95's histogram bucket, which moves while the load runs, and Alertmanager holds the one
    # last posted (every resend interval, 60 s): compared with the alert as it is now until they agree.
    alert, _ = poll_until(_alert_and_alertmanagers_copy, timeout=150, interval=2)
    url = alert["trace_url"]
    assert url.startswith(f"{CONSOLE}/slow?model=digits&min_ms=")
    p95_ms = alert["value"] * 1000
    listed = _lists_the_slowest_each_opening_its_waterfall(browser, url, "slow-from-alert")
    print(f"the alert's p95 {p95_ms:,.0f} ms; its link searches from {url.split('min_ms=')[1].split('&')[0]} ms")
    assert listed


def test_the_overviews_link_lists_the_slowest_predictions(browser, latency_alert):
    open_rendered(browser, CONSOLE + "/")
    link = next(cell for cell in text(browser).splitlines() if cell.startswith("/slow?model=digits"))
    _lists_the_slowest_each_opening_its_waterfall(browser, CONSOLE + link, "slow-from-overview")


def test_the_first_visit_of_a_freshly_started_console_costs_no_more_than_a_later_one(browser, native_stack):
    # A browser that has the console's scripts (a returning user, the alert's reader): what is timed is the server's.
    # Twice: Chromium keeps a script's compiled code from its second run on.
    open_rendered(browser, CONSOLE + "/")
    open_rendered(browser, CONSOLE + "/?range=6h")
    console = next(service for service in native_stack.services() if service.name == "console")
    native_stack.stop(console)
    native_stack.start(console)
    first = open_rendered(browser, CONSOLE + "/")
    # Another time range: the pages' code is warm, but its data is not cached, so it is asked for as the first was.
    later = open_rendered(browser, CONSOLE + "/?range=15m")
    load = Path("/proc/loadavg").read_text().split()[0]
    print(f"\nfreshly started console: first visit {first:.2f} s, a later one asking its own data {later:.2f} s "
          f"(load average {load})")
    # 2 s on a quiet host. On a busy one the first visit used to take 2.8-3.8 times a later one (load average 18-20:
    # 11.3 s against 4.1, 7.7 against 2.0); with the pages' imports done before serving, 1.1-2.1 times.
    assert first <= max(FIRST_VISIT_LIMIT_S, 2.5 * later)
