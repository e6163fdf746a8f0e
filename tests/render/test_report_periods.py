"""A quarter drop end to end (spec section 5): ``period = "2018-19 Q2"`` counted, protected and
rendered; the trend's years, partial ones marked; the recipe's issue and introduction at the top
of every report.

Every person of ``tests/counting/test_quarter_periods.py`` twice (initials ``Q1``/``Q2`` ...:
two people each, so no count is 1 at threshold 2), all activity at S1 (Alpha):

    Q  NSP visit in Q2 2018-19 only                   -> psychoactive, in the last quarter
    B  interventions in Q3 2017-18 and Q1 2018-19     -> BI, not in the last quarter
    X  NSP visits in Q3 2017-18 and Q2 2018-19, Steroids by the end -> IPEDs, in the last quarter
    L  NSP visit in Q2 2018-19, an assessment after the end not used -> psychoactive, Alpha
    O  NSP visits a day before and a day after the 12 months         -> not seen (in 2017-18)
"""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser

import pandas as pd
import pytest
from conftest import assessment, client, intervention, nsp, write_extract, write_geography
from conftest import write_recipe as recipe_file
from test_reports_ims1718 import parse

from atlas.drop import compute_drop
from atlas.errors import RecipeError
from atlas.recipe import load_recipe

HEADING = "Quarter 2 2018-19: 12 months 1 October 2017 – 30 September 2018"
QUARTERS = ["Q3 2017-18", "Q4 2017-18", "Q1 2018-19", "Q2 2018-19"]


def _files() -> dict[str, list[dict[str, str]]]:
    clients, visits, ints, assess = [], [], [], []
    for k in "12":
        ref = {p: f"{p}{k}" for p in "QBXLO"}
        clients += [client(r, fi=p, li=k) for p, r in ref.items()]
        visits += [
            nsp(f"T{k}1", ref["Q"], "2018-08-01"),
            nsp(f"T{k}2", ref["X"], "2017-11-15"),
            nsp(f"T{k}3", ref["X"], "2018-08-15"),
            nsp(f"T{k}4", ref["L"], "2018-09-01"),
            nsp(f"T{k}5", ref["O"], "2017-09-30"),
            nsp(f"T{k}6", ref["O"], "2018-10-01"),
        ]
        ints += [
            intervention(f"I{k}1", ref["B"], "2017-11-01"),
            intervention(f"I{k}2", ref["B"], "2018-05-01"),
        ]
        assess += [
            assessment(ref["X"], "2017-11-15", substance_1="Heroin"),
            assessment(ref["X"], "2018-07-01", substance_1="Steroids"),
            assessment(ref["L"], "2018-01-10", substance_1="Heroin", postcode="AA1 1AA"),
            assessment(ref["L"], "2018-10-15", substance_1="Steroids", postcode="BB1 1AA"),
        ]
    return {
        "clients.csv": clients,
        "nsp_transactions.csv": visits,
        "interventions.csv": ints,
        "assessments.csv": assess,
    }


def _recipe(tmp, period: str, reports: str = "") -> object:
    geo = write_geography(tmp / "geo")
    folder = write_extract(tmp / "ex", _files())
    path = recipe_file(tmp, geo, folder, period=period, extra=reports)
    path.write_text(
        path.read_text().replace(
            'area_name = "Test Area"', 'area_name = "Test Area"\nthreshold = 2'
        )
    )
    return load_recipe(path)


@pytest.fixture(scope="module")
def content(tmp_path_factory):
    return compute_drop(_recipe(tmp_path_factory.mktemp("q2"), "2018-19 Q2"))


def _csv(content, path: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.files[path].decode())))


def test_the_twelve_months_are_counted_in_every_table(content):
    svc = content.published.service_la
    area = svc[svc["la_code"] == "TOTAL"].set_index("cohort")["individuals"]
    assert area.to_dict() == {"all": 8, "pwid_psychoactive": 4, "pwid_ipeds": 2, "bi": 2}
    res = content.published.residence_la.set_index(["la_code", "cohort"])["individuals"]
    assert res[("E06000001", "all")] == 2  # L's two, from the assessment before the end
    assert res[("E06000002", "all")] == 0
    assert content.ledger["cohorts"]["all"] == 8


def test_last_quarter_counts_those_seen_in_it_in_their_twelve_month_cohort(content):
    cells = content.reports.cell_set("quarter_individuals").table
    area = cells[cells["la_code"] == "TOTAL"]
    assert {(r.quarter, r.cohort): r.individuals for r in area.itertuples()} == {
        (1, "all"): 2,
        (2, "all"): 6,
        (3, "all"): 4,
        (4, "all"): 0,
        (2, "pwid_psychoactive"): 4,
        (2, "pwid_ipeds"): 2,
        (2, "bi"): 0,
    }
    page = parse(content.files["reports/monitoring.html"])
    summary = page.tables["cohort-summary"]
    assert summary[0] == [
        "Cohort",
        "Last quarter (2018-19 Q2)",
        "12 months (1 October 2017 – 30 September 2018)",
        "Share of all individuals",
    ]
    assert summary[1:] == [
        ["All individuals", "6", "8", "100.0%"],
        ["PWID: psychoactive drugs", "4", "4", "50.0%"],
        ["PWID: steroids & IPEDs", "2", "2", "25.0%"],
        ["BI: drug or alcohol", "0", "2", "25.0%"],
    ]
    rows = _csv(content, "reports/csv/monitoring_cohort_summary.csv")
    assert {r["period"] for r in rows} == {"2018-19 Q2"}


def test_quarter_columns_are_the_four_quarters_of_the_twelve_months_by_their_real_name(content):
    page = parse(content.files["reports/data_quality.html"])
    la = page.tables["dq-la-individuals"]
    assert la[0] == ["Local authority", *QUARTERS, "12 months"]
    assert la[-1] == ["Test Area", "4", "0", "2", "6", "8"]
    assert page.tables["dq-la-activity"][1][:4] == QUARTERS
    activity = parse(content.files["reports/monitoring.html"]).tables["la-activity"]
    assert [r[1] for r in activity if r[0] == "Test Area"] == QUARTERS
    rows = _csv(content, "reports/csv/data_quality_la_individuals.csv")
    assert list(rows[0]) == ["la_code", "la_name", "q3", "q4", "q1", "q2", "twelve_months"]
    act = _csv(content, "reports/csv/monitoring_la_activity.csv")
    assert [r["quarter"] for r in act if r["la_code"] == "TOTAL"] == ["3", "4", "1", "2"]


class Heading(HTMLParser):
    """The text of <title> and of the page header's first paragraph."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.title = ""
        self.header: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("meta", "link", "br", "input", "img", "hr"):
            return  # void elements: no end tag
        self.stack.append(tag)
        if tag == "p" and "header" in self.stack:
            self.header.append("")

    def handle_endtag(self, tag):
        while self.stack and self.stack.pop() != tag:
            pass

    def handle_data(self, data):
        if self.stack[-2:] == ["head", "title"]:
            self.title += data
        elif self.stack[-1:] == ["p"] and "header" in self.stack:
            self.header[-1] += data


def _heading(html: bytes) -> Heading:
    page = Heading()
    page.feed(html.decode())
    return page


@pytest.mark.parametrize("path", ["reports/monitoring.html", "reports/data_quality.html"])
def test_every_report_names_the_quarter_and_its_twelve_months(content, path):
    page = _heading(content.files[path])
    assert page.title.endswith(f" — {HEADING}")
    assert page.header[0] == f"Test Area · {HEADING}"


def test_the_atlas_names_the_quarter_and_its_twelve_months(content):
    page = _heading(content.files["atlas.html"])
    assert page.title == f"IMS Atlas — {HEADING}"
    assert page.header[0].startswith(f"Test Area · {HEADING} · built ")


def test_a_quarter_drops_trend_is_the_financial_years_ending_by_its_end(content):
    # activity from 30 September 2017: 2017-18 is partial, 2018-19 ends after the period
    rows = _csv(content, "reports/csv/monitoring_trend.csv")
    assert list(rows[0]) == ["year", "cohort", "individuals", "suppressed", "partial"]
    area = {r["cohort"]: r for r in rows}
    assert {r["year"] for r in rows} == {"2017-18"}
    las = _csv(content, "reports/csv/monitoring_trend_la.csv")
    assert list(las[0]) == [
        "year",
        "partial",
        "la_code",
        "la_name",
        "cohort",
        "individuals",
        "suppressed",
    ]
    assert [
        (r["la_code"], r["cohort"], r["individuals"]) for r in las if r["cohort"] == "all"
    ] == [
        ("E06000001", "all", "6"),
        ("E06000002", "all", "0"),
    ]
    # 2017-18 by its own rules: B, X (Heroin by 31 March 2018) and O, twice each
    assert {c: (r["individuals"], r["partial"]) for c, r in area.items()} == {
        "all": ("6", "true"),
        "pwid_psychoactive": ("4", "true"),
        "pwid_ipeds": ("0", "true"),
        "bi": ("2", "true"),
    }
    page = parse(content.files["reports/monitoring.html"])
    assert page.tables["trend-table"][1] == ["2017-18 (partial)", "6", "4", "0", "2"]
    # O's visit of 30 September 2017 and X's of 15 November, B's intervention of 1 November
    assert page.tables["trend-activity"][1] == ["2017-18 (partial)", "4", "0", "2"]


@pytest.mark.parametrize(
    "period", ["2018-19 Q5", "2018/19 Q2", "2018-20", "2018-19 q2", "2018-19 Q2 "]
)
def test_a_bad_period_is_one_line_naming_the_line_and_the_value(tmp_path, period):
    if period == "2018-19 Q2 ":  # surrounding blanks are forgiven
        assert load_recipe(_path(tmp_path, period)).period.label == "2018-19 Q2"
        return
    with pytest.raises(RecipeError) as info:
        load_recipe(_path(tmp_path, period))
    assert info.value.problems == [
        f"line 3: drop.period: {period!r} is not a financial year written YYYY-YY (e.g. "
        "2017-18) nor a quarter written YYYY-YY Qn with n from 1 to 4 (e.g. 2018-19 Q2)"
    ]
    assert "\n" not in str(info.value)


def _path(tmp_path, period: str):
    geo = write_geography(tmp_path / "geo")
    folder = write_extract(tmp_path / "ex", _files())
    return recipe_file(tmp_path, geo, folder, period=period)


INTRO = """Hi everyone. This report covers *the 12 months* to September.
**[Update] This 'Issue 3' report has now been updated with additional data.**

Contact us: <https://ims.ljmu.ac.uk/contact> or [by form](https://example.org/form?a=1&b=2).
<script>alert(1)</script> [bad](javascript:alert(1))

- one
- two
"""


class Intro(HTMLParser):
    """The elements inside <section id="introduction">, in order: (tag, attrs, their text,
    nested elements' included)."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.open: list[int] = []  # the elements open, by position in ``elements``
        self.elements: list[tuple[str, dict[str, str | None], str]] = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        self.scripts += tag == "script"
        if tag == "section" and dict(attrs).get("id") == "introduction":
            self.inside = True
        elif self.inside:
            self.elements.append((tag, dict(attrs), ""))
            if tag != "br":
                self.open.append(len(self.elements) - 1)

    def handle_endtag(self, tag):
        if self.inside and not self.open:
            self.inside = False  # </section>
        elif self.open:
            self.open.pop()

    def handle_data(self, data):
        for i in self.open:
            tag, attrs, text = self.elements[i]
            self.elements[i] = (tag, attrs, text + data)


@pytest.fixture(scope="module")
def issued(tmp_path_factory):
    reports = f'\n[reports]\nissue = 3\nintro = """{INTRO}"""\ntrend_years = 1\n'
    return compute_drop(_recipe(tmp_path_factory.mktemp("issued"), "2018-19 Q2", reports))


@pytest.mark.parametrize("path", ["reports/monitoring.html", "reports/data_quality.html"])
def test_the_issue_and_the_introduction_open_every_report(issued, path):
    page = Intro()
    page.feed(issued.files[path].decode())
    assert page.scripts == 0
    tags = [(tag, text) for tag, _, text in page.elements]
    assert tags[0] == (
        "p",
        "Issue 3: this report replaces the\nearlier issues for 2018-19 Q2, with the data "
        "received since.",
    )
    assert ("em", "the 12 months") in tags
    assert (
        "strong",
        "[Update] This 'Issue 3' report has now been updated with additional data.",
    ) in tags
    links = [(attrs["href"], text) for tag, attrs, text in page.elements if tag == "a"]
    assert links == [
        ("https://ims.ljmu.ac.uk/contact", "https://ims.ljmu.ac.uk/contact"),
        ("https://example.org/form?a=1&b=2", "by form"),
    ]
    text = "".join(t for _, t in tags)
    assert "<script>alert(1)</script> [bad](javascript:alert(1))" in text  # shown as text
    assert [t for tag, t in tags if tag == "li"] == ["one", "two"]


def test_without_issue_or_intro_there_is_no_introduction(content):
    page = Intro()
    page.feed(content.files["reports/monitoring.html"].decode())
    assert page.elements == []
    assert b'id="introduction"' not in content.files["reports/monitoring.html"]


@pytest.fixture(scope="module")
def small_year(tmp_path_factory):
    """A 2017-18 drop at threshold 2 whose 2016-17 has one person in Beta: P1, P2 NSP at S1
    (Alpha) and P3 an intervention at S2 (Beta) in 2016-17; in 2017-18 P1, P2 at S1 and P3,
    P4 at S2."""
    tmp = tmp_path_factory.mktemp("small")
    geo = write_geography(tmp / "geo")
    folder = write_extract(
        tmp / "ex",
        {
            "clients.csv": [client(f"P{i}", fi=f"P{i}") for i in range(1, 5)],
            "nsp_transactions.csv": [
                nsp("T1", "P1", "2016-06-01"),
                nsp("T2", "P2", "2016-09-01"),
                nsp("T3", "P1", "2017-06-01"),
                nsp("T4", "P2", "2017-09-01"),
            ],
            "interventions.csv": [
                intervention("I1", "P3", "2016-10-01", site="S2"),
                intervention("I2", "P3", "2017-10-01", site="S2"),
                intervention("I3", "P4", "2017-11-01", site="S2"),
            ],
        },
    )
    path = recipe_file(tmp, geo, folder)
    path.write_text(
        path.read_text().replace(
            'area_name = "Test Area"', 'area_name = "Test Area"\nthreshold = 2'
        )
    )
    return compute_drop(load_recipe(path))


def test_trend_counts_are_protected_like_every_count(small_year):
    rows = _csv(small_year, "reports/csv/monitoring_trend_la.csv")
    rows += [
        dict(r, la_code="TOTAL") for r in _csv(small_year, "reports/csv/monitoring_trend.csv")
    ]
    cell = {
        (r["year"], r["la_code"], r["cohort"]): (r["individuals"], r["suppressed"]) for r in rows
    }
    # Beta's one person in 2016-17 is suppressed, in every cohort it could be told from
    assert cell[("2016-17", "E06000002", "all")] == ("", "true")
    assert cell[("2016-17", "E06000002", "bi")] == ("", "true")
    assert cell[("2016-17", "E06000001", "all")] == ("2", "false")
    # the area's BI count is that same one person: suppressed, with a complement in its
    # group (tested below)
    assert cell[("2016-17", "TOTAL", "bi")] == ("", "true")
    # the drop's own year is the service-LA table's cells, published alike
    svc = small_year.published.service_la
    for r in svc.itertuples():
        shown = "" if r.suppressed else str(r.individuals)
        assert cell[("2017-18", r.la_code, r.cohort)][0] == shown
    page = parse(small_year.files["reports/monitoring.html"])
    assert page.tables["trend-la"][1:] == [
        ["Alpha", "2", "2"],
        ["Beta", "*", "2"],
        ["Test Area", "*", "4"],  # the complement of the area's BI count
    ]
    # Beta's one intervention in 2016-17 would say its count is 1: withheld
    act = {
        (r["year"], r["la_code"]): r
        for r in _csv(small_year, "reports/csv/monitoring_trend_activity.csv")
    }
    assert act[("2016-17", "E06000002")]["interventions"] == ""


def test_no_trend_group_gives_away_a_suppressed_cell(small_year):
    trend = small_year.reports.cell_set("trend")
    shown = dict(
        zip(
            small_year.published.extra["trend"]["cell_id"],
            small_year.published.extra["trend"]["individuals"],
        )
    )
    hidden = 0
    for total, parts in trend.groups:
        values = [shown[c] for c in (total, *parts)]
        blanks = sum(v is pd.NA for v in values)
        hidden += blanks
        assert blanks != 1, (total, parts)
        if not blanks:
            assert values[0] == sum(values[1:])
    assert hidden >= 4
