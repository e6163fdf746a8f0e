"""The atlas's NSP siting overlays in a real headless Chromium, on the demo drop."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

from atlas.cli import main
from conftest import ROOT

pytest.importorskip("selenium")
from test_atlas_browser import browser  # noqa: E402,F401  (the shared Chromium fixture)
from selenium.webdriver.common.by import By  # noqa: E402

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("siting_demo") / "demo"
    result = CliRunner().invoke(main, ["build", str(ROOT / "builders" / "demo.toml"),
                                       "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return out


def test_siting_overlays_show_ranked_sites_and_their_legend(browser, demo):  # noqa: F811
    browser.get((demo / "atlas.html").as_uri())
    time.sleep(0.5)
    legend = browser.find_element(By.ID, "siting-legend")
    assert not legend.is_displayed()
    assert browser.find_elements(By.CSS_SELECTOR, ".nsp-rank") == []
    labels = {e.text.strip(): e for e in browser.find_elements(
        By.CSS_SELECTOR, ".leaflet-control-layers-overlays label")}
    labels["NSP siting: existing and recommended sites"].find_element(By.TAG_NAME, "input").click()
    time.sleep(0.3)
    ranks = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".nsp-rank")]
    with open(demo / "tables" / "nsp_siting.csv") as fh:
        expected = [line.split(",")[0] for line in fh.read().splitlines()[2:]]
    assert sorted(ranks) == sorted(expected) and len(ranks) == 5
    assert legend.is_displayed() and "recommended site (rank)" in legend.text
    labels["NSP siting: need not covered today"].find_element(By.TAG_NAME, "input").click()
    time.sleep(0.3)
    shaded = browser.execute_script(
        "return Array.from(document.querySelectorAll('path.leaflet-interactive'))"
        ".filter(p => p.getAttribute('fill') === '#c6dbef').length")
    assert shaded > 0  # LSOAs covered today
    # the demo asks for OSM tiles, which fail offline; no script error is allowed
    assert [e for e in browser.get_log("browser")
            if e["level"] == "SEVERE" and e.get("source") != "network"] == []
