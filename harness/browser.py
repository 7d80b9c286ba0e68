"""Debian's Chromium, headless, driven by Selenium through Debian's chromedriver:
a page is judged on what a person would see once it has finished rendering."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from harness.processes import ROOT

# Screenshots of every page a test opens: CI's artifacts, and the docs' images.
ARTIFACTS = ROOT / ".run" / "artifacts" / "console"


def chromium() -> webdriver.Chrome:
    options = Options()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1440,1100"):
        options.add_argument(argument)
    # The driver from Debian's chromium-driver, so Selenium never tries to download one.
    return webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)


# Streamlit draws in steps: the script's elements, then Plotly's lazily loaded
# bundle draws the charts. Done = the script has finished, every chart has its
# SVG, and the page has not changed for QUIET_MS.
QUIET_MS = 600
_WATCH = """
if (!window.__mlotelWatch) {
  window.__mlotelWatch = true; window.__lastChange = performance.now();
  new MutationObserver(() => { window.__lastChange = performance.now(); })
    .observe(document.documentElement, {subtree: true, childList: true, characterData: true});
}
const app = document.querySelector('[data-testid="stApp"]');
const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')];
return {state: app && app.getAttribute('data-test-script-state'), now: performance.now(),
        last: window.__lastChange, drawn: charts.every(c => c.querySelector('.main-svg'))};
"""


def open_rendered(driver: webdriver.Chrome, url: str, timeout: float = 30.0) -> float:
    """Navigate to ``url``, wait until it has rendered, and return the seconds from navigation
    to the page's last change (the browser's own clock, so polling adds nothing)."""
    driver.get(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = driver.execute_script(_WATCH)
        if seen["state"] == "notRunning" and seen["drawn"] and seen["now"] - seen["last"] >= QUIET_MS:
            return seen["last"] / 1000
        time.sleep(0.1)
    raise AssertionError(f"{url} did not finish rendering in {timeout} s; it shows: {text(driver)[:500]}")


def text(driver: webdriver.Chrome) -> str:
    """The page's visible text, and the cells of its tables: Streamlit draws a table on a
    canvas and keeps its headers and cells, as a screen reader reads them, in a hidden grid."""
    return driver.execute_script(r"""
        const cells = [...document.querySelectorAll('[data-testid="stDataFrame"] th, [data-testid="stDataFrame"] td')].map(td => td.textContent);
        return document.body.innerText + '\n' + cells.join('\n');""")


def table_cells(driver: webdriver.Chrome, column: int) -> list[str]:
    """The cells of one column (0 = first) of the page's first table."""
    return driver.execute_script(
        "return [...document.querySelectorAll('[data-testid=\"stDataFrame\"] td[aria-colindex=\"' + arguments[0] + '\"]')]"
        ".map(td => td.textContent);", column + 1)


def click_first_cell(driver: webdriver.Chrome) -> None:
    """Click the first row's first cell of the page's first table, where a person would."""
    frame = driver.find_element(By.CSS_SELECTOR, '[data-testid="stDataFrame"]')
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", frame)
    # The header row and half a row down, 60 px in: inside the first cell whatever the widths.
    header = row = 35
    ActionChains(driver).move_to_element_with_offset(
        frame, -frame.rect["width"] / 2 + 60, -frame.rect["height"] / 2 + header + row / 2).click().perform()


# The index of a point no other point overlaps (a click there selects it alone), or of the last one.
_LONE_POINT = """
const points = [...document.querySelectorAll('[data-testid="stPlotlyChart"] .scatterlayer path.point')];
const centers = points.map(p => { const r = p.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; });
const lone = centers.findLastIndex(([x, y], i) =>
    centers.every(([u, v], j) => i === j || Math.hypot(x - u, y - v) > 12));
return lone >= 0 ? lone : points.length - 1;
"""


def click_chart_point(driver: webdriver.Chrome) -> None:
    """Click one point of the page's first Plotly scatter chart, one that no other point covers."""
    points = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stPlotlyChart"] .scatterlayer path.point')
    point = points[driver.execute_script(_LONE_POINT)]
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", point)
    ActionChains(driver).move_to_element(point).click().perform()


def screenshot(driver: webdriver.Chrome, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    # The whole page, not only the window: resize to the content's height first.
    height = driver.execute_script(
        "const m = document.querySelector('[data-testid=\"stMain\"]'); return m ? m.scrollHeight : 1100;")
    driver.set_window_size(1440, max(1100, min(int(height) + 120, 6000)))
    driver.save_screenshot(str(path))
    driver.set_window_size(1440, 1100)
    return path


def exceptions(driver: webdriver.Chrome) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')]
