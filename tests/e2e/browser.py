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


def _finished(driver: webdriver.Chrome) -> bool:
    """Streamlit has run the page's script and drawn every chart it produced."""
    if not driver.find_elements(By.CSS_SELECTOR, '[data-testid="stMain"] h1'):
        return False
    if driver.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"] , [data-testid="stSkeleton"]'):
        return False
    charts = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stPlotlyChart"]')
    return all(chart.find_elements(By.CSS_SELECTOR, ".main-svg") for chart in charts)


def open_rendered(driver: webdriver.Chrome, url: str, timeout: float = 30.0) -> float:
    """Navigate to ``url`` and wait until it has rendered; the seconds that took."""
    started = time.monotonic()
    driver.get(url)
    stable_since = None
    while time.monotonic() - started < timeout:
        if _finished(driver):
            # Finished twice, 300 ms apart: a rerun between script and charts is not "done".
            stable_since = stable_since or time.monotonic()
            if time.monotonic() - stable_since >= 0.3:
                return stable_since - started
        else:
            stable_since = None
        time.sleep(0.05)
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
