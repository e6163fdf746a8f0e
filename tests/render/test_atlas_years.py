"""The atlas's years, area profile and ranked bars (issue 17, points 1-3): a hand-made extract
over three financial years, counted by hand, built, attacked, and driven in headless Chromium.

    2015-16 (partly covered: activity from January 2016 only): 5 PWID in Alpha 001A.
    2016-17: 10 PWID in Alpha 001A, 3 in Beta 001A (suppressed), 7 in Beta 001B.
    2017-18 (the drop's year): 20 PWID in Alpha 001A, 10 BI in Alpha 001B, 8 PWID in
             Beta 001A, 6 PWID in Beta 001B.

Every LSOA has 1,000 residents; Alpha 2,500 and Beta 2,000 (the whole area 4,500).
"""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pandas as pd
import pytest
from chromium import errors as _errors
from chromium import open_page
from conftest import client, intervention, nsp, write_extract, write_geography, write_recipe
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from atlas.counting.rates import format_fixed, rate_per_1000
from atlas.disclosure.audit import audit_files
from atlas.drop import build
from atlas.recipe import load_recipe
from atlas.render.ring_text import pack_ints, unpack_ints

LOOKUP = (
    "OA11CD,LSOA11CD,LSOA11NM,MSOA11CD,MSOA11NM\n"
    "E00000001,E01000001,Alpha 001A,E02000001,Alpha 001\n"
    "E00000002,E01000002,Alpha 001B,E02000001,Alpha 001\n"
    "E00000003,E01000003,Beta 001A,E02000002,Beta 001\n"
    "E00000004,E01000004,Beta 001B,E02000002,Beta 001\n"
)
POSTCODE = {"A1": "AA1 1AA", "A2": "AA1 1AB", "B1": "BB1 1AA", "B2": "BB1 1AB"}
# (the year's start, or the one day of the partly covered year; LSOA; how many; NSP or BI)
PEOPLE = [
    ("2016-02-10", "A1", 5, "nsp"),
    ("2016-04-01", "A1", 10, "nsp"),
    ("2016-04-01", "B1", 3, "nsp"),
    ("2016-04-01", "B2", 7, "nsp"),
    ("2017-04-01", "A1", 20, "nsp"),
    ("2017-04-01", "A2", 10, "bi"),
    ("2017-04-01", "B1", 8, "nsp"),
    ("2017-04-01", "B2", 6, "nsp"),
]


def _spread(start: str, k: int) -> str:
    """A whole year's people seen in every one of its months (28th, from April), so that the
    year counts as wholly covered; the partly covered year's on its one day."""
    if not start.endswith("-04-01"):
        return start
    month = 4 + k % 12
    year = int(start[:4]) + (month > 12)
    return f"{year}-{(month - 1) % 12 + 1:02d}-28"


def _drop(root):
    geo = write_geography(root / "geo")
    (root / "geo" / "lookup.csv").write_text(LOOKUP)
    clients, visits, ints = [], [], []
    k = 0
    for start, lsoa, n, kind in PEOPLE:
        for _ in range(n):
            date = _spread(start, k)
            ref = f"C{k}"
            clients.append(
                client(ref, fi=chr(65 + k % 26), li=chr(65 + k // 26), postcode=POSTCODE[lsoa])
            )
            if kind == "nsp":
                visits.append(nsp(f"T{k}", ref, date=date))
            else:
                ints.append(intervention(f"I{k}", ref, date=date))
            k += 1
    extract = write_extract(
        root / "ex",
        {"clients.csv": clients, "nsp_transactions.csv": visits, "interventions.csv": ints},
    )
    recipe = write_recipe(root, geo, extract, extra="\n[reports]\npdf = false\n")
    text = recipe.read_text().replace(
        "[atlas]", f'lookup = "{root / "geo" / "lookup.csv"}"\n\n[atlas]'
    )
    recipe.write_text(text)
    return build(load_recipe(recipe), root / "drop").out_dir


@pytest.fixture(scope="module")
def drop(tmp_path_factory):
    return _drop(tmp_path_factory.mktemp("years"))


def _data(out) -> dict:
    text = (out / "atlas.html").read_text()
    return json.loads(re.search(r'id="atlas-data">(.*?)</script>', text, re.S).group(1))


def _files(out) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in out.rglob("*")
        if p.is_file() and p.name != ".ims-atlas-drop"
    }


def _rate(n: int, pop: int) -> str:
    r = rate_per_1000(pd.Series([float(n)]), pd.Series([pop]))
    rate, lo, hi = (
        format_fixed(r[c], 1)[0] for c in ("rate_per_1000", "rate_lower", "rate_upper")
    )
    return f"{rate} ({lo}–{hi})"


def test_the_page_ships_every_years_published_counts_packed(drop):
    data = _data(drop)
    years = data["years"]
    assert years["labels"] == ["2015-16", "2016-17", "2017-18"]
    assert years["own"] == 2
    assert "activity recorded in 1 of its 12 months" in years["partial"][0]
    assert years["partial"][1:] == ["", ""]
    assert years["area_pop"] == 4500
    assert years["area"]["all"] == [5, 20, 44]
    assert years["area"]["bi"] == [0, 0, 10]
    lsoa = next(lv for lv in data["levels"] if lv["id"] == "lsoa")
    assert lsoa["codes"] == ["E01000001", "E01000002", "E01000003", "E01000004"]
    assert lsoa["la"] == [0, 0, 1, 1]
    assert unpack_ints(lsoa["pop"]) == [1000] * 4
    assert unpack_ints(lsoa["time"]["all"][0]) == [5, 0, 0, 0]
    y1617 = unpack_ints(lsoa["time"]["all"][1])
    assert y1617[:2] == [10, 0] and y1617[2] == -1  # Beta 001A's 3 suppressed
    assert y1617[3] in (-1, 7)
    assert lsoa["time"]["all"][2] == ""  # the drop's year: the page's own values
    la = next(lv for lv in data["levels"] if lv["id"] == "la")
    assert unpack_ints(la["time"]["all"][1]) == [10, 10]
    assert unpack_ints(la["time"]["all"][0]) == [5, 0]


def test_the_audit_reads_the_years_back_and_finds_nothing(drop):
    files = _files(drop)
    report = audit_files(files, 5)
    assert report.clean, report.exposures
    # the years are among the cells attacked: the suppressed 3 is one of them
    assert "y:2016-17:lsoa:E01000003:all" in report.values
    assert report.values["y:2016-17:lsoa:E01000001:all"] == 10
    assert report.values["area:2017-18:all"] == 44


def test_a_suppressed_years_count_published_fails_the_audit(drop):
    files = _files(drop)
    text = files["atlas.html"].decode()
    data = _data(drop)
    lsoa = next(lv for lv in data["levels"] if lv["id"] == "lsoa")
    old = lsoa["time"]["all"][1]
    values = unpack_ints(old)
    values[2] = 3  # Beta 001A's true count
    new = pack_ints(np.array(values))[0].decode()
    assert text.count(f'"{old}"') >= 1
    files["atlas.html"] = text.replace(f'"{old}"', f'"{new}"', 1).encode()
    report = audit_files(files, 5)
    assert any("y:2016-17:lsoa:E01000003:all" in e or "below 5" in e for e in report.exposures)


def test_an_unknown_key_in_the_years_fails_the_audit(drop):
    files = _files(drop)
    text = files["atlas.html"].decode().replace('"area_pop":', '"people_by_day":[1],"area_pop":')
    files["atlas.html"] = text.encode()
    report = audit_files(files, 5)
    assert any("'people_by_day' is no cell of the drop" in e for e in report.exposures)


# --- in the browser ---------------------------------------------------------------------------


def _open(driver, page):
    """Open the page and wait until its bars are drawn too (after the first shapes)."""
    open_page(driver, page)
    for _ in range(50):
        if driver.execute_script("return document.body.dataset.timeReady") == "true":
            return
        time.sleep(0.1)
    raise AssertionError("the ranked bars were never drawn: " + repr(_errors(driver)))


def _choose(driver, name, value):
    driver.find_element(By.CSS_SELECTOR, f"input[name={name}][value='{value}']").click()


def _list(driver) -> list[tuple[str, str]]:
    rows = driver.find_elements(By.CSS_SELECTOR, "#atlas-list tbody tr")
    return [
        (r.find_element(By.TAG_NAME, "button").text, r.find_element(By.TAG_NAME, "td").text)
        for r in rows
    ]


def _bars(driver) -> list[tuple[str, str, bool]]:
    return [
        (
            li.find_element(By.CLASS_NAME, "atlas-bar-name").text,
            li.find_element(By.CLASS_NAME, "atlas-bar-value").text,
            "atlas-bar-suppressed" in li.get_attribute("class"),
        )
        for li in driver.find_elements(By.CSS_SELECTOR, "#atlas-bars li")
    ]


@pytest.mark.browser
def test_the_year_control_redraws_the_map_list_and_bars(browser, drop):
    _open(browser, drop / "atlas.html")
    assert _errors(browser) == []
    labels = browser.find_element(By.ID, "atlas-years").text.split("\n")
    assert labels == ["Year", "2015-16 (partly covered)", "2016-17", "2017-18"]
    assert (
        browser.find_element(By.CSS_SELECTOR, "input[name=year]:checked").get_attribute("value")
        == "2"
    )
    assert sorted(_list(browser)) == [
        ("Alpha 001A", "20"),
        ("Alpha 001B", "10"),
        ("Beta 001A", "8"),
        ("Beta 001B", "6"),
    ]
    _choose(browser, "year", 1)
    rows = dict(_list(browser))
    assert rows["Alpha 001A"] == "10" and rows["Alpha 001B"] == "0"
    assert rows["Beta 001A"] == "fewer than 5"
    fills = browser.execute_script(
        "var d = atlasApp.drawn.lsoa; return d.polys.map(p => p.options.fillColor)"
    )
    assert fills[2] == "url(#atlas-hatch)"  # suppressed, hatched: not drawn as 0
    assert fills[1] == "#ffffff"  # a true 0
    assert "2016-17" in browser.find_element(By.ID, "atlas-bars-title").text
    _choose(browser, "measure", "rate")
    assert dict(_list(browser))["Alpha 001A"] == "10.0"
    _choose(browser, "year", 0)
    assert dict(_list(browser))["Alpha 001A"] == "5.0"
    _choose(browser, "year", 2)
    _choose(browser, "measure", "n")
    assert dict(_list(browser))["Alpha 001A"] == "20"
    assert _errors(browser) == []


@pytest.mark.browser
def test_the_bars_rank_the_areas_and_follow_the_map_both_ways(browser, drop):
    _open(browser, drop / "atlas.html")
    assert _bars(browser) == [
        ("Alpha 001A", "20", False),
        ("Alpha 001B", "10", False),
        ("Beta 001A", "8", False),
        ("Beta 001B", "6", False),
    ]
    _choose(browser, "year", 1)
    bars = _bars(browser)
    assert bars[0] == ("Alpha 001A", "10", False)
    assert ("Beta 001A", "fewer than 5", True) in bars[-2:]  # last, as suppressed, not as 0
    assert ("Alpha 001B", "0", False) in bars
    note = browser.find_element(By.CSS_SELECTOR, "#atlas-bars .atlas-sub").text
    assert "not drawn as zero" in note
    _choose(browser, "year", 2)
    # hovering a bar highlights its area on the map and its row in the list
    bar = browser.find_elements(By.CSS_SELECTOR, "#atlas-bars li button")[2]  # Beta 001A
    ActionChains(browser).move_to_element(bar).perform()
    time.sleep(0.2)
    assert browser.execute_script("return atlasApp.state.hover") == 2
    hovered = browser.find_element(By.CSS_SELECTOR, "#atlas-list tr.atlas-hover button")
    assert hovered.text == "Beta 001A"
    bar.click()
    assert browser.execute_script("return atlasApp.state.selected") == 2
    selected = browser.find_element(By.CSS_SELECTOR, "#atlas-list tr.atlas-selected button")
    assert selected.text == "Beta 001A"
    # picking an area on the map highlights its bar
    browser.execute_script(
        "var p = atlasApp.drawn.lsoa.polys[3]; p.fire('click', {latlng: p.getCenter()})"
    )
    marked = browser.find_element(By.CSS_SELECTOR, "#atlas-bars li.atlas-bar-selected")
    assert marked.find_element(By.CLASS_NAME, "atlas-bar-name").text == "Beta 001B"
    # the level changes the bars
    _choose(browser, "level", "la")
    assert [b[:2] for b in _bars(browser)] == [("Alpha", "30"), ("Beta", "14")]
    assert _errors(browser) == []


@pytest.mark.browser
def test_the_area_profile_compares_each_cohort_with_the_area_and_shows_the_years(browser, drop):
    _open(browser, drop / "atlas.html")
    panel = browser.find_element(By.ID, "atlas-profile")
    assert not panel.is_displayed()
    row = next(
        b
        for b in browser.find_elements(By.CSS_SELECTOR, "#atlas-list tbody button")
        if b.text == "Alpha 001B"
    )
    row.send_keys(Keys.ENTER)  # Enter on a list row opens the profile
    assert panel.is_displayed()
    assert browser.find_element(By.ID, "atlas-profile-title").text == "Alpha 001B"
    cells = {
        tr.get_attribute("data-cohort"): [td.text for td in tr.find_elements(By.TAG_NAME, "td")]
        for tr in panel.find_elements(By.CSS_SELECTOR, ".atlas-profile-table tbody tr")
    }
    # Alpha 001B: 10 BI of 1,000; the area: 44 of 4,500, 34 PWID psychoactive, 10 BI
    assert cells["all"] == ["10", _rate(10, 1000), "similar"]
    assert cells["pwid_psychoactive"] == ["0", _rate(0, 1000), "lower"]
    assert cells["bi"] == ["10", _rate(10, 1000), "higher"]
    link = panel.find_element(By.LINK_TEXT, "Report pack: Alpha")
    assert link.get_attribute("href").endswith("reports/la/E06000001/monitoring.html")
    years = {
        tr.get_attribute("data-year"): [td.text for td in tr.find_elements(By.TAG_NAME, "td")]
        for tr in panel.find_elements(By.CSS_SELECTOR, ".atlas-profile-years tbody tr")
    }
    assert years["2017-18"][0] == "10 · " + _rate(10, 1000)
    assert years["2016-17"][0] == "0 · " + _rate(0, 1000)
    partial = panel.find_element(By.CSS_SELECTOR, ".atlas-profile-years tr.atlas-partial th")
    assert partial.text == "2015-16 (partly covered)"
    # one chart per cohort; the partly covered year's point is drawn hollow
    assert len(panel.find_elements(By.CSS_SELECTOR, "svg.atlas-spark")) == 4
    assert len(panel.find_elements(By.CSS_SELECTOR, "circle.atlas-spark-partial")) == 4
    # Esc closes it and gives the focus back to the row
    browser.switch_to.active_element.send_keys(Keys.ESCAPE)
    assert not panel.is_displayed()
    assert browser.switch_to.active_element.text == "Alpha 001B"
    # an area clicked on the map opens its profile; another year shows that year's figures
    browser.execute_script(
        "var p = atlasApp.drawn.lsoa.polys[0]; p.fire('click', {latlng: p.getCenter()})"
    )
    assert browser.find_element(By.ID, "atlas-profile-title").text == "Alpha 001A"
    _choose(browser, "year", 1)
    first = panel.find_element(By.CSS_SELECTOR, ".atlas-profile-table tbody tr td").text
    assert first == "10"
    assert "2016-17" in panel.find_element(By.CSS_SELECTOR, ".atlas-sub").text
    verdict = panel.find_element(By.CSS_SELECTOR, "td.atlas-cmp[data-cohort=all]").text
    assert verdict == "similar"  # 10 of 1,000 (4.8-18.4) against 20 of 4,500 (2.7-6.9)
    panel.find_element(By.CLASS_NAME, "atlas-profile-close").click()
    assert not panel.is_displayed()
    assert _errors(browser) == []


@pytest.mark.browser
def test_an_area_on_the_map_opens_its_profile_by_keyboard(browser, drop):
    _open(browser, drop / "atlas.html")
    _choose(browser, "level", "la")
    time.sleep(0.1)
    path = browser.find_element(By.CSS_SELECTOR, "#atlas-map path[role=button][aria-label^=Beta]")
    assert path.get_attribute("tabindex") == "0"
    browser.execute_script("arguments[0].focus()", path)
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    panel = browser.find_element(By.ID, "atlas-profile")
    assert panel.is_displayed()
    assert browser.find_element(By.ID, "atlas-profile-title").text == "Beta"
    first = [
        td.text
        for td in panel.find_elements(By.CSS_SELECTOR, "tbody tr")[0].find_elements(
            By.TAG_NAME, "td"
        )
    ]
    assert first == ["14", _rate(14, 2000), "similar"]  # 14 of 2,000 against 44 of 4,500
    assert panel.find_element(By.LINK_TEXT, "Report pack: Beta")
    ActionChains(browser).send_keys(Keys.ESCAPE).perform()
    assert not panel.is_displayed()
    focused = browser.switch_to.active_element.get_attribute("aria-label")
    assert focused.startswith("Beta (Local authority E06000002")
    assert _errors(browser) == []


@pytest.fixture(scope="module")
def lazy_drop(tmp_path_factory):
    """The same drop with the LSOA shapes loaded per LA on demand (national scale's page)."""
    from atlas.render import atlas_page

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(atlas_page, "ON_DEMAND_LSOAS", 1)
        return _drop(tmp_path_factory.mktemp("years-lazy"))


@pytest.mark.browser
def test_with_lsoas_on_demand_the_bars_gain_each_las_lsoas_when_they_arrive(browser, lazy_drop):
    _open(browser, lazy_drop / "atlas.html")
    assert [b[:2] for b in _bars(browser)] == [("Alpha", "30"), ("Beta", "14")]
    _choose(browser, "year", 1)
    browser.find_elements(By.CSS_SELECTOR, "#atlas-bars li button")[1].click()  # Beta
    assert browser.find_element(By.ID, "atlas-profile-title").text == "Beta"
    _choose(browser, "level", "lsoa")
    for _ in range(50):  # the LAs in view load (the tiny area is in view at once)
        if len(_bars(browser)) == 4:
            break
        time.sleep(0.1)
    bars = _bars(browser)
    assert bars[0] == ("Alpha 001A", "10", False)
    assert sorted(b[0] for b in bars) == ["Alpha 001A", "Alpha 001B", "Beta 001A", "Beta 001B"]
    assert ("Beta 001A", "fewer than 5", True) in bars
    assert _errors(browser) == []
