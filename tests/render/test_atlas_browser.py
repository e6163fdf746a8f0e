"""The atlas page in a real headless Chromium (Debian's), offline, clicked as a user would."""

from __future__ import annotations

import csv
import json
import time

import pandas as pd
import pytest
from chromium import errors as _errors
from chromium import open_page as _open
from conftest import client, intervention, nsp, write_extract, write_geography, write_recipe
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from atlas.counting.rates import format_fixed, rate_per_1000
from atlas.drop import build
from atlas.recipe import load_recipe
from atlas.render import atlas_page

pytestmark = pytest.mark.browser


EVIL = "</script><script>alert(1)</script>"
LOOKUP = (
    "OA11CD,LSOA11CD,LSOA11NM,MSOA11CD,MSOA11NM\n"
    "E00000001,E01000001,Alpha 001A,E02000001,Alpha 001\n"
    "E00000002,E01000002,Alpha 001B,E02000001,Alpha 001\n"
    "E00000003,E01000003,Beta 001A,E02000002,Beta 001\n"
    "E00000004,E01000004,Beta 001B,E02000002,Beta 001\n"
)


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """A drop of the tiny geography: 12 people in Alpha 001A (7 in the PWID cohort, 5 BI) and
    one in Beta 001B, whose cells are suppressed (and others with them, by subtraction)."""
    return _tiny_drop(tmp_path_factory.mktemp("atlas"))


@pytest.fixture(scope="module")
def lazy_page(tmp_path_factory):
    """The same drop with the LSOA shapes on demand per LA (forced by a threshold of 1)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(atlas_page, "ON_DEMAND_LSOAS", 1)
        return _tiny_drop(tmp_path_factory.mktemp("atlas-lazy"))


def _tiny_drop(root):
    geo = write_geography(root / "geo")
    (root / "geo" / "lookup.csv").write_text(LOOKUP)
    sites = [
        {
            "site_code": "S1",
            "site_name": EVIL,
            "site_type": "agency",
            "postcode": "AA1 1AA",
            "services": "NSP;BI",
        },
        {
            "site_code": "S2",
            "site_name": "Beta Pharmacy",
            "site_type": "pharmacy",
            "postcode": "BB1 1AA",
            "services": "NSP",
        },
    ]
    people = [
        client(f"C{i}", fi=chr(65 + i % 26), li=chr(65 + i // 26), postcode="AA1 1AA")
        for i in range(12)
    ] + [client("C12", fi="Z", li="Z", postcode="BB1 1AB")]
    extract = write_extract(
        root / "ex",
        {
            "sites.csv": sites,
            "clients.csv": people,
            "nsp_transactions.csv": [nsp(f"T{i}", f"C{i}") for i in range(7)]
            + [
                nsp("T7", "C0", site="S2"),
                nsp("T8", "C1", site="S2"),
                nsp("T9", "C12", site="S2"),
            ],
            "interventions.csv": [intervention(f"I{i}", f"C{i}") for i in range(7, 12)],
        },
    )
    recipe = write_recipe(root, geo, extract)
    text = recipe.read_text().replace(
        "[atlas]", f'lookup = "{root / "geo" / "lookup.csv"}"\n\n[atlas]'
    )
    recipe.write_text(text)
    out = build(load_recipe(recipe), root / "drop").out_dir
    return out / "atlas.html"


def _choose(driver, name, value):
    driver.find_element(By.CSS_SELECTOR, f"input[name={name}][value={value}]").click()


def test_atlas_opens_offline_with_no_errors_and_no_network(browser, page, tmp_path_factory):
    _open(browser, page)
    assert _errors(browser) == []
    requests = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert [r for r in requests if not r.startswith(("file:", "data:"))] == []
    shapes = browser.find_elements(
        By.CSS_SELECTOR, ".leaflet-overlay-pane path.leaflet-interactive"
    )
    assert len(shapes) == 4  # the four LSOAs
    browser.save_screenshot(str(tmp_path_factory.getbasetemp() / "atlas-browser-test.png"))


def test_every_cohort_measure_and_level_can_be_chosen_and_the_legend_follows(browser, page):
    _open(browser, page)
    cohorts = {
        "all": "All individuals",
        "pwid_psychoactive": "PWID: psychoactive drugs",
        "pwid_ipeds": "PWID: steroids & IPEDs",
        "bi": "BI: drug or alcohol",
    }
    levels = {"lsoa": ("LSOA", 4), "msoa": ("MSOA", 2), "la": ("Local authority", 2)}
    for level, (label, areas) in levels.items():
        _choose(browser, "level", level)
        for measure, words in (("n", "individuals by"), ("rate", "rate per 1,000 residents by")):
            _choose(browser, "measure", measure)
            for cohort, name in cohorts.items():
                _choose(browser, "cohort", cohort)
                legend = browser.find_element(By.ID, "atlas-legend").text
                assert legend.startswith(name + "\n" + f"{words} {label}"), legend
                assert "suppressed (fewer than 5, or withheld)" in legend
                rows = browser.find_elements(By.CSS_SELECTOR, "#atlas-list tbody tr")
                assert len(rows) == areas
        shapes = browser.find_elements(
            By.CSS_SELECTOR, ".leaflet-overlay-pane path.leaflet-interactive"
        )
        assert len(shapes) == areas
    assert _errors(browser) == []


def test_tooltips_show_the_published_numbers_and_say_when_suppressed(browser, page):
    with open(page.parent / "tables" / "residence_lsoa_cohorts.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if not r["lsoa_code"].endswith("-UNKNOWN")]
    assert {r["suppressed"] for r in rows} == {"true", "false"}
    _open(browser, page)
    for cohort in ("all", "pwid_psychoactive", "pwid_ipeds", "bi"):
        _choose(browser, "cohort", cohort)
        tips = browser.execute_script("""
            var d = atlasApp.drawn.lsoa, out = {};
            atlasApp.levels.lsoa.codes.forEach(function (code, i) {
              d.polys[i].openTooltip(d.polys[i].getBounds().getCenter());
              out[code] = [d.polys[i].getTooltip().getElement().textContent,
                           d.polys[i].options.fillColor];
              d.polys[i].closeTooltip(); });
            return out;""")
        for row in (r for r in rows if r["cohort"] == cohort):
            tip, fill = tips[row["lsoa_code"]]
            assert tip.startswith(row["lsoa_name"] + "LSOA " + row["lsoa_code"])
            if row["suppressed"] == "true":
                assert "Individuals: fewer than 5" in tip and "Rate" not in tip, tip
                assert fill == "url(#atlas-hatch)"
            else:  # every conftest LSOA has 1,000 residents
                r = rate_per_1000(pd.Series([float(row["individuals"])]), pd.Series([1000]))
                r = {c: format_fixed(r[c], 1)[0] for c in r}
                assert tip.endswith(
                    f"Individuals: {row['individuals']}Rate per 1,000: "
                    f"{r['rate_per_1000']} (95% CI {r['rate_lower']}–"
                    f"{r['rate_upper']})"
                ), tip


def test_a_hostile_site_name_shows_as_text_and_runs_nothing(browser, page):
    _open(browser, page)
    texts = _popups(browser)
    assert any(EVIL in t and "Services: NSP, BI" in t for t in texts), texts
    assert any("Beta Pharmacy" in t and "Individuals: fewer than 5" in t for t in texts), texts
    assert (
        browser.execute_script(
            "return [...document.scripts].filter(s => s.textContent.includes('alert(1)') "
            "&& !s.textContent.includes('u003c')).length"
        )
        == 0
    )
    assert _errors(browser) == []


def _popups(driver):
    driver.set_script_timeout(10)
    return driver.execute_async_script("""
        var done = arguments[arguments.length - 1], out = [], groups = ['agency', 'pharmacy'];
        (function next() {
          if (!groups.length) return done(out);
          var g = atlasApp.overlays[groups.shift()], m = g.getLayers()[0];
          g.zoomToShowLayer(m, function () {
            m.openPopup(); out.push(m.getPopup().getElement().textContent); m.closePopup();
            next(); });
        })();""")


def test_search_finds_an_area_and_a_postcode_district(browser, page):
    _open(browser, page)
    box = browser.find_element(By.ID, "atlas-search")
    box.send_keys("Beta 001B")
    results = [b.text for b in browser.find_elements(By.CSS_SELECTOR, "#atlas-results button")]
    assert results == ["Beta 001B (LSOA E01000004)"]
    box.send_keys(Keys.ENTER)
    assert browser.execute_script("return atlasApp.state.selected") == 3
    selected = browser.find_element(By.CSS_SELECTOR, "#atlas-list tr.atlas-selected")
    assert selected.text.startswith("Beta 001B")
    box.clear()
    box.send_keys("bb1")
    results = [b.text for b in browser.find_elements(By.CSS_SELECTOR, "#atlas-results button")]
    assert results[0] == "Postcode district BB1"
    box.clear()
    box.send_keys("E06000001")
    browser.find_element(By.CSS_SELECTOR, "#atlas-results button").click()
    assert browser.execute_script("return atlasApp.state.level") == "la"
    assert browser.find_element(By.CSS_SELECTOR, "input[name=level][value=la]").is_selected()


def test_the_list_panel_highlights_the_area_on_the_map_and_back(browser, page):
    _open(browser, page)
    row = browser.find_element(By.XPATH, "//*[@id='atlas-list']//tbody//button[.='Beta 001A']")
    ActionChains(browser).move_to_element(row).perform()
    weight = browser.execute_script("return atlasApp.drawn.lsoa.polys[2].options.weight")
    assert weight == 3
    row.click()
    assert browser.execute_script("return atlasApp.state.selected") == 2
    browser.execute_script("atlasApp.drawn.lsoa.polys[1].fire('mouseover')")
    hovered = browser.find_element(By.CSS_SELECTOR, "#atlas-list tr.atlas-hover")
    assert hovered.text.startswith("Alpha 001B")
    # sortable: by name, ascending
    browser.find_element(By.CSS_SELECTOR, "#atlas-list th button[data-sort=name]").click()
    names = [b.text for b in browser.find_elements(By.CSS_SELECTOR, "#atlas-list tbody th")]
    assert names == ["Alpha 001A", "Alpha 001B", "Beta 001A", "Beta 001B"]


def test_every_control_has_an_accessible_name_and_the_page_prints(browser, page):
    _open(browser, page)
    unnamed = browser.execute_script("""
        return [...document.querySelectorAll('input, button, select, a[href]')].filter(function (e) {
          var label = e.labels && e.labels.length ? e.labels[0].textContent.trim() : '';
          return !(label || e.getAttribute('aria-label') || e.textContent.trim() || e.title);
        }).map(e => e.outerHTML.slice(0, 80));""")
    assert unnamed == []
    pdf = browser.execute_cdp_cmd("Page.printToPDF", {"landscape": True})
    assert len(pdf["data"]) > 1000


def _requested(driver):
    """The scripts the page added (file: resources are not in the performance timeline)."""
    return sorted(
        src.split("/")[-1]
        for src in driver.execute_script(
            "return [...document.querySelectorAll('script[src]')].map(e => e.src)"
        )
    )


def _wait(driver, script, what):
    for _ in range(50):
        if driver.execute_script(script):
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} never happened: {_errors(driver)!r}")


def test_a_large_drop_loads_the_lsoas_of_an_la_only_when_asked(browser, lazy_page):
    drop = lazy_page.parent
    assert sorted(p.name for p in (drop / "atlas").glob("lsoa-*")) == [
        "lsoa-E06000001.js",
        "lsoa-E06000002.js",
    ]
    beta = (drop / "atlas" / "lsoa-E06000002.js").read_text()
    assert beta.startswith("atlasLsoas({") and beta.endswith("});\n")
    chunk = json.loads(beta[len("atlasLsoas(") : -len(");\n")])
    assert (chunk["la"], chunk["index"], len(chunk["shapes"])) == ("E06000002", [2, 3], 2)
    data = json.loads(_script_data(lazy_page))
    lsoa = data["levels"][0]
    assert (lsoa["id"], lsoa["shapes"], len(lsoa["codes"])) == ("lsoa", [], 4)
    assert data["lazy"]["files"] == ["atlas/lsoa-E06000001.js", "atlas/lsoa-E06000002.js"]
    assert data["lazy"]["la_of"] == [0, 0, 1, 1]

    _open(browser, lazy_page)  # opens at LA level, no LSOA script loaded
    assert browser.find_element(By.CSS_SELECTOR, "input[name=level][value=la]").is_selected()
    shapes = browser.find_elements(By.CSS_SELECTOR, ".leaflet-overlay-pane .leaflet-interactive")
    assert len(shapes) == 2
    assert not [r for r in _requested(browser) if r.startswith("lsoa-")]
    # picking an LA in the list loads that LA's LSOAs, and only those
    browser.find_element(By.XPATH, "//*[@id='atlas-list']//tbody//button[.='Beta']").click()
    _wait(browser, "return atlasApp.loaded[1] === true", "loading Beta's LSOAs")
    assert [r for r in _requested(browser) if r.startswith("lsoa-")] == ["lsoa-E06000002.js"]
    # finding an LSOA of the other LA loads it, switches to LSOAs and selects it
    box = browser.find_element(By.ID, "atlas-search")
    box.send_keys("Alpha 001B")
    box.send_keys(Keys.ENTER)
    _wait(browser, "return atlasApp.state.selected === 1", "selecting Alpha 001B")
    assert browser.find_element(By.CSS_SELECTOR, "input[name=level][value=lsoa]").is_selected()
    tip = browser.execute_script(
        "return atlasApp.drawn.lsoa.polys[1].getTooltip().getElement().textContent"
    )
    assert tip.startswith("Alpha 001BLSOA E01000002")
    shapes = browser.find_elements(By.CSS_SELECTOR, ".leaflet-overlay-pane .leaflet-interactive")
    assert len(shapes) == 4
    rows = [
        r.text.split("\n")[0]
        for r in browser.find_elements(By.CSS_SELECTOR, "#atlas-list tbody th")
    ]
    assert sorted(rows) == ["Alpha 001A", "Alpha 001B", "Beta 001A", "Beta 001B"]
    legend = browser.find_element(By.ID, "atlas-legend").text
    assert legend.startswith("All individuals\nindividuals by LSOA"), legend
    assert _errors(browser) == []


def _script_data(page):
    text = page.read_text()
    start = text.index('<script type="application/json" id="atlas-data">')
    return text[text.index(">", start) + 1 : text.index("</script>", start)]
