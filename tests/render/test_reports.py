"""The reports' counts by hand on a small extract, the rendered reports parsed, suppression
marks, formula injection and HTML escaping.

Three sites: S1 (Alpha), S2 (Beta), S3 (Alpha, a hostile name). 2017-18 unless said:
    A  NSP at S1 in Q1 (returned, Heroin) and Q4; assessed at S1 in Q1; M, 38 -> psychoactive
       (also an NSP visit in 2016-17)
    B  NSP at S1 in Q4 (Steroids); assessed at S1 in Q4, LA only; M, 27        -> IPEDs
    C  interventions at S1 in Q1 (Alcohol) and Q4, at S2 in Q4; F, 17          -> BI
    D  intervention at S2 in Q2 (Alcohol); assessed at S2 in 2016 (NFA); F, 58  -> BI
    E  intervention at S3 in Q4 (Cannabis); F, 33                              -> BI
    F  NSP at S1 in 2016-17 only
"""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser

import pandas as pd
import pytest
from conftest import (
    DEFAULT_SITES,
    assessment,
    client,
    nsp,
    write_extract,
    write_geography,
    write_recipe,
)
from test_reports_ims1718 import parse

from atlas.drop import compute_drop
from atlas.recipe import load_recipe

EVIL = '=HYPERLINK("http://x")<script>alert(1)</script>'
ALPHA, BETA = "E06000001", "E06000002"


def _interventions(folder, rows):
    with open(folder / "interventions.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "intervention_id",
                "client_ref",
                "site_code",
                "intervention_date",
                "intervention_type",
                "substance",
            ]
        )
        w.writerows(rows)


@pytest.fixture(scope="module")
def content(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reports")
    geo = write_geography(tmp / "geo")
    sites = [
        *DEFAULT_SITES,
        {
            "site_code": "S3",
            "site_name": EVIL,
            "site_type": "agency",
            "postcode": "AA1 1AB",
            "services": "BI",
        },
    ]
    folder = write_extract(
        tmp / "ex",
        {
            "sites.csv": sites,
            "clients.csv": [
                client("CA", fi="A", postcode="AA1 1AA"),
                client("CB", fi="B", dob="1990-06-01"),
                client("CC", fi="C", dob="2001-01-01", gender="F"),
                client("CD", fi="D", site="S2", dob="1960-01-01", gender="F"),
                client("CE", fi="E", site="S3", dob="1985-03-31", gender="F"),
                client("CF", fi="F", dob="1970-01-01"),
            ],
            "nsp_transactions.csv": [
                nsp("T1", "CA", "2017-05-01", returned="Y", substance="Heroin"),
                nsp("T2", "CA", "2018-02-01"),
                nsp("T3", "CB", "2018-02-01", substance="Steroids"),
                nsp("T4", "CF", "2016-06-01"),
                nsp("T5", "CA", "2016-07-01"),
            ],
            "assessments.csv": [
                assessment(
                    "CA",
                    "2017-05-01",
                    postcode="AA1 1AA",
                    substance_1="Heroin",
                    accommodation="Settled",
                    employment="Unemployed",
                ),
                assessment(
                    "CB",
                    "2018-01-10",
                    local_authority=ALPHA,
                    substance_1="Steroids",
                    accommodation="Settled",
                    employment="Employed",
                    parental_status="No children",
                ),
                assessment(
                    "CD",
                    "2016-01-01",
                    site="S2",
                    substance_1="Alcohol",
                    accommodation="NFA",
                    employment="Unemployed",
                    parental_status="No children",
                ),
            ],
            "wellbeing.csv": [
                {
                    "client_ref": "CA",
                    "site_code": "S1",
                    "review_date": "2017-05-01",
                    "wemwbs_score": "40",
                }
            ],
            "referrals.csv": [
                {
                    "client_ref": "CC",
                    "site_code": "S1",
                    "referral_date": "2018-02-10",
                    "direction": "OUT",
                },
                {
                    "client_ref": "CD",
                    "site_code": "S2",
                    "referral_date": "2017-08-01",
                    "direction": "IN",
                },
            ],
        },
    )
    _interventions(
        folder,
        [
            ["I1", "CC", "S1", "2017-05-01", "Brief Intervention", "Alcohol"],
            ["I2", "CC", "S1", "2018-02-01", "Brief Intervention", ""],
            ["I3", "CC", "S2", "2018-03-01", "Brief Intervention", ""],
            ["I4", "CD", "S2", "2017-08-01", "Brief Intervention", "Alcohol"],
            ["I5", "CE", "S3", "2018-01-15", "Advice & Information", "Cannabis"],
        ],
    )
    recipe = write_recipe(tmp, geo, folder)
    recipe.write_text(
        recipe.read_text().replace(
            'area_name = "Test Area"', 'area_name = "Test Area"\nthreshold = 2'
        )
    )
    return compute_drop(load_recipe(recipe))


def _cells(content, name, keys):
    table = content.reports.cell_set(name).table
    return {
        tuple(r[k] for k in keys): int(r["individuals"])
        for _, r in table.iterrows()
        if r["individuals"]
    }


def test_individuals_per_la_and_quarter_by_hand(content):
    assert _cells(content, "quarter_individuals", ["la_code", "quarter", "cohort"]) == {
        (ALPHA, 1, "all"): 2,
        (ALPHA, 4, "all"): 4,
        (ALPHA, 4, "pwid_psychoactive"): 1,
        (ALPHA, 4, "pwid_ipeds"): 1,
        (ALPHA, 4, "bi"): 2,
        (BETA, 2, "all"): 1,
        (BETA, 4, "all"): 1,
        (BETA, 4, "bi"): 1,
        ("TOTAL", 1, "all"): 2,
        ("TOTAL", 2, "all"): 1,
        ("TOTAL", 4, "all"): 4,
        ("TOTAL", 4, "pwid_psychoactive"): 1,
        ("TOTAL", 4, "pwid_ipeds"): 1,
        ("TOTAL", 4, "bi"): 2,
    }
    assert _cells(content, "intervention_clients", ["la_code", "quarter"]) == {
        (ALPHA, 1): 1,
        (ALPHA, 4): 2,
        (BETA, 2): 1,
        (BETA, 4): 1,
        ("TOTAL", 1): 1,
        ("TOTAL", 2): 1,
        ("TOTAL", 4): 2,
    }
    assert _cells(content, "site_quarter_individuals", ["site_code", "quarter"]) == {
        ("S1", 1): 2,
        ("S1", 4): 3,
        ("S2", 2): 1,
        ("S2", 4): 1,
        ("S3", 4): 1,
    }


def test_assessed_profiles_and_trend_by_hand(content):
    assert _cells(content, "assessed", ["code", "assessment"]) == {
        ("S1", "with"): 2,
        ("S1", "without"): 1,
        ("S2", "without"): 2,
        ("S3", "without"): 1,
        (ALPHA, "with"): 2,
        (ALPHA, "without"): 2,
        (BETA, "without"): 2,
        ("TOTAL", "with"): 2,
        ("TOTAL", "without"): 3,
    }
    prof = _cells(content, "profiles", ["dimension", "category", "cohort"])
    assert {k[1:]: v for k, v in prof.items() if k[0] == "gender"} == {
        ("Male", "all"): 2,
        ("Male", "pwid_psychoactive"): 1,
        ("Male", "pwid_ipeds"): 1,
        ("Female", "all"): 3,
        ("Female", "bi"): 3,
    }
    assert {k[1]: v for k, v in prof.items() if k[0] == "age_band" and k[2] == "all"} == {
        "Under 18": 1,
        "25–34": 2,
        "35–44": 1,
        "55 and over": 1,
    }
    # threshold 2: a label one person has is counted in "Other"
    assert {k[1]: v for k, v in prof.items() if k[0] == "substance_1" and k[2] == "all"} == {
        "Alcohol": 2,
        "Other": 3,
    }
    assert {k[1]: v for k, v in prof.items() if k[0] == "accommodation" and k[2] == "all"} == {
        "Settled": 2,
        "Other": 1,
        "Not stated": 2,
    }
    area_trend = content.reports.cell_set("trend").table
    area_trend = area_trend[area_trend["la_code"] == "TOTAL"]
    assert {
        (r.year, r.cohort): r.individuals for r in area_trend.itertuples() if r.individuals
    } == {
        ("2016-17", "all"): 2,
        ("2016-17", "pwid_psychoactive"): 2,
        ("2017-18", "all"): 5,
        ("2017-18", "pwid_psychoactive"): 1,
        ("2017-18", "pwid_ipeds"): 1,
        ("2017-18", "bi"): 3,
    }


def test_activity_and_completion_by_hand(content):
    act = content.reports.la_activity.set_index(["la_code", "quarter"])
    cols = [
        "nsp_visits",
        "nsp_returns",
        "interventions",
        "wellbeing_reviews",
        "referrals_in",
        "referrals_out",
    ]
    assert act.loc[(ALPHA, 1), cols].tolist() == [1, 1, 1, 1, 0, 0]
    assert act.loc[(ALPHA, 4), cols].tolist() == [2, 0, 2, 0, 0, 1]
    assert act.loc[(BETA, 2), cols].tolist() == [0, 0, 1, 0, 1, 0]
    assert act.loc[("TOTAL", 4), cols].tolist() == [2, 0, 3, 0, 0, 1]
    comp = content.reports.completion.set_index("code")
    assert comp.loc["S1", "assessments"] == 2
    assert comp.loc["S1", ["substance_1", "parental_status", "postcode_or_la"]].tolist() == [
        100.0,
        50.0,
        100.0,
    ]
    assert comp.loc["S2", "assessments"] == 0


def test_monitoring_report_cells(content):
    page = parse(content.files["reports/monitoring.html"])
    activity = {tuple(r[:2]): r[2:] for r in page.tables["la-activity"][1:]}
    # the area in Q4: 2 visits, no returns, 3 interventions to 2 clients: withheld, with
    # Alpha's Q1 activity, since the visits and interventions each cohort made (published in
    # the cohort descriptions) would otherwise give back the suppressed cohorts of 1 and 3
    assert activity[("Test Area", "Q4 2017-18")][:6] == ["*", "*", "", "*", "2", "*"]
    assert activity[("Alpha", "Q1 2017-18")][:3] == ["*", "*", ""]
    # Beta Q2: one client is a suppressed count, and so is the average that depends on it;
    # its one intervention would say the client count is 1, so it is withheld too, and so is
    # Alpha's Q4 activity, else the area's total would give Beta's back
    assert activity[("Beta", "Q2 2017-18")][3:6] == ["*", "*", "*"]
    assert activity[("Alpha", "Q4 2017-18")][:6] == ["*", "*", "", "*", "2", "*"]
    trend = page.tables["trend-table"]
    assert trend[1] == ["2016-17 (partial)", "2", "2", "0", "0"]
    assert len(page.tables["profile-gender"]) == 2 + 4
    svgs = content.files["reports/monitoring.html"].decode().count('<svg class="chart" role="img"')
    assert svgs == 7 + 1  # one chart per profile dimension, and the trend


def test_data_quality_report_cells_and_marks(content):
    page = parse(content.files["reports/data_quality.html"])
    la = {r[0]: r[1:] for r in page.tables["dq-la-individuals"][1:]}
    # Alpha's 4 in the year is withheld: with the visits and interventions per cohort it
    # would give back its cohorts (1 and 3)
    assert la["Alpha"] == ["2", "0", "0", "4", "*"]
    assert la["Beta"] == ["0", "*", "0", "*", "2"]
    assess = {r[0]: r[1:] for r in page.tables["dq-site-assessments"][2:] if len(r) > 1}
    s1 = assess["Alpha Drug Service (S1)"]
    # seen 3 = 2 with + 1 without: the 1 is suppressed, so the 2 must be too (3 - 2 = 1),
    # and the share that depends on them; 2 assessments (records) are activity
    assert s1[:5] == ["3", "*", "*", "*", "2"]
    assert s1[5:11] == ["100.0%", "100.0%", "100.0%", "100.0%", "50.0%", "100.0%"]
    assert s1[11] == "Parental status"
    sites = [r[0] for r in page.tables["dq-site-activity"][2:]]  # grouped by LA, then name
    assert sites == [
        "Alpha",
        f"{EVIL} (S3)",
        "Alpha Drug Service (S1)",
        "Beta",
        "Beta Pharmacy (S2)",
    ]
    csv_rows = list(
        csv.DictReader(
            io.StringIO(content.files["reports/csv/data_quality_la_individuals.csv"].decode())
        )
    )
    beta = next(r for r in csv_rows if r["la_code"] == BETA)
    assert (beta["q1"], beta["q2"], beta["twelve_months"]) == ("0", "", "2")


def test_every_report_table_has_its_csv_and_text_is_neutralised(content):
    for page in ("monitoring", "data_quality"):
        html = content.files[f"reports/{page}.html"].decode()
        for path in [p for p in content.files if p.startswith(f"reports/csv/{page}_")]:
            assert f'href="{path.removeprefix("reports/")}"' in html, path
    rows = list(
        csv.DictReader(
            io.StringIO(content.files["reports/csv/data_quality_site_individuals.csv"].decode())
        )
    )
    evil = next(r for r in rows if r["site_code"] == "S3")
    assert evil["site_name"] == "'" + EVIL


def test_hostile_site_names_are_escaped_in_html(content):
    for page in ("monitoring", "data_quality"):
        html = content.files[f"reports/{page}.html"].decode()
        tags = ScriptTags()
        tags.feed(html)
        assert tags.scripts == 0
    page = parse(content.files["reports/data_quality.html"])
    names = [r[0] for r in page.tables["dq-site-individuals"]]
    assert f"{EVIL} (S3)" in names


class ScriptTags(HTMLParser):
    """Counts <script> elements: a site name must never become one."""

    def __init__(self):
        super().__init__()
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        self.scripts += tag == "script"


def test_no_report_group_gives_away_a_suppressed_cell(content):
    """Rebuild every additive group of the reports from the published values: none may have
    exactly one suppressed cell, and a fully published group must add up."""
    from atlas.disclosure.suppress import CellTable, _register, _register_extra

    cells = CellTable()
    _register(cells, content.counts)
    _register_extra(cells, content.reports.cells)
    shown = {}
    for frame in content.published.extra.values():
        shown.update(zip(frame["cell_id"], frame["individuals"]))
    svc = content.published.service_la
    for code, cohort, n in zip(svc["la_code"], svc["cohort"], svc["individuals"]):
        shown["total:" + cohort if code == "TOTAL" else f"svc:{code}:{cohort}"] = n
    site = content.published.site_activity
    shown.update(zip("site:" + site["site_code"], site["individuals"]))
    hidden = 0
    for total, parts in cells.groups:
        if not all(c in shown for c in (total, *parts)):
            continue  # a group of the spec tables only (tested in test_suppress)
        values = [shown[c] for c in (total, *parts)]
        blanks = sum(v is None or v is pd.NA for v in values)
        hidden += blanks
        assert blanks != 1, (total, parts)
        if not blanks:
            assert int(values[0]) == sum(int(v) for v in values[1:]), (total, parts)
    assert hidden > 0
