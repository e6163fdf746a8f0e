"""The atlas page in a real headless Chromium (Debian's), offline, clicked as a user would."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from atlas.drop import build
from atlas.recipe import load_recipe
from conftest import client, intervention, nsp, write_extract, write_recipe

pytestmark = pytest.mark.browser

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
if not (CHROMIUM and CHROMEDRIVER):
    if os.environ.get("CI"):
        raise RuntimeError("CI needs Debian's chromium and chromium-driver (make setup-test)")
    pytest.skip("Debian's chromium and chromium-driver are not installed (make setup-test)",
                allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

EVIL = "</script><script>alert(1)</script>"


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,900"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER),
                              options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    root = tmp_path_factory.mktemp("atlas")
    from conftest import write_geography
    geo = write_geography(root / "geo")
    sites = [{"site_code": "S1", "site_name": EVIL, "site_type": "agency",
              "postcode": "AA1 1AA", "services": "NSP;BI"},
             {"site_code": "S2", "site_name": "Beta Pharmacy", "site_type": "pharmacy",
              "postcode": "BB1 1AA", "services": "NSP"}]
    people = [client(f"C{i}", fi=chr(65 + i % 26), li=chr(65 + i // 26), postcode="AA1 1AA")
              for i in range(12)]
    extract = write_extract(root / "ex", {
        "sites.csv": sites, "clients.csv": people,
        "nsp_transactions.csv": [nsp(f"T{i}", f"C{i}") for i in range(7)]
        + [nsp("T7", "C0", site="S2"), nsp("T8", "C1", site="S2")],
        "interventions.csv": [intervention(f"I{i}", f"C{i}") for i in range(7, 12)]})
    out = build(load_recipe(write_recipe(root, geo, extract)), root / "drop").out_dir
    return out / "atlas.html"


def _errors(driver):
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_atlas_opens_offline_with_no_errors_and_no_network(browser, page):
    browser.get(page.as_uri())
    time.sleep(0.5)
    assert _errors(browser) == []
    requests = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    assert [r for r in requests if not r.startswith("file:")] == []
    assert browser.execute_script("return typeof L") == "object"
    shapes = browser.find_elements(By.CSS_SELECTOR, "path.leaflet-interactive")
    assert len(shapes) >= 4  # the four LSOAs of the active cohort, plus site markers


def test_cohort_layers_are_exclusive_and_the_legend_follows(browser, page):
    browser.get(page.as_uri())
    radios = browser.find_elements(By.CSS_SELECTOR, "input.leaflet-control-layers-selector"
                                                    "[type=radio]")
    labels = [r.find_element(By.XPATH, "..").text.strip() for r in radios]
    assert labels == ["All individuals", "PWID: psychoactive drugs", "PWID: steroids & IPEDs",
                      "BI: drug or alcohol"]
    legend = browser.find_element(By.ID, "atlas-legend")
    assert legend.text.startswith("All individuals")
    radios[3].click()
    assert legend.text.startswith("BI: drug or alcohol")
    assert "suppressed (fewer than 5)" in legend.text


def test_a_hostile_site_name_shows_as_text_and_runs_nothing(browser, page):
    browser.get(page.as_uri())
    time.sleep(0.3)
    texts = browser.execute_script("""
        var markers = [];
        Object.keys(window).forEach(function(k) {
          var v = window[k];
          if (v && v instanceof L.FeatureGroup) v.eachLayer(function(m) {
            if (m instanceof L.CircleMarker && m.getPopup()) markers.push(m); });
        });
        return markers.map(function(m) {
          m.openPopup();
          var text = m.getPopup().getElement().textContent;
          m.closePopup();
          return text; });""")
    assert any(EVIL in t for t in texts), texts
    assert any("Beta Pharmacy" in t and "Individuals: fewer than 5" in t for t in texts), texts
    assert browser.execute_script(
        "return [...document.scripts].filter(s => s.textContent.includes('alert(1)') "
        "&& !s.textContent.includes('u003c')).length") == 0
    assert _errors(browser) == []
