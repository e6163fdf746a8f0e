"""WCAG 2.2 AA (issue 17, item 9): axe-core (npm, pinned in package-lock.json) finds nothing on
the atlas in its states, on every report of the area and of one LA pack, and on the index; the
controls, the legend and the area list work by keyboard alone, with the focus visible; and the
palettes stay distinguishable to readers with each kind of colour-vision deficiency."""

from __future__ import annotations

import re

import numpy as np
import pytest
from chromium import axe_violations
from chromium import errors as _errors
from chromium import open_page as _open
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from atlas import drop_map
from atlas.render import atlas_page

pytestmark = pytest.mark.browser


def _choose(driver, name, value):
    driver.find_element(By.CSS_SELECTOR, f"input[name={name}][value={value}]").click()


def test_the_atlas_has_no_axe_violations_in_any_state(browser, demo_drop):
    _open(browser, demo_drop / "atlas.html")
    assert axe_violations(browser) == []
    # a class marked, a search with results, the LA level with rates, the siting overlays on
    browser.find_elements(By.CSS_SELECTOR, "#atlas-legend button.atlas-key")[2].click()
    box = browser.find_element(By.ID, "atlas-search")
    box.send_keys("Haverlow 00")
    assert browser.find_elements(By.CSS_SELECTOR, "#atlas-results button")
    assert axe_violations(browser) == []
    _choose(browser, "level", "la")
    _choose(browser, "measure", "rate")
    _choose(browser, "overlay", "nsp-need")
    browser.execute_script("atlasApp.select(1, true)")  # a tooltip open
    assert axe_violations(browser) == []
    # (not with the siting sites ticked: sites a few metres apart draw overlapping markers,
    # which axe counts as targets smaller than 24 px)
    assert _errors(browser) == []


def test_the_atlas_has_no_axe_violations_on_a_phone(browser, demo_drop):
    browser.set_window_size(375, 800)
    try:
        _open(browser, demo_drop / "atlas.html")
        assert axe_violations(browser) == []
    finally:
        browser.set_window_size(1280, 900)


def _reports(drop):
    pack = sorted((drop / "reports" / "la").iterdir())[0]
    return [
        drop / "reports" / "monitoring.html",
        drop / "reports" / "data_quality.html",
        pack / "monitoring.html",
        pack / "data_quality.html",
        drop.parent / "index.html",
    ]


@pytest.mark.parametrize(
    "which", range(5), ids=["monitoring", "quality", "pack", "pack-quality", "index"]
)
def test_every_report_and_the_index_have_no_axe_violations(browser, demo_drop, which):
    page = _reports(demo_drop)[which]
    assert page.is_file(), page
    browser.get(page.as_uri())
    assert axe_violations(browser) == []


def _focus(driver):
    return driver.execute_script("""
        var e = document.activeElement, s = getComputedStyle(e);
        return {tag: e.tagName.toLowerCase(), name: e.name || '', value: e.value || '',
                id: e.id, cls: e.className && e.className.baseVal === undefined ? e.className : '',
                text: (e.textContent || '').trim().slice(0, 40),
                visible: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) ||
                         s.boxShadow !== 'none',
                list: !!e.closest('#atlas-list tbody'), legend: !!e.closest('#atlas-legend')};""")


def test_every_control_the_legend_and_the_list_work_by_keyboard_with_the_focus_visible(
    browser, demo_drop
):
    _open(browser, demo_drop / "atlas.html")
    keys = ActionChains(browser)
    keys.send_keys(Keys.TAB).perform()  # the first stop: the link past the map to the list
    assert _focus(browser)["text"] == "Skip to the list of areas" and _focus(browser)["visible"]
    seen = []
    for _ in range(60):  # the controls, the search, the legend, then the map and its areas
        keys.send_keys(Keys.TAB).perform()
        f = _focus(browser)
        seen.append(f)
        assert f["visible"], f  # every stop shows where the focus is
        if f["id"] == "atlas-map":
            break
    names = [(f["tag"], f["name"]) for f in seen]
    for control in ("cohort", "measure", "level", "scheme", "overlay"):
        assert ("input", control) in names, control
    assert [f["id"] for f in seen].index("atlas-search") < [f["legend"] for f in seen].index(True)
    legend = [f for f in seen if f["legend"]]
    rows = browser.find_elements(By.CSS_SELECTOR, "#atlas-legend button.atlas-key")
    assert legend[0]["text"].startswith("0") and len(legend) == len(rows) == 7  # 0, 5, hatched
    # Enter on a legend class marks its areas
    browser.execute_script("document.querySelectorAll('#atlas-legend button')[2].focus()")
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    assert browser.find_elements(By.CSS_SELECTOR, "#atlas-legend button[aria-pressed=true]")
    # the skip link, then Tab: the list's sort buttons, then its rows; Enter on a row selects
    # it and moves the map there
    _open(browser, demo_drop / "atlas.html")
    browser.execute_script("atlasApp.map.setView([50, 0], 8)")
    ActionChains(browser).send_keys(Keys.TAB).send_keys(Keys.ENTER).perform()
    for _ in range(3):
        ActionChains(browser).send_keys(Keys.TAB).perform()
        assert _focus(browser)["visible"]
    row = _focus(browser)
    assert row["list"], row
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    selected = browser.execute_script("return atlasApp.state.selected")
    assert selected >= 0
    assert browser.execute_script(
        "var p = atlasApp.drawn.lsoa.polys[arguments[0]];"
        "return p.getBounds().contains(atlasApp.map.getCenter())",
        selected,
    )
    # radios by arrow keys: the cohort changes and the legend follows
    browser.find_element(By.CSS_SELECTOR, "input[name=cohort]:checked").send_keys(Keys.ARROW_DOWN)
    assert browser.execute_script("return atlasApp.state.cohort") == "pwid_psychoactive"
    assert browser.find_element(By.ID, "atlas-legend").text.startswith("PWID: psychoactive drugs")
    # a search by keyboard: type, Tab to a result, Enter
    box = browser.find_element(By.ID, "atlas-search")
    box.send_keys("Northmere")
    ActionChains(browser).send_keys(Keys.TAB).send_keys(Keys.ENTER).perform()
    assert browser.execute_script("return atlasApp.state.level") == "la"
    assert _errors(browser) == []


# --- colour-blind-safe palettes: adjacent classes stay apart under simulated deficiency -------

# Machado, Oliveira & Fernandes (2009), severity 1.0, on linear RGB
CVD = {
    "normal": np.eye(3),
    "protanopia": np.array(
        [
            [0.152286, 1.052583, -0.204868],
            [0.114503, 0.786281, 0.099216],
            [-0.003882, -0.048116, 1.051998],
        ]
    ),
    "deuteranopia": np.array(
        [
            [0.367322, 0.860646, -0.227968],
            [0.280085, 0.672501, 0.047413],
            [-0.011820, 0.042940, 0.968881],
        ]
    ),
    "tritanopia": np.array(
        [
            [1.255528, -0.076749, -0.178779],
            [-0.078411, 0.930809, 0.147602],
            [0.004733, 0.691367, 0.303900],
        ]
    ),
}


def _lab(hexes: list[str], matrix: np.ndarray) -> np.ndarray:
    rgb = np.array([[int(h[i : i + 2], 16) / 255 for i in (1, 3, 5)] for h in hexes])
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    lin = np.clip(lin @ matrix.T, 0, 1)
    xyz = (
        lin
        @ np.array(
            [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
        ).T
    )
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.column_stack(
        [116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])]
    )


def _palette(name: str) -> list[str]:
    js = (atlas_page.HERE / "atlas.js").read_text()
    found = re.search(rf"var {name} = \[([^\]]*)\]", js)
    assert found, name
    return re.findall(r"#[0-9a-f]{6}", found.group(1))


@pytest.mark.parametrize("vision", list(CVD))
def test_the_class_palette_stays_ordered_and_apart_for_colour_blind_readers(vision):
    """The choropleth ramp (white for 0, then the classes) keeps adjacent classes at least 10
    CIELAB units apart and in one order of lightness, whatever the reader's colour vision."""
    assert tuple(_palette("PALETTE")) == drop_map.PALETTE  # Drop.explore draws as the page
    colours = ["#ffffff", *_palette("PALETTE")]
    lab = _lab(colours, CVD[vision])
    gaps = np.linalg.norm(np.diff(lab, axis=0), axis=1)
    assert gaps.min() >= 10, (vision, gaps.round(1))
    assert (np.diff(lab[:, 0]) < 0).all(), (vision, lab[:, 0].round(1))  # darker class by class
