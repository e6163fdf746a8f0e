"""Debian's headless Chromium for the browser tests, offline: the ``browser`` fixture (a plugin
of tests/conftest.py) and page helpers. A test that asks for ``browser`` is skipped, with the
reason, when chromium is missing, and fails under CI, which must have it."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from selenium import webdriver

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium that can reach no network address."""
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("CI"):
            raise RuntimeError("CI needs Debian's chromium and chromium-driver (make setup-test)")
        pytest.skip("Debian's chromium and chromium-driver are not installed (make setup-test)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(
        service=webdriver.ChromeService(executable_path=CHROMEDRIVER), options=options
    )
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["http://*", "https://*"]})
    yield driver
    driver.quit()


def errors(driver):
    """The console's severe messages so far."""
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def open_page(driver, page):
    """Open a local page and wait until the atlas says it is ready."""
    driver.get(page.as_uri())
    for _ in range(50):
        if driver.execute_script("return document.body.dataset.ready") == "true":
            return
        time.sleep(0.1)
    raise AssertionError("the page never became ready: " + repr(errors(driver)))


AXE = Path(__file__).resolve().parents[1] / "node_modules" / "axe-core" / "axe.min.js"
WCAG22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def axe_violations(driver):
    """axe-core's WCAG 2.2 AA violations on the open page (injected from node_modules, set up
    by ``make setup-test``), as "rule: target" lines. Skipped without axe-core, failed under CI."""
    if not AXE.is_file():
        if os.environ.get("CI"):
            raise RuntimeError("CI needs axe-core in node_modules (make setup-test: npm ci)")
        pytest.skip("axe-core is not installed (make setup-test runs npm ci)")
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    driver.set_script_timeout(60)
    found = driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: "
        "['violations']}).then(function (r) { done(r.violations.map(function (v) {"
        " return v.id + ': ' + v.nodes.slice(0, 3).map(function (n) {"
        " return n.target.join(' ') + ' (' + (n.failureSummary || '').replace(/\\s+/g, ' ')"
        " .slice(0, 160) + ')'; }).join('; '); })); },"
        " function (e) { done(['axe failed: ' + e]); });",
        WCAG22_AA,
    )
    return found
