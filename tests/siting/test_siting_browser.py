"""The atlas's NSP siting overlays in a real headless Chromium, on the demo drop."""

from __future__ import annotations

import pytest
from chromium import open_page as _open
from click.testing import CliRunner
from conftest import ROOT
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from atlas.cli import main

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("siting_demo") / "demo"
    result = CliRunner().invoke(
        main, ["build", str(ROOT / "builders" / "demo.toml"), "--out", str(out), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    return out


def _tick(driver, label):
    driver.find_element(By.XPATH, f"//label[normalize-space(.)='{label}']/input").click()


def test_siting_overlays_show_ranked_sites_and_their_legend(browser, demo):
    _open(browser, demo / "atlas.html")
    legend = browser.find_element(By.ID, "siting-legend")
    assert not legend.is_displayed()
    assert browser.find_elements(By.CSS_SELECTOR, ".nsp-rank") == []
    _tick(browser, "NSP siting: existing and recommended sites")
    ranks = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".nsp-rank")]
    with open(demo / "tables" / "nsp_siting.csv") as fh:
        expected = [line.split(",")[0] for line in fh.read().splitlines()[2:]]
    assert sorted(ranks) == sorted(expected) and len(ranks) == 5
    assert legend.is_displayed() and "recommended site (rank)" in legend.text
    assert "not covered" not in legend.text  # only the ticked overlay's key
    # a site with a hostile name, reached with the keyboard: its popup shows the name as text
    name = 'St Mary\'s & "Young People" <Service>'
    marker = next(
        m
        for m in browser.find_elements(By.CSS_SELECTOR, ".nsp-existing")
        if m.get_attribute("title") == f"Existing NSP site: {name}"
    )
    browser.execute_script("arguments[0].focus()", marker)
    marker.send_keys(Keys.ENTER)
    popup = browser.find_element(By.CSS_SELECTOR, ".leaflet-popup-content")
    assert popup.get_attribute("textContent").startswith(name + "Existing NSP site"), (
        popup.get_attribute("textContent")
    )
    assert browser.execute_script("return document.getElementsByTagName('service').length") == 0
    _tick(browser, "NSP siting: need not covered today")
    shaded = browser.execute_script(
        "return Array.from(document.querySelectorAll('path.leaflet-interactive'))"
        ".filter(p => p.getAttribute('fill') === '#c6dbef').length"
    )
    assert shaded > 0  # LSOAs covered today
    assert "covered today (within 1,000 m)" in legend.text
    # the demo asks for OSM tiles, which fail offline; no script error is allowed
    assert [
        e
        for e in browser.get_log("browser")
        if e["level"] == "SEVERE" and e.get("source") != "network"
    ] == []
