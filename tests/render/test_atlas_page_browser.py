"""The atlas page as a reader uses it (issue 17, items 5-8), in Debian's headless Chromium,
offline: switching classes and marking a class from the legend, finding areas and postcodes,
the list moving the map, the legends on the map, the layouts at 800 px and on a phone, one
printed A4 page, and the credits and links the licences and readers need."""

from __future__ import annotations

import base64
import csv
import io
import json
import time

import numpy as np
import pytest
from chromium import errors as _errors
from chromium import open_page as _open
from conftest import client, intervention, nsp, write_extract, write_geography, write_recipe
from pypdf import PdfReader
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from atlas.drop import build
from atlas.drop_map import PALETTE
from atlas.recipe import load_recipe
from atlas.render.classify import class_breaks, shown_breaks

pytestmark = pytest.mark.browser

LOOKUP = (
    "OA11CD,LSOA11CD,LSOA11NM,MSOA11CD,MSOA11NM\n"
    "E00000001,E01000001,Liverpool 010A,E02000001,Liverpool 010\n"
    "E00000002,E01000002,Liverpool 010B,E02000001,Liverpool 010\n"
    "E00000003,E01000003,Wirral 001A,E02000002,Wirral 001\n"
    "E00000004,E01000004,Wirral 001B,E02000002,Wirral 001\n"
)
RENAME = {"Alpha 001": "Liverpool 010", "Beta 001": "Wirral 001", "AA1 ": "L8 ", "BB1 ": "L80 "}


def named_drop(root, people_postcodes=("L8 1AA",) * 12 + ("L80 1AB",)):
    """The tiny geography renamed so that names and codes nest as real ones do: LAs Liverpool
    (LSOAs Liverpool 010A, 010B; MSOA Liverpool 010) and Wirral (Wirral 001A, 001B; MSOA
    Wirral 001); postcode districts L8 (in Liverpool) and L80 (in Wirral), AB1 across both.
    Live postcodes: L8 1AA, L8 1AB, L80 1AA, L80 1AB, AB1 1AA, AB1 2AA (L8 1AD terminated)."""
    geo = write_geography(root / "geo")
    for path in (geo["lsoa"], geo["postcodes"]):
        text = path.read_text()
        for old, new in RENAME.items():
            text = text.replace(old, new)
        path.write_text(text)
    (root / "geo" / "lookup.csv").write_text(LOOKUP)
    people = [
        client(f"C{i}", fi=chr(65 + i % 26), li=chr(65 + i // 26), postcode=pc)
        for i, pc in enumerate(people_postcodes)
    ]
    sites = [
        {
            "site_code": "S1",
            "site_name": "Liverpool Agency",
            "site_type": "agency",
            "postcode": "L8 1AA",
            "services": "NSP;BI",
        },
        {
            "site_code": "S2",
            "site_name": "Wirral Pharmacy",
            "site_type": "pharmacy",
            "postcode": "L80 1AA",
            "services": "NSP",
        },
    ]
    extract = write_extract(
        root / "ex",
        {
            "sites.csv": sites,
            "clients.csv": people,
            "nsp_transactions.csv": [nsp(f"T{i}", f"C{i}") for i in range(7)],
            "interventions.csv": [
                intervention(f"I{i}", f"C{i}") for i in range(7, len(people_postcodes))
            ],
        },
    )
    recipe = write_recipe(root, geo, extract)
    recipe.write_text(
        recipe.read_text().replace(
            "[atlas]",
            f'lookup = "{root / "geo" / "lookup.csv"}"\n\n[atlas]\npopulation_year = 2019\n'
            "data_year = 2021",
        )
    )
    return build(load_recipe(recipe), root / "drop").out_dir


@pytest.fixture(scope="module")
def named(tmp_path_factory):
    return named_drop(tmp_path_factory.mktemp("named")) / "atlas.html"


def _results(driver):
    return [b.text for b in driver.find_elements(By.CSS_SELECTOR, "#atlas-results button")]


def _search(driver, text):
    box = driver.find_element(By.ID, "atlas-search")
    box.clear()
    box.send_keys(text)
    return box


def _wait(driver, script, what):
    for _ in range(50):
        if driver.execute_script(script):
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} never happened: {_errors(driver)!r}")


def _choose(driver, name, value):
    driver.find_element(By.CSS_SELECTOR, f"input[name={name}][value={value}]").click()


# --- 6. search and list ----------------------------------------------------------------------


def test_search_puts_exact_matches_first(browser, named):
    _open(browser, named)
    _search(browser, "L8")
    assert _results(browser)[:2] == ["Postcode district L8", "Postcode district L80"]
    _search(browser, "Liverpool 010")
    assert _results(browser) == [
        "Liverpool 010 (MSOA E02000001)",
        "Liverpool 010A (LSOA E01000001)",
        "Liverpool 010B (LSOA E01000002)",
    ]
    _search(browser, "wirral")
    assert _results(browser)[0] == "Wirral (Local authority E06000002)"
    assert len(_results(browser)) == 4  # the LA, its MSOA, its two LSOAs
    _search(browser, "E02000002")
    assert _results(browser) == ["Wirral 001 (MSOA E02000002)"]
    _search(browser, "E0100000")  # codes by their start: every LSOA, shortest names first
    assert _results(browser) == [
        "Wirral 001A (LSOA E01000003)",
        "Wirral 001B (LSOA E01000004)",
        "Liverpool 010A (LSOA E01000001)",
        "Liverpool 010B (LSOA E01000002)",
    ]
    box = _search(browser, "Liverpool 010")
    box.send_keys(Keys.ENTER)  # Enter takes the first: the MSOA
    assert browser.execute_script("return [atlasApp.state.level, atlasApp.state.selected]") == [
        "msoa",
        0,
    ]


def test_a_full_postcode_finds_its_lsoa_from_the_index_loaded_on_demand(browser, named):
    _open(browser, named)
    scripts = "return [...document.querySelectorAll('script[src]')].map(s => s.src)"
    assert browser.execute_script(scripts) == []  # nothing loaded until a postcode is asked
    box = _search(browser, "l80 1ab")
    box.send_keys(Keys.ENTER)  # before the index arrives: taken once it has
    _wait(browser, "return atlasApp.state.selected === 3", "finding L80 1AB")
    assert [s.split("/")[-1] for s in browser.execute_script(scripts)] == ["postcodes-L.js"]
    assert browser.execute_script("return atlasApp.state.level") == "lsoa"
    status = browser.find_element(By.ID, "atlas-search-status").text
    assert status == "Showing Postcode L80 1AB is in Wirral 001B (LSOA E01000004)"
    _search(browser, "L801AA")  # any spacing, any case
    assert _results(browser) == ["Postcode L80 1AA is in Wirral 001A (LSOA E01000003)"]
    _search(browser, "L8 1AD")  # terminated: not in the index
    assert _results(browser)[0] == "Postcode L8 1AD: not a current postcode of this atlas's areas"
    assert browser.find_element(By.CSS_SELECTOR, "#atlas-results button").get_attribute("disabled")
    _search(browser, "CC1 1AA")  # an area the atlas has no postcodes of
    assert _results(browser) == ["Postcode CC1 1AA: not in this atlas's areas"]
    _search(browser, "AB1 2AA")
    _wait(browser, "return !!atlasApp.postcodes.AB", "loading area AB")
    assert _results(browser) == ["Postcode AB1 2AA is in Wirral 001A (LSOA E01000003)"]
    assert _errors(browser) == []


def test_the_postcode_index_is_the_directory_not_the_clients(tmp_path):
    """Every live postcode of the drop's LSOAs, each with its LSOA, whoever lives there: the
    same bytes whatever the extract, so it tells nobody where clients live."""
    one = named_drop(tmp_path / "one")
    other = named_drop(tmp_path / "other", ("L8 1AB",) * 12 + ("AB1 2AA",))
    files = sorted(p.name for p in (one / "atlas").iterdir())
    assert files == ["postcodes-AB.js", "postcodes-L.js"]
    for name in files:
        assert (one / "atlas" / name).read_bytes() == (other / "atlas" / name).read_bytes()
    text = (one / "atlas" / "postcodes-L.js").read_text()
    assert text.startswith("atlasPostcodes(") and text.endswith(");\n")
    chunk = json.loads(text[len("atlasPostcodes(") : -len(");\n")])
    # positions in the page's LSOA level: E01000001..4 are 0..3
    assert chunk == {
        "area": "L",
        "districts": {"L8": ["1AA1AB", [0, 1]], "L80": ["1AA1AB", [2, 3]]},
    }
    ab = json.loads((one / "atlas" / "postcodes-AB.js").read_text()[15:-3])
    assert ab == {"area": "AB", "districts": {"AB1": ["1AA2AA", [0, 2]]}}


def test_a_list_row_moves_the_map_to_its_area_by_click_or_enter(browser, named):
    _open(browser, named)
    _choose(browser, "level", "la")
    title = browser.find_element(By.ID, "atlas-list-title").text
    assert title == "Local authorities: All individuals, individuals"
    browser.execute_script("atlasApp.map.setView([50, 0], 8)")  # far away
    wirral = browser.find_element(By.XPATH, "//*[@id='atlas-list']//tbody//tr[th='Wirral']")
    wirral.find_element(By.CSS_SELECTOR, "td").click()  # the value cell: anywhere on the row
    inside = (
        "var p = atlasApp.drawn[atlasApp.state.level].polys[arguments[0]];"
        "return p.getBounds().contains(atlasApp.map.getCenter())"
    )
    assert browser.execute_script("return atlasApp.state.selected") == 1
    assert browser.execute_script(inside, 1)
    browser.execute_script("atlasApp.map.setView([50, 0], 8)")
    button = browser.find_element(By.XPATH, "//*[@id='atlas-list']//tbody//button[.='Liverpool']")
    button.send_keys(Keys.ENTER)
    assert browser.execute_script("return atlasApp.state.selected") == 0
    assert browser.execute_script(inside, 0)
    _choose(browser, "level", "lsoa")
    title = browser.find_element(By.ID, "atlas-list-title").text
    assert title.startswith("LSOAs: ")


# --- 5. legend and classes -------------------------------------------------------------------


def _published(drop, table, key, cohort="all"):
    with open(drop / "tables" / table, newline="") as fh:
        rows = [
            r
            for r in csv.DictReader(fh)
            if r["cohort"] == cohort
            and not r[key].endswith(("-UNKNOWN", "TOTAL", "OUTSIDE"))
            and r[key] not in ("TOTAL", "OUTSIDE", "UNKNOWN")
        ]
    return rows


def _legend_rows(driver):
    return [
        b.text.replace("\n", " ")
        for b in driver.find_elements(By.CSS_SELECTOR, "#atlas-legend button.atlas-key")
    ]


@pytest.mark.parametrize("scheme", ["quantiles", "equal_interval"])
def test_the_reader_switches_classes_and_legend_map_and_list_follow(browser, demo_drop, scheme):
    """The classes of the published LSOA counts, recomputed here from the CSV, are the
    legend's rows with the number of areas in each, and each area is filled by its class."""
    rows = _published(demo_drop, "residence_lsoa_cohorts.csv", "lsoa_code")
    counts = np.array([float(r["individuals"] or "nan") for r in rows])
    bounds = shown_breaks(class_breaks(counts, scheme), 1.0)
    _open(browser, demo_drop / "atlas.html")
    _choose(browser, "scheme", scheme)
    label = {"quantiles": "quantiles", "equal_interval": "equal intervals"}[scheme]
    legend = browser.find_element(By.ID, "atlas-legend").text
    assert legend.split("\n")[1] == f"individuals by LSOA · {label}"
    shown = counts[np.isfinite(counts)]
    expected = [f"0 ({int((shown == 0).sum())})"]
    lower = 5
    for upper in bounds:
        n = int(((shown >= lower) & (shown <= upper)).sum())
        text = f"{lower:.0f}" if lower >= upper else f"{lower:.0f}–{upper:.0f}"
        expected.append(f"{text} ({n})")
        lower = upper + 1
    expected.append(f"suppressed (fewer than 5, or withheld) ({int(np.isnan(counts).sum())})")
    assert _legend_rows(browser) == expected
    # every area is filled with its class's colour
    fills = browser.execute_script(
        "var l = atlasApp.levels.lsoa, d = atlasApp.drawn.lsoa, out = {};"
        "l.codes.forEach(function (c, i) { out[c] = d.polys[i].options.fillColor; });"
        "return out;"
    )
    palette = PALETTE[-len(bounds) :]
    for r, v in zip(rows, counts):
        want = (
            "url(#atlas-hatch)"
            if np.isnan(v)
            else "#ffffff"
            if v == 0
            else palette[int(np.searchsorted(bounds, v))]
        )
        assert fills[r["lsoa_code"]] == want, r["lsoa_code"]


def test_a_legend_class_marks_its_areas_on_the_map_and_in_the_list(browser, demo_drop):
    _open(browser, demo_drop / "atlas.html")
    keys = browser.find_elements(By.CSS_SELECTOR, "#atlas-legend button.atlas-key")
    third = keys[3]  # 0, then the first classes
    text = third.text
    n = int(text.split("(")[-1].rstrip(")"))
    third.send_keys(Keys.ENTER)  # by keyboard
    pressed = browser.find_element(By.CSS_SELECTOR, "#atlas-legend button[aria-pressed=true]")
    assert pressed.text == text
    assert browser.switch_to.active_element == pressed  # the focus stays on the class
    marked = browser.execute_script(
        "return atlasApp.drawn.lsoa.polys.filter(p => p.options.weight === 2.5).length"
    )
    faded = browser.execute_script(
        "return atlasApp.drawn.lsoa.polys.filter(p => p.options.fillOpacity === 0.15).length"
    )
    assert marked == n and faded == 198 - n
    assert len(browser.find_elements(By.CSS_SELECTOR, "#atlas-list tr.atlas-marked")) == n
    assert f"{n} areas marked" in browser.find_element(By.ID, "atlas-legend").text
    # the same class again clears the mark; so does another cohort
    browser.find_element(By.CSS_SELECTOR, "#atlas-legend button[aria-pressed=true]").click()
    assert browser.find_elements(By.CSS_SELECTOR, "#atlas-legend button[aria-pressed=true]") == []
    assert browser.execute_script(
        "return atlasApp.drawn.lsoa.polys.every(p => p.options.fillOpacity === 0.8)"
    )


def test_local_authority_classes_never_set_overlapping_intervals_far_apart(browser, demo_drop):
    """At LA level, under every scheme, two LAs whose published 95% intervals overlap are at
    most one class apart."""
    rows = _published(demo_drop, "service_la_cohorts.csv", "la_code")
    assert rows  # (the residence table has no interval; the page computes the same one)
    _open(browser, demo_drop / "atlas.html")
    _choose(browser, "level", "la")
    _choose(browser, "measure", "rate")
    for scheme in ("fisher_jenks", "quantiles", "equal_interval"):
        _choose(browser, "scheme", scheme)
        for cohort in ("all", "pwid_psychoactive", "pwid_ipeds", "bi"):
            _choose(browser, "cohort", cohort)
            got = browser.execute_script(
                "var l = atlasApp.levels.la, v = l.values[atlasApp.state.cohort];"
                "return l.codes.map(function (c, i) {"
                " return [v.rate[i], v.lo[i], v.hi[i], atlasApp.drawn.la.polys[i].options.fillColor]; });"
            )
            palette = PALETTE
            shown = [(lo, hi, palette.index(f)) for r, lo, hi, f in got if f in palette]
            for a in shown:
                for b in shown:
                    if a[0] <= b[1] and b[0] <= a[1]:
                        assert abs(a[2] - b[2]) <= 1, (scheme, cohort, a, b)


# --- 7. legends, ranks, layouts, print -------------------------------------------------------


def _rect(driver, selector):
    return driver.execute_script(
        "var r = document.querySelector(arguments[0]).getBoundingClientRect();"
        "return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, width: r.width,"
        " height: r.height};",
        selector,
    )


def test_the_legends_of_layers_sites_and_siting_are_on_screen_without_scrolling(
    browser, demo_drop
):
    _open(browser, demo_drop / "atlas.html")
    for box in ("nsp-need", "nsp-sites"):
        browser.find_element(By.CSS_SELECTOR, f"input[name=overlay][value={box}]").click()
    height = browser.execute_script("return window.innerHeight")
    assert browser.execute_script("return window.scrollY") == 0
    legends = _rect(browser, "#atlas-legends")
    for section in ("#atlas-legend", "#site-legend", "#siting-legend"):
        r = _rect(browser, section)
        assert r["height"] > 0 and r["top"] >= 0 and r["bottom"] <= height, section
        assert r["bottom"] <= legends["bottom"] + 1, section  # not scrolled out of its box
    sites = browser.find_element(By.ID, "site-legend").text
    assert "agency (square)" in sites and "pharmacy (circle)" in sites
    assert "N needle & syringe programme (NSP), B brief interventions (BI)" in sites
    siting = browser.find_element(By.ID, "siting-legend").text
    assert "recommended site (rank)" in siting
    # with neither kind of site ticked, their legend goes
    for kind in ("agency", "pharmacy"):
        browser.find_element(By.CSS_SELECTOR, f"input[name=overlay][value={kind}]").click()
    assert not browser.find_element(By.ID, "site-legend").is_displayed()


def test_recommended_ranks_are_never_hidden_under_clusters(browser, demo_drop):
    _open(browser, demo_drop / "atlas.html")
    browser.find_element(By.CSS_SELECTOR, "input[name=overlay][value=nsp-sites]").click()
    for zoom in (9, 10, 11, 12):
        browser.execute_script("atlasApp.map.setZoom(arguments[0], {animate: false})", zoom)
        time.sleep(0.3)
        hidden = browser.execute_script("""
            var m = document.getElementById('atlas-map').getBoundingClientRect();
            return [...document.querySelectorAll('.nsp-rank')].filter(function (r) {
              var b = r.getBoundingClientRect(), x = b.left + b.width / 2, y = b.top + b.height / 2;
              // off the map's visible part (the page scrolled or the map panned): not shown
              if (x < Math.max(m.left, 0) || y < Math.max(m.top, 0) ||
                  x > Math.min(m.right, innerWidth) || y > Math.min(m.bottom, innerHeight))
                return false;
              var top = document.elementFromPoint(x, y);
              var legend = top && top.closest('#atlas-legends, .leaflet-control-container');
              return !legend && !(top && top.closest('.nsp-rank-icon'));
            }).map(r => r.textContent);""")
        assert hidden == [], zoom
    assert browser.find_elements(By.CSS_SELECTOR, ".nsp-rank")


@pytest.mark.parametrize(("width", "least"), [(800, 500), (375, 340)])
def test_the_layout_works_at_800_px_and_on_a_phone(browser, demo_drop, width, least):
    browser.set_window_size(width, 900)
    try:
        _open(browser, demo_drop / "atlas.html")
        time.sleep(0.3)
        page = browser.execute_script("return document.documentElement.clientWidth")
        assert browser.execute_script("return document.documentElement.scrollWidth") <= page
        m = _rect(browser, "#atlas-map")
        assert m["width"] >= least and m["height"] >= 300
        for selector in ("#atlas-legend", "#atlas-panel", "#atlas-list"):
            r = _rect(browser, selector)
            assert r["width"] > 0 and r["left"] >= 0 and r["right"] <= page + 1, selector
        shapes = browser.execute_script(
            "return document.querySelectorAll('.leaflet-overlay-pane path').length"
        )
        assert shapes == 198
    finally:
        browser.set_window_size(1280, 900)


def test_the_page_prints_on_one_a4_landscape_page(browser, demo_drop):
    _open(browser, demo_drop / "atlas.html")
    pdf = browser.execute_cdp_cmd(
        "Page.printToPDF", {"preferCSSPageSize": True, "printBackground": True}
    )
    reader = PdfReader(io.BytesIO(base64.b64decode(pdf["data"])))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == (
        297,
        210,
    )
    text = reader.pages[0].extract_text()
    for words in (
        "IMS Atlas demo (fictional data)",  # the title
        "All individuals",  # the legend
        "42–65",
        "Contains OS data © Crown copyright and database right",  # the credits
        "Open Government Licence",
    ):
        assert words in text, words
    assert "Find an LSOA" not in text and "Downloads" not in text  # controls and notes left out


# --- 8. credits and links --------------------------------------------------------------------


def test_the_credits_name_the_licences_the_population_year_and_link_the_reports(browser, named):
    _open(browser, named)
    credits = browser.find_element(By.ID, "atlas-credits").text
    for words in (
        "Contains OS data © Crown copyright and database right 2021.",
        "Contains National Statistics data © Crown copyright and database right 2021.",
        "Open Government Licence v3.0",
        "Population: ONS mid-2019 population estimates.",
    ):
        assert words in credits, words
    ogl = browser.find_element(By.LINK_TEXT, "Open Government Licence v3.0")
    assert ogl.get_attribute("href") == (
        "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
    )
    attribution = browser.find_element(By.CSS_SELECTOR, ".leaflet-control-attribution").text
    assert "Contains OS data © Crown copyright and database right 2021" in attribution
    drop = named.parent
    links = {
        a.text: a.get_attribute("href")
        for a in browser.find_elements(By.CSS_SELECTOR, "#atlas-reports a, #atlas-packs a")
    }
    assert list(links) == [
        "Monitoring report",
        "Activity & data-quality report",
        "Liverpool",
        "Wirral",
    ]
    for href in links.values():
        assert href.startswith(drop.as_uri()) and (drop / href[len(drop.as_uri()) + 1 :]).is_file()
