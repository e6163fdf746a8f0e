"""The year in numbers and equipment sections of the monitoring report and of every LA pack
(issue 16, items 1 and 3), on the hand-counted extract of ``tests/year_extract.py``."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from year_extract import ALPHA, BETA, build_year_drop


class _Tables(HTMLParser):
    """Every table by id: its rows, each a list of cell texts (th and td)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.sections: list[str] = []
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.sections.append(a.get("id", ""))
        if tag == "table":
            self._table = a.get("id", "")
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append(re.sub(r"\s+", " ", "".join(self._cell)).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def parse(page: bytes) -> _Tables:
    p = _Tables()
    p.feed(page.decode())
    return p


@pytest.fixture(scope="module")
def drop(tmp_path_factory) -> dict[str, bytes]:
    return build_year_drop(tmp_path_factory.mktemp("year_report")).files


def facts(page: _Tables) -> dict[str, list[str]]:
    return {row[0]: row[1:] for row in page.tables["year-numbers-own"]}


def test_the_area_report_opens_with_the_year_in_numbers(drop):
    page = parse(drop["reports/monitoring.html"])
    assert page.sections[0] == "year-numbers"
    got = facts(page)
    assert got["Sites"] == ["3", "1 agency, 2 pharmacies"]
    assert got["Needle & syringe programme visits"][0] == "16"
    assert got["Returns of used equipment"] == ["3", "return recorded for 18.8% of visits"]
    assert got["Interventions"] == [
        "7",
        "Brief Intervention 5; Advice & Information 1; Other 1",
    ]
    assert got["Intervention type labels used"][0] == "3"
    assert got["Referrals"] == ["5", "2 in (source), 3 out (onward)"]
    assert got["Referral organisations"][0] == "2"
    # the area's reviews are withheld (they would give Beta's one back): the mark; its 7
    # people too, with the wellbeing section's (one reviewed twice or more)
    assert got["Wellbeing reviews (WEMWBS)"] == ["*", "reviews recorded for * people"]
    by_la = page.tables["year-numbers"]
    assert [r[0] for r in by_la[1:]] == ["Alpha", "Beta", "Test Area"]
    beta = by_la[2]
    assert beta[-2:] == ["*", "*"]  # Beta's review and its one person


def test_each_pack_shows_its_own_figures(drop):
    alpha = parse(drop[f"reports/la/{ALPHA}/monitoring.html"])
    assert alpha.sections[0] == "year-numbers"
    got = facts(alpha)
    assert got["Sites"] == ["2", "1 agency, 1 pharmacy"]
    assert got["Needle & syringe programme visits"][0] == "11"
    assert got["Returns of used equipment"] == ["2", "return recorded for 18.2% of visits"]
    assert got["Wellbeing reviews (WEMWBS)"] == ["7", "reviews recorded for * people"]
    assert "year-numbers" not in alpha.tables  # the table of every LA is the area's
    beta = facts(parse(drop[f"reports/la/{BETA}/monitoring.html"]))
    assert beta["Needle & syringe programme visits"][0] == "5"
    assert beta["Wellbeing reviews (WEMWBS)"] == ["*", "reviews recorded for * people"]
    # the pack's CSV files hold the LA's rows of the area's
    for name in ("monitoring_year_numbers", "monitoring_equipment"):
        own = drop[f"reports/la/{ALPHA}/csv/{name}.csv"].decode().splitlines()
        area = drop[f"reports/csv/{name}.csv"].decode().splitlines()
        assert own[0] == area[0]
        assert own[1:] == [line for line in area[1:] if line.startswith(f"{ALPHA},")]


def test_the_equipment_table_shows_items_by_la_quarter_and_site_type(drop):
    area = parse(drop["reports/monitoring.html"]).tables["equipment-items"]
    assert area[0] == [
        "Local authority",
        "Quarter",
        "Site type",
        "Needles",
        "Syringes",
        "Bins",
        "Swabs",
        "Foil",
        "Citric",
        "Other items",
    ]
    assert len(area) == 1 + 3 * 4 * 2
    assert area[1] == ["Alpha", "Q1 2017-18", "Agencies", "60", "30", "0", "0", "0", "0", "0"]
    pack = parse(drop[f"reports/la/{BETA}/monitoring.html"]).tables["equipment-items"]
    assert {r[0] for r in pack[1:]} == {"Beta"}
    assert ["Beta", "Q1 2017-18", "Pharmacies", "40", "0", "0", "0", "0", "0", "0"] in pack
