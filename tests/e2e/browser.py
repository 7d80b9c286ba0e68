"""Debian's Chromium, headless, driven by Selenium through Debian's chromedriver:
a page is judged on what a person would see once it has finished rendering."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

ROOT = Path(__file__).resolve().parents[2]
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
    return driver.find_element(By.TAG_NAME, "body").text


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
