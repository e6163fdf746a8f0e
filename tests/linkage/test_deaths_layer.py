"""The deaths as an LA layer of the atlas page: the published counts of the latest year, read
back and attacked by the audit like every figure of the page, and shown at the LA level."""

from __future__ import annotations

import json
import re
import shutil

import pandas as pd
import pytest
from chromium import errors
from chromium import open_page as _open
from selenium.webdriver.common.by import By
from test_linkage_audit import build_linked_demo

from atlas.disclosure.audit import audit_drop


@pytest.fixture(scope="module")
def linked_demo(tmp_path_factory):
    return build_linked_demo(tmp_path_factory.mktemp("linked"))


PAGE_DATA = re.compile(r'(<script type="application/json" id="atlas-data">)(.*?)(</script>)', re.S)


def _data(page: str) -> dict:
    found = PAGE_DATA.search(page)
    assert found
    return json.loads(found.group(2))


def test_the_page_shows_the_latest_years_published_deaths_per_la(linked_demo):
    data = _data((linked_demo / "atlas.html").read_text())
    assert data["cohorts"][-1] == [
        "drd:2017-18",
        "Drug-related deaths 2017-18 (by LA of residence)",
    ]
    la = next(lv for lv in data["levels"] if lv["id"] == "la")
    deaths = pd.read_csv(linked_demo / "reports/csv/monitoring_deaths.csv", dtype=str).fillna("")
    year = deaths[deaths["year"] == "2017-18"].set_index("la_code")["deaths"]
    shown = la["values"]["drd:2017-18"]["n"]
    assert [("" if v is None else str(v)) for v in shown] == [year[c] for c in la["codes"]]
    assert None in shown  # a suppressed count is hatched, as the cohorts' are
    assert all(v is None for v in la["values"]["drd:2017-18"]["rate"])
    for level in data["levels"]:  # the LA level only
        assert ("drd:2017-18" in level["values"]) == (level["id"] == "la")


def test_a_deaths_count_shown_where_it_is_suppressed_fails_the_audit(linked_demo, tmp_path):
    out = tmp_path / "drop"
    shutil.copytree(linked_demo, out)
    page = (out / "atlas.html").read_text()
    data = _data(page)
    la = next(lv for lv in data["levels"] if lv["id"] == "la")
    values = la["values"]["drd:2017-18"]["n"]
    i = values.index(None)
    values[i] = 3
    text = json.dumps(data, separators=(",", ":"))
    (out / "atlas.html").write_text(PAGE_DATA.sub(lambda m: m.group(1) + text + m.group(3), page))
    report = audit_drop(out)
    code = la["codes"][i]
    assert any(f"atlas.html level la drd:2017-18 area {code}" in e for e in report.exposures), (
        report.exposures
    )


def test_choosing_the_deaths_shows_them_by_local_authority(browser, linked_demo):
    _open(browser, linked_demo / "atlas.html")
    browser.find_element(By.CSS_SELECTOR, "input[name=level][value=lsoa]").click()
    browser.find_element(By.CSS_SELECTOR, 'input[name=cohort][value="drd:2017-18"]').click()
    level = browser.find_element(By.CSS_SELECTOR, "input[name=level]:checked")
    assert level.get_attribute("value") == "la"  # counted by LA only: shown there
    legend = browser.find_element(By.ID, "atlas-legend").text
    assert legend.startswith("Drug-related deaths 2017-18 (by LA of residence)")
    rows = browser.find_elements(By.CSS_SELECTOR, "#atlas-list tbody tr")
    assert len(rows) == 4
    # back to LSOAs: the layer is not counted there, so the first cohort is shown
    browser.find_element(By.CSS_SELECTOR, "input[name=level][value=lsoa]").click()
    cohort = browser.find_element(By.CSS_SELECTOR, "input[name=cohort]:checked")
    assert cohort.get_attribute("value") == "all"
    assert errors(browser) == []
