"""The data-quality report tells the truth (issue 16, item 5), by hand on a tiny extract.

Two sites: S1 (Alpha, E06000001) and S2 (Beta, E06000002); 2017-18, threshold 2, so a count
of 1 is suppressed. The last six months begin on 1 October 2017 (Q3).

    P1  NSP at S1 2016-05-01 and 2017-11-01; assessed at S1 2017-12-01   due, reassessed
    P2  NSP at S1 2017-04-10 and 2018-01-05; assessed at S1 2017-05-01   due, not reassessed
    P3  NSP at S1 2017-11-01; assessed at S1 2017-11-01                  first seen in Q3: not due
    P4  intervention at S1 2017-06-01; assessed at S1 2018-02-01         due, reassessed
    P5  NSP at S1 2017-09-30; assessed at S1 2018-03-31                  due, reassessed (edges)
    P6  assessed at S1 2017-01-01; NSP at S1 2017-12-01                  due (assessment is a
                                                                          contact), not reassessed
    P7  NSP at S2 2017-05-01; assessed at S1 2017-12-01                  S2: due, not reassessed
                                                                          there; area: reassessed
    P8  NSP at S1 2016-01-01; NSP at S2 2017-10-15                       S2: not due; area: due

S1 (and Alpha): due 5 (P1, P2, P4, P5, P6), reassessed 3, not 2: 60.0%.
S2 (and Beta): seen 2, due 1 (P7), reassessed 0, not 1: the 1s are suppressed, the share blank.
Area: seen 8, due 7 (all but P3), reassessed 4 (P1, P4, P5, P7), not 3: 57.1%.

Assessments dated in 2017-18 at S1: P1, P2, P3, P4, P5, P7 (six; P6's is in 2016-17), whose
accommodation is "Settled", "Not stated", " not  KNOWN ", blank, "Unknown", "NFA": 2 of 6
complete (33.3%); employment "Unemployed" four times, "not stated", "Not-Known": 4 of 6
(66.7%); substance 1 always "Heroin" (100%); parental status once (16.7%); postcode or LA:
P1's postcode and P2's LA, P3's postcode "Not known" is not one (2 of 6, 33.3%).
"""

from __future__ import annotations

import csv
import io

import pytest
from conftest import (
    assessment,
    client,
    intervention,
    nsp,
    write_extract,
    write_geography,
    write_recipe,
)
from test_reports_ims1718 import parse

from atlas.disclosure.audit import audit_files
from atlas.drop import compute_drop
from atlas.recipe import load_recipe

ALPHA, BETA = "E06000001", "E06000002"
ACCOMMODATION = ["Settled", "Not stated", " not  KNOWN ", "", "Unknown", "NFA"]
EMPLOYMENT = ["Unemployed", "Unemployed", "not stated", "Unemployed", "Not-Known", "Unemployed"]


def _assessments() -> list[dict[str, str]]:
    dated = [
        ("C1", "2017-12-01", "S1"),
        ("C2", "2017-05-01", "S1"),
        ("C3", "2017-11-01", "S1"),
        ("C4", "2018-02-01", "S1"),
        ("C5", "2018-03-31", "S1"),
        ("C7", "2017-12-01", "S1"),
    ]
    rows = [
        assessment(
            ref,
            date,
            site,
            substance_1="Heroin",
            accommodation=acc,
            employment=emp,
        )
        for (ref, date, site), acc, emp in zip(dated, ACCOMMODATION, EMPLOYMENT)
    ]
    rows[0].update(postcode="AA1 1AA", parental_status="No children")
    rows[1].update(local_authority=ALPHA)
    rows[2].update(postcode="Not known")
    rows.append(assessment("C6", "2017-01-01", "S1", substance_1="Heroin"))
    return rows


@pytest.fixture(scope="module")
def content(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dq_truth")
    geo = write_geography(tmp / "geo")
    folder = write_extract(
        tmp / "ex",
        {
            "clients.csv": [
                client(f"C{i}", site="S2" if i == 7 else "S1", fi=chr(64 + i), postcode="AA1 1AA")
                for i in range(1, 9)
            ],
            "nsp_transactions.csv": [
                nsp("T1", "C1", "2016-05-01"),
                nsp("T2", "C1", "2017-11-01"),
                nsp("T3", "C2", "2017-04-10"),
                nsp("T4", "C2", "2018-01-05"),
                nsp("T5", "C3", "2017-11-01"),
                nsp("T6", "C5", "2017-09-30"),
                nsp("T7", "C6", "2017-12-01"),
                nsp("T8", "C7", "2017-05-01", site="S2"),
                nsp("T9", "C8", "2016-01-01"),
                nsp("T10", "C8", "2017-10-15", site="S2"),
            ],
            "interventions.csv": [intervention("I1", "C4", "2017-06-01")],
            "assessments.csv": _assessments(),
        },
    )
    recipe = write_recipe(tmp, geo, folder)
    recipe.write_text(
        recipe.read_text().replace(
            'area_name = "Test Area"', 'area_name = "Test Area"\nthreshold = 2'
        )
    )
    return compute_drop(load_recipe(recipe))


def _csv(content, path: str) -> dict[str, dict[str, str]]:
    rows = csv.DictReader(io.StringIO(content.files[path].decode()))
    return {r["code"]: r for r in rows}


def test_not_stated_not_known_or_blank_is_not_a_completed_item(content):
    comp = content.reports.completion.set_index("code")
    for code in ("S1", ALPHA, "TOTAL"):
        assert comp.loc[code, "assessments"] == 6
        items = ["substance_1", "accommodation", "employment", "parental_status"]
        assert comp.loc[code, [*items, "postcode_or_la"]].astype(float).round(1).tolist() == [
            100.0,
            33.3,
            66.7,
            16.7,
            33.3,
        ]
    row = _csv(content, "reports/csv/data_quality_assessments.csv")["S1"]
    assert [row[f"{i}_pct"] for i in ("accommodation", "employment", "parental_status")] == [
        "33.3",
        "66.7",
        "16.7",
    ]
    assert row["to_fix"] == "Accommodation; Employment; Parental status; Postcode or LA"


def test_reassessment_cells_by_hand(content):
    table = content.reports.cell_set("reassessed").table
    got = {(r.code, r.reassessment): int(r.individuals) for r in table.itertuples()}
    assert got == {
        **{("S1", p): n for p, n in (("due", 5), ("with", 3), ("without", 2))},
        **{(ALPHA, p): n for p, n in (("due", 5), ("with", 3), ("without", 2))},
        **{("S2", p): n for p, n in (("due", 1), ("with", 0), ("without", 1))},
        **{(BETA, p): n for p, n in (("due", 1), ("with", 0), ("without", 1))},
        **{("TOTAL", p): n for p, n in (("due", 7), ("with", 4), ("without", 3))},
    }


def test_reassessment_published_with_the_small_counts_suppressed_and_the_share_blank(content):
    rows = _csv(content, "reports/csv/data_quality_reassessment.csv")
    shown = ["seen_six_months", "reassessed", "not_reassessed", "reassessed_pct"]
    assert [rows["S1"][c] for c in shown] == ["5", "3", "2", "60.0"]
    assert [rows[ALPHA][c] for c in shown] == ["5", "3", "2", "60.0"]
    assert [rows["TOTAL"][c] for c in shown] == ["7", "4", "3", "57.1"]
    for code in ("S2", BETA):  # 1 due, 1 not reassessed: suppressed; no share beside them
        assert rows[code]["seen_six_months"] == rows[code]["not_reassessed"] == ""
        assert rows[code]["reassessed_pct"] == ""
    assert rows["S2"]["name"] == "Beta Pharmacy" and rows["S2"]["la_name"] == "Beta"
    page = parse(content.files["reports/data_quality.html"])
    la = {r[0]: r[1:] for r in page.tables["dq-la-reassessment"][1:]}
    assert la["Alpha"] == ["5", "3", "2", "60.0%"]
    assert la["Beta"][0] == la["Beta"][2] == "*" and la["Beta"][3] in ("", "*")
    assert la["Test Area"] == ["7", "4", "3", "57.1%"]
    sites = {r[0]: r[1:] for r in page.tables["dq-site-reassessment"][1:] if len(r) > 1}
    assert sites["Alpha Drug Service (S1)"] == ["5", "3", "2", "60.0%"]


def test_each_pack_shows_its_own_rows(content):
    beta = f"reports/la/{BETA}/csv/data_quality_reassessment.csv"
    assert sorted(_csv(content, beta)) == [BETA, "S2"]
    page = parse(content.files[f"reports/la/{ALPHA}/data_quality.html"])
    la = {r[0]: r[1:] for r in page.tables["dq-la-reassessment"][1:]}
    assert la == {"Alpha": ["5", "3", "2", "60.0%"]}


def test_the_audit_reads_the_reassessment_back_and_finds_nothing(content):
    report = audit_files(content.files, 2)
    assert report.exposures == [] and report.leaks == []
    # tampered: the suppressed count filled in, a share that is not the cells' quotient
    path = "reports/csv/data_quality_reassessment.csv"
    text = content.files[path].decode()
    s1 = next(line for line in text.splitlines() if line.startswith("site,S1,"))
    tampered = dict(content.files)
    tampered[path] = text.replace(s1, s1.replace(",60.0", ",61.0")).encode()
    found = audit_files(tampered, 2).exposures
    assert any(
        "data_quality_reassessment.csv line" in e and "reassessed_pct" in e for e in found
    ), found
