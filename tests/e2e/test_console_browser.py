"""The console in a real browser, on the native stack after a minute of load-generator
traffic: every page renders with data, a slow prediction's trace shows its stages,
a rule made to fire shows on the alerts page with the notification Alertmanager delivered
for it, and no page shows an exception.
Screenshots of each page go to .run/artifacts/console/ (the docs' images come from them)."""

import re
from datetime import UTC, datetime

import httpx
import pytest

from harness.browser import (
    chromium,
    click_chart_point,
    click_first_cell,
    exceptions,
    open_rendered,
    screenshot,
    table_cells,
    text,
)
from harness.native_stack import ALERTING, STACK_ENV, jaeger_trace, slow_prediction
from harness.processes import poll_until

pytestmark = [pytest.mark.integration, pytest.mark.browser]
CONSOLE = "http://127.0.0.1:8501"
RULE = "ConsoleE2eTrafficSeen"
render_seconds: dict[str, float] = {}


@pytest.fixture(scope="module")
def browser(traffic):
    driver = chromium()
    yield driver
    driver.quit()
    print("\nseconds from navigation to a rendered page: "
          + ", ".join(f"{page} {seconds:.2f}" for page, seconds in render_seconds.items()))


@pytest.fixture(scope="module")
def slow_trace_id(native_stack) -> str:
    trace_id, _ = slow_prediction()
    poll_until(lambda: jaeger_trace(trace_id), timeout=60, interval=0.5)
    return trace_id


made_at: dict[str, datetime] = {}  # rule name -> when the test made it


@pytest.fixture(scope="module")
def firing_rule(native_stack):
    """A rule that fires on any traffic, added through the alert-rule service's API."""
    token = native_stack.alerting_token()
    headers = {"Authorization": f"Bearer {token}"}
    body = {"expr": "sum by (ml_model_name) (rate(ml_predictions_total[2m])) > 0", "for": "0s",
            "labels": {"severity": "warning"}, "annotations": {"summary": "{{ labels.ml_model_name }} serves traffic"}}
    made_at[RULE] = datetime.now(UTC).replace(microsecond=0)
    response = httpx.put(f"{ALERTING}/rules/{RULE}", json=body, headers=headers, timeout=10)
    assert response.status_code in (200, 201), response.text
    poll_until(lambda: httpx.get(f"{ALERTING}/alerts/active", params={"rule": RULE}, timeout=10).json() or None,
               timeout=60, interval=1)
    # Alertmanager's default receiver is the service's webhook: it stores what arrives (group_wait 10 s).
    # Only this episode's: an earlier run on the same .run/ leaves its own.
    params = {"alertname": RULE, "status": "firing", "since": made_at[RULE].timestamp()}
    poll_until(lambda: httpx.get(f"{ALERTING}/notifications", params=params, timeout=10).json() or None,
               timeout=120, interval=1)
    yield RULE
    httpx.delete(f"{ALERTING}/rules/{RULE}", headers=headers, timeout=10)


def visit(driver, name: str, path: str) -> str:
    """Open a page, time it, screenshot it, and return its text; no page may show an exception."""
    render_seconds[name] = open_rendered(driver, CONSOLE + path)
    screenshot(driver, name)
    assert exceptions(driver) == [], f"{path} shows an exception"
    shown = text(driver)
    assert "Traceback" not in shown
    return shown


def table_rows(driver) -> list[dict[str, str]]:
    """Every table's rows as {header: cell}, from the grid Streamlit keeps for screen readers."""
    return driver.execute_script(r"""
        return [...document.querySelectorAll('[data-testid="stDataFrame"]')].flatMap(frame => {
            const headers = [...frame.querySelectorAll('th')].map(th => th.textContent);
            return [...frame.querySelectorAll('tr')].filter(tr => tr.querySelector('td')).map(tr =>
                Object.fromEntries([...tr.querySelectorAll('td')].map(td =>
                    [headers[Number(td.getAttribute('aria-colindex')) - 1], td.textContent])));
        });""")


def charts(driver) -> int:
    return len(driver.find_elements("css selector", '[data-testid="stPlotlyChart"] .main-svg'))


def test_a_deep_link_opens_inside_the_consoles_navigation(browser):
    # First in this file: on a console nobody has visited yet, a link like an alert's to /slow
    # must not get Streamlit's bare page list (it did while the pages lived in pages/).
    visit(browser, "deep-link", "/alerts")
    sidebar = browser.find_element("css selector", '[data-testid="stSidebarNav"]').text
    assert "Slow predictions" in sidebar and "Overview" in sidebar, sidebar
    assert browser.find_element("css selector", '[data-testid="stMain"] h1').text == "Alerts"


def test_overview_shows_each_model_with_numbers_and_charts(browser):
    shown = visit(browser, "overview", "/")
    assert "iris" in shown and "digits" in shown
    assert table_cells(browser, 0)[:1] and all(float(rate) > 0 for rate in table_cells(browser, 1))  # requests/s
    assert charts(browser) >= 3  # the gauges at least


def test_models_page_shows_the_confidence_distribution_of_a_model(browser):
    shown = visit(browser, "models", "/models?model=digits")
    assert "digits" in shown and "PSI" in shown
    assert charts(browser) >= 3


def drawn(driver, title: str, selector: str) -> int:
    """How many ``selector`` elements (``.point``, ``.trace``) the Plotly chart titled ``title`` drew; -1: no such chart."""
    return driver.execute_script("""
        const chart = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
            .find(c => (c.querySelector('.gtitle') || {}).textContent === arguments[0]);
        return chart ? chart.querySelectorAll('.scatterlayer ' + arguments[1]).length : -1;""", title, selector)


def test_models_page_shows_accuracy_against_its_estimate_and_the_reliability_diagram(browser):
    """The traffic fixture sends labels back for half the predictions, 20% of them wrong."""
    shown = visit(browser, "models-accuracy", "/models?model=iris&range=5m")
    assert "Is the model right?" in shown
    accuracy = re.search(r"realized accuracy\s+([\d.]+)%", shown)
    estimate = re.search(r"estimated accuracy\s+([\d.]+)%", shown)
    assert accuracy and estimate, shown[-1500:]
    assert 65 <= float(accuracy.group(1)) <= 92, accuracy.group(0)  # 80% expected, a few hundred labels
    assert re.search(r"calibration error \(ECE\)\s+0\.\d{3}", shown)
    assert drawn(browser, "iris reliability diagram", ".point") >= 1  # a bin with scored predictions
    assert drawn(browser, "iris accuracy over time", ".trace") == 2


def test_resources_page_shows_process_host_and_endpoints(browser):
    shown = visit(browser, "resources", "/resources")
    assert "/predict" in shown
    assert charts(browser) >= 2


def test_a_slow_predictions_trace_shows_its_server_predict_and_stage_spans(browser, slow_trace_id):
    shown = visit(browser, "trace", f"/trace?trace_id={slow_trace_id}")
    for span in ("POST /predict", "predict digits", "preprocess", "inference", "postprocess"):
        assert span in shown, f"{span} missing from the trace page"
    assert " ms" in shown
    assert charts(browser) >= 1  # the waterfall


def test_slow_predictions_are_listed_slowest_first_and_a_click_on_a_row_opens_its_trace(browser, slow_trace_id):
    threshold = float(STACK_ENV["SLOW_PREDICTION_MS"])
    shown = visit(browser, "slow", f"/slow?model=digits&min_ms={threshold:g}&since=1h")
    assert "inference ms" in shown
    # The table shows the rows in view (a canvas); its first rows are the slowest.
    listed, predict_ms = table_cells(browser, 0), [float(ms) for ms in table_cells(browser, 2)]
    assert listed and all(link.startswith("/trace?trace_id=") for link in listed)
    assert predict_ms == sorted(predict_ms, reverse=True) and predict_ms[-1] >= threshold
    list_page = browser.current_window_handle
    click_first_cell(browser)
    poll_until(lambda: len(browser.window_handles) > 1 or None, timeout=10, interval=0.2)
    browser.switch_to.window(next(h for h in browser.window_handles if h != list_page))
    try:
        assert browser.current_url.endswith(listed[0]), browser.current_url
        open_rendered(browser, browser.current_url)
        assert "predict digits" in text(browser)
    finally:
        browser.close()
        browser.switch_to.window(list_page)


def test_a_click_on_a_latency_exemplar_opens_its_trace(browser):
    visit(browser, "slow-exemplars", "/slow?since=1h")
    click_chart_point(browser)
    url = poll_until(lambda: browser.current_url if "/trace?trace_id=" in browser.current_url else None,
                     timeout=15, interval=0.2)
    open_rendered(browser, url)
    assert exceptions(browser) == []
    # A fast exemplar's trace was kept at 10%: the page must then say it is not in Jaeger.
    trace_id = url.rsplit("=", 1)[1]
    expected = "POST /predict" if jaeger_trace(trace_id) else f"Jaeger has no trace {trace_id}"
    assert expected in text(browser)


def test_alerts_page_shows_a_rule_made_to_fire(browser, firing_rule):
    shown = visit(browser, "alerts", "/alerts")
    assert firing_rule in shown
    assert "firing" in shown.lower() or "pending" in shown.lower()
    slow_links = [cell for cell in text(browser).splitlines() if cell.startswith("/slow?model=")]
    assert slow_links, "the alert does not link to its model's slow predictions"


def test_alerts_page_shows_the_notification_alertmanager_delivered(browser, firing_rule):
    visit(browser, "alerts-notifications", "/alerts")
    delivered = [row for row in table_rows(browser) if "receiver" in row and row.get("alert") == firing_rule]
    assert delivered, "no delivered notification of the rule made to fire on /alerts"
    # This episode's (an earlier run on the same .run/ leaves its own): delivered since the rule was made.
    this_episode = [row for row in delivered if datetime.fromisoformat(row["delivered at"]).replace(tzinfo=UTC)
                    >= made_at[firing_rule]]
    assert {(row["status"], row["receiver"]) for row in this_episode} == {("firing", "webhook")}
    assert all(row["delivered at"].startswith("20") for row in delivered)
