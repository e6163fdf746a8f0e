"""A drop with ``[geography] imd``: individuals and rate by IMD decile of residence in the
monitoring report and its packs, counted by hand on the tiny geography, protected as cells of
the one disclosure problem (the audit reads them back and attacks them), the atlas's
deprivation layer, and the recipe's checks.

The tiny geography's LSOAs get the deciles E01000001: 1, E01000002: 3, E01000003: 3,
E01000004: 10 (each LSOA 1,000 residents). Residents: 6 in E01000001 (Alpha), 5 in E01000002
(Alpha), 5 in E01000003 (Beta), 2 in E01000004 (Beta): decile 1 holds 6, decile 3 holds 10
and decile 10 holds 2, a small count.
"""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser

import pytest
from conftest import client, nsp, write_extract, write_geography, write_recipe

from atlas.disclosure.audit import audit_files
from atlas.drop import compute_drop
from atlas.errors import RecipeError
from atlas.recipe import load_recipe

DECILES = {"E01000001": 1, "E01000002": 3, "E01000003": 3, "E01000004": 10}
RESIDENTS = [("AA1 1AA", 6), ("AA1 1AB", 5), ("BB1 1AA", 5), ("BB1 1AB", 2)]
IMD_CSV = "reports/csv/monitoring_imd.csv"
SII_CSV = "reports/csv/monitoring_imd_sii.csv"


def write_imd(path, deciles=DECILES):
    path.write_text(
        "LSOA code (2011),LSOA name (2011),Local Authority District code (2019),"
        "Local Authority District name (2019),Index of Multiple Deprivation (IMD) Rank,"
        "Index of Multiple Deprivation (IMD) Decile\n"
        + "".join(f"{c},x,E06000001,x,1,{d}\n" for c, d in deciles.items())
    )
    return path


def imd_recipe(tmp, geo, extract, name="imd", imd=None, extra=""):
    path = write_recipe(tmp, geo, extract, name=name, extra=extra)
    imd = imd or write_imd(tmp / "imd.csv")
    text = path.read_text().replace("[atlas]", f'imd = "{imd}"\n\n[atlas]', 1)
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("imd")
    geo = write_geography(tmp / "geo")
    clients, visits, i = [], [], 0
    for postcode, n in RESIDENTS:
        for _ in range(n):
            ref = f"C{i}"
            clients.append(
                client(ref, fi=chr(65 + i % 26), dob=f"19{60 + i}-01-01", postcode=postcode)
            )
            visits.append(nsp(f"T{i}", ref, substance="heroin"))
            i += 1
    extract = write_extract(tmp / "ex", {"clients.csv": clients, "nsp_transactions.csv": visits})
    content = compute_drop(load_recipe(imd_recipe(tmp, geo, extract)))
    return tmp, geo, extract, content


def rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def cell(table, la, decile, cohort="all"):
    return next(
        r for r in table if (r["la_code"], r["decile"], r["cohort"]) == (la, decile, cohort)
    )


def test_individuals_and_rates_by_decile_counted_by_hand(built):
    *_, content = built
    table = rows(content.files[IMD_CSV])
    assert list(table[0]) == [
        "la_code",
        "la_name",
        "decile",
        "cohort",
        "population",
        "individuals",
        "suppressed",
        "rate_per_1000",
        "rate_lower",
        "rate_upper",
    ]
    area = [r for r in table if r["la_code"] == "TOTAL"]
    assert sorted({r["decile"] for r in area}, key=int) == ["1", "3", "10"]
    assert {r["la_name"] for r in area} == {"Test Area"}
    one, three, ten = (cell(table, "TOTAL", d) for d in ("1", "3", "10"))
    assert (one["population"], three["population"], ten["population"]) == ("1000", "2000", "1000")
    # decile 3: the 5 residents of E01000002 and the 5 of E01000003, 10 of 2,000 residents:
    # 5.0 per 1,000, Byar's interval 2.4-9.2 (every cohort is PWID psychoactive: heroin)
    assert (three["individuals"], three["rate_per_1000"], three["rate_lower"]) == (
        "10",
        "5.0",
        "2.4",
    )
    assert three["rate_upper"] == "9.2"
    assert cell(table, "TOTAL", "3", "pwid_psychoactive")["individuals"] == "10"
    assert cell(table, "TOTAL", "3", "bi")["individuals"] == "0"
    # decile 10: 2 people, suppressed with everything derived from it
    assert (ten["individuals"], ten["suppressed"], ten["rate_per_1000"], ten["rate_upper"]) == (
        "",
        "true",
        "",
        "",
    )
    # decile 1 (6 people) is E01000001 alone, which the LSOA table withholds to protect
    # E01000002 (Alpha's 11 = 6 + 5): the decile is withheld with it
    assert one["individuals"] == "" and one["suppressed"] == "true"
    # the LAs' rows (their packs' tables): Alpha has deciles 1 and 3, Beta 3 and 10
    assert sorted({r["decile"] for r in table if r["la_code"] == "E06000001"}) == ["1", "3"]
    assert sorted({r["decile"] for r in table if r["la_code"] == "E06000002"}, key=int) == [
        "3",
        "10",
    ]
    # every published decile count is the sum of its LSOAs' published cells
    lsoa = {
        r["lsoa_code"]: r["individuals"]
        for r in rows(content.files["tables/residence_lsoa_cohorts.csv"])
        if r["cohort"] == "all"
    }
    assert lsoa["E01000001"] == "" and lsoa["E01000004"] == ""
    # not every decile in the area: no SII, and the table says why
    sii = rows(content.files[SII_CSV])
    assert {(r["la_code"], r["sii"], r["sii_note"]) for r in sii if r["cohort"] == "all"} == {
        (la, "", "not published: not every decile 1 to 10 has residents in the area")
        for la in ("TOTAL", "E06000001", "E06000002")
    }


def test_the_small_decile_cannot_be_worked_out_from_anything_published(built):
    *_, content = built
    table = rows(content.files[IMD_CSV])
    total = rows(content.files["tables/residence_la_cohorts.csv"])
    # the area's 18 minus decile 3's 10 is deciles 1 and 10 together (8): with Alpha's 11
    # (E01000001 + E01000002), Beta's 7 (E01000003 + E01000004) and decile 3's 10
    # (E01000002 + E01000003) published, E01000004 = decile 10 can be anything in 0..7
    assert cell(table, "TOTAL", "3")["individuals"] == "10"
    published = {r["la_code"]: r["individuals"] for r in total if r["cohort"] == "all"}
    assert (published["E06000001"], published["E06000002"], published["TOTAL"]) == (
        "11",
        "7",
        "18",
    )
    # the audit, without the build's own attack, reads every decile cell back and attacks it
    report = audit_files(content.files, 5)
    assert report.clean, report.exposures
    assert report.cells > 0 and report.suppressed >= 2
    assert "imd:TOTAL:10:all" in report.values and report.values["imd:TOTAL:10:all"] != 2


def _tampered(content, path, old: bytes, new: bytes):
    files = dict(content.files)
    assert old in files[path]
    files[path] = files[path].replace(old, new, 1)
    return audit_files(files, 5)


def test_the_audit_finds_a_suppressed_decile_published(built):
    *_, content = built
    line = next(
        line
        for line in content.files[IMD_CSV].split(b"\n")
        if line.startswith(b"TOTAL,Test Area,10,all,")
    )
    report = _tampered(content, IMD_CSV, line, b"TOTAL,Test Area,10,all,1000,2,false,2.0,0.2,7.2")
    assert any("a count below 5 is published" in e for e in report.exposures), report.exposures


def test_the_audit_recomputes_every_rate_and_the_sii(built):
    *_, content = built
    report = _tampered(content, IMD_CSV, b",5.0,2.4,9.2", b",5.1,2.4,9.2")
    assert any(
        "rate_per_1000 is not the rate of the published count" in e for e in report.exposures
    )
    report = _tampered(
        content,
        SII_CSV,
        b"TOTAL,Test Area,all,,,,",
        b"TOTAL,Test Area,all,-1.5,,,",
    )
    assert any("sii is not the one the published counts give" in e for e in report.exposures)


def test_the_audit_needs_the_atlas_deciles_for_the_groups(built):
    *_, content = built
    page = content.files["atlas.html"].decode()
    stripped = re.sub(r'"imd":\{[^{}]*\},', "", page, count=1)
    assert stripped != page
    files = dict(content.files, **{"atlas.html": stripped.encode()})
    report = audit_files(files, 5)
    assert any("the atlas gives no LSOA's IMD decile" in e for e in report.exposures)


class _Table(HTMLParser):
    """The text of each cell of the table with the given id, row by row."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.id, self.inside, self.rows = table_id, False, []

    def handle_starttag(self, tag, attrs):
        if tag == "table" and dict(attrs).get("id") == self.id:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th") and self.rows:
            self.rows[-1].append("")

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False

    def handle_data(self, data):
        if self.inside and self.rows and self.rows[-1]:
            self.rows[-1][-1] += data


def table(html: bytes, table_id: str) -> list[list[str]]:
    parser = _Table(table_id)
    parser.feed(html.decode())
    return [[" ".join(c.split()) for c in r] for r in parser.rows if r]


def test_the_monitoring_report_and_the_packs_show_the_table(built):
    *_, content = built
    area = table(content.files["reports/monitoring.html"], "imd-deciles")
    body = area[2:]
    assert [r[0] for r in body] == ["1 (most deprived)", "3", "10 (least deprived)"]
    assert body[1][1:5] == ["2,000", "10", "5.0", "2.4–9.2"]
    assert body[0][2] == body[2][2] == "*"  # deciles 1 and 10 withheld
    beta = table(content.files["reports/la/E06000002/monitoring.html"], "imd-deciles")
    assert [r[0] for r in beta[2:]] == ["3", "10 (least deprived)"]
    sii = table(content.files["reports/monitoring.html"], "imd-sii")
    assert sii[1][0] == "All individuals" and sii[1][1] == "–"
    page = content.files["reports/monitoring.html"].decode()
    assert "MHCLG, English Indices of Deprivation 2019; Open Government Licence v3.0" in page
    assert 'href="csv/monitoring_imd.csv"' in page
    assert b"monitoring_imd.csv" in content.files["reports/la/E06000002/monitoring.html"]
    # a pack's CSV is the area's rows of its LA
    pack = rows(content.files["reports/la/E06000002/csv/monitoring_imd.csv"])
    area_rows = rows(content.files[IMD_CSV])
    assert pack == [r for r in area_rows if r["la_code"] == "E06000002"]


def test_the_atlas_deprivation_layer(built):
    *_, content = built
    page = content.files["atlas.html"].decode()
    data = json.loads(
        re.search(r'<script type="application/json" id="atlas-data">(.*?)</script>', page, re.S)[1]
    )
    lsoa = data["levels"][0]
    assert data["imd"]["deciles"] == [DECILES[c] for c in lsoa["codes"]]
    assert data["imd"]["label"] == "IMD 2019"
    assert 'value="imd"> Deprivation (IMD 2019 decile)' in page
    assert 'id="imd-legend"' in page
    assert "Open Government Licence v3.0" in page


def test_without_an_imd_file_nothing_changes(built):
    tmp, geo, extract, _ = built
    plain = compute_drop(load_recipe(write_recipe(tmp, geo, extract, name="plain")))
    assert IMD_CSV not in plain.files and SII_CSV not in plain.files
    assert b'"imd"' not in plain.files["atlas.html"]
    assert b"imd-deciles" not in plain.files["reports/monitoring.html"]


def test_the_recipe_checks_the_options(built):
    tmp, geo, extract, _ = built
    path = write_recipe(
        tmp, geo, extract, name="w", extra='[siting]\ncandidates = "c.csv"\nweight_imd = true\n'
    )
    (tmp / "c.csv").write_text("site_code,site_name,postcode\n")
    with pytest.raises(RecipeError, match=r"siting\.weight_imd: needs \[geography\] imd"):
        load_recipe(path)
    path = imd_recipe(tmp, geo, extract, name="missing", imd=tmp / "nowhere.csv")
    with pytest.raises(RecipeError, match=r"geography\.imd: .*nowhere\.csv"):
        load_recipe(path)


@pytest.mark.browser
def test_the_deprivation_layer_in_a_browser(built, browser, tmp_path):
    from chromium import errors, open_page
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    *_, content = built
    page = tmp_path / "atlas.html"
    page.write_bytes(content.files["atlas.html"])
    open_page(browser, page)
    legend = browser.find_element(By.ID, "imd-legend")
    assert not legend.is_displayed()
    box = browser.find_element(
        By.XPATH, "//label[normalize-space(.)='Deprivation (IMD 2019 decile)']/input"
    )
    assert not box.is_selected()
    box.click()
    assert legend.is_displayed()
    assert legend.text.splitlines()[0] == "Deprivation (IMD 2019)"
    assert "1 most deprived" in legend.text and "10 least deprived" in legend.text
    assert "Open Government Licence v3.0" in legend.text
    fills = browser.execute_script(
        "return Array.from(document.querySelectorAll('.leaflet-imd-context-pane path'))"
        ".map(p => p.getAttribute('fill'))"
    )
    # in the LSOA level's order: E01000001..4, deciles 1, 3, 3, 10 (BrBG)
    assert fills == ["#543005", "#bf812d", "#bf812d", "#003c30"]
    # the layer's tooltip names the LSOA and its decile, and no count
    path = browser.find_elements(By.CSS_SELECTOR, ".leaflet-imd-context-pane path")[3]
    # the map's legends (top right) lie over this LSOA of the tiny map: set aside to hover it
    browser.execute_script("document.getElementById('atlas-legends').style.display = 'none'")
    ActionChains(browser).move_to_element(path).perform()
    tip = browser.find_element(By.CSS_SELECTOR, ".leaflet-tooltip").text
    assert tip.splitlines() == [
        "Beta 001B",
        "LSOA E01000004",
        "IMD 2019 decile 10 (least deprived)",
    ]
    box.click()
    assert not legend.is_displayed()
    assert (
        browser.execute_script(
            "return document.querySelectorAll('.leaflet-imd-context-pane path').length"
        )
        == 0
    )
    assert errors(browser) == []


@pytest.mark.parametrize(
    "setting", ["rounding = 5", 'protection = "cell_key"\ncell_key_secret_file = "secret.txt"']
)
def test_rounded_and_perturbed_drops_publish_the_deciles_as_they_publish_every_count(
    built, setting
):
    tmp, geo, extract, _ = built
    (tmp / "secret.txt").write_text("a secret of more than sixteen bytes\n")
    path = imd_recipe(tmp, geo, extract, name="protected")
    path.write_text(path.read_text().replace("[extract]", f"{setting}\n\n[extract]", 1))
    content = compute_drop(load_recipe(path))
    table = rows(content.files[IMD_CSV])
    three = cell(table, "TOTAL", "3")
    if "rounding" in setting:
        assert three["individuals"] == "10"  # 10 rounded to the nearest 5
    elif three["individuals"]:  # perturbed by the cell key: within 3 of 10, never 1 or 2
        assert abs(int(three["individuals"]) - 10) <= 3
    else:  # withheld as a complement, with its rate
        assert three["rate_per_1000"] == ""
    # the rate is the published count's, so it gives nothing more away
    if three["individuals"]:
        n = int(three["individuals"])
        assert three["rate_per_1000"] == f"{n / 2:.1f}"
    report = audit_files(
        content.files,
        5,
        rounding=content.published.rounding,
        perturbation=content.published.perturbation,
    )
    assert report.clean, report.exposures
