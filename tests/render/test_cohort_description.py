"""Issue 16 item 2: each cohort described (gender, age span, visits and interventions per
person, substances and ethnicity recorded), on a tiny extract counted by hand, with the
disclosure case of each figure and the audit's attack on them.

The extract (2017-18, threshold 5), sites S1 (Alpha) and S2 (Beta):

    psychoactive P0..P19  S1  M x16 (age 40, White British), F x4 (age 50, no ethnicity);
                              P0 5 visits, the others 1 (24); P0..P14 "Heroin" (P15..P19
                              none), P0..P9 second "Crack cocaine"
                 R0..R9   S2  M, age 40, White British, 2 visits each (20), "Heroin"
    IPED         Q0..Q14  S2  M, age 30, White British, 1 visit each (15); "Steroids" x8,
                              "Anabolic steroids" x7
    BI           B0..B19  S1  F x12, M x8, age 40, White Other; B0 3 interventions, others 1 (22)
                 B20, B21 S2  F, age 40, 1 intervention each: Beta's BI count is 2

    the area: 67 seen: psychoactive 30, IPED 15, BI 22

Wellbeing reviews (2017-18): Alpha P0..P5 twice (P0..P2 40 then 50, P3..P5 30 then 33),
P6..P10 once (P6 also in 2016-17, not counted); Beta Q0, Q1 once, Q2 twice (20 then 60).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest
from conftest import write_extract, write_geography, write_recipe
from test_reports_ims1718 import parse

from atlas.counting.cohort_description import age_span, describe
from atlas.counting.substances import DISPLAY, LABELS, display_label, substance_group
from atlas.disclosure.audit import audit_files
from atlas.drop import compute_drop
from atlas.recipe import load_recipe


def _write(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=header)
        w.writeheader()
        w.writerows(rows)


def _extract(folder: Path) -> Path:
    write_extract(folder, {"clients.csv": []})  # sites S1 (Alpha), S2 (Beta)
    clients, visits, ints, assess = [], [], [], []

    def person(ref, site, i, dob, gender, ethnicity="", visits_made=0, ints_made=0, sub=("", "")):
        clients.append(
            {
                "client_ref": ref,
                "site_code": site,
                "first_initial": chr(65 + i % 26),
                "last_initial": ref[0] + chr(65 + i // 26),
                "date_of_birth": dob,
                "gender": gender,
                "ethnicity": ethnicity,
            }
        )
        for k in range(visits_made):
            visits.append(
                {
                    "transaction_id": f"T{ref}-{k}",
                    "client_ref": ref,
                    "site_code": site,
                    "visit_date": "2017-06-01",
                }
            )
        for k in range(ints_made):
            ints.append(
                {
                    "intervention_id": f"I{ref}-{k}",
                    "client_ref": ref,
                    "site_code": site,
                    "intervention_date": "2017-08-01",
                    "intervention_type": "Brief Intervention",
                }
            )
        if sub[0]:
            assess.append(
                {
                    "client_ref": ref,
                    "site_code": site,
                    "assessment_date": "2017-05-01",
                    "substance_1": sub[0],
                    "substance_2": sub[1],
                }
            )

    for i in range(20):  # P: psychoactive at Alpha
        person(
            f"P{i}",
            "S1",
            i,
            "1978-01-01" if i < 16 else "1968-01-01",
            "M" if i < 16 else "F",
            "White British" if i < 16 else "",
            visits_made=5 if i == 0 else 1,
            sub=("Heroin" if i < 15 else "", "Crack cocaine" if i < 10 else ""),
        )
    for i in range(10):  # R: psychoactive at Beta
        person(f"R{i}", "S2", i, "1978-01-01", "M", "White British", 2, sub=("Heroin", ""))
    for i in range(15):  # Q: IPEDs at Beta, two spellings of steroids
        steroid = "Steroids" if i < 8 else "Anabolic steroids"
        person(f"Q{i}", "S2", i, "1988-01-01", "M", "White British", 1, sub=(steroid, ""))
    for i in range(20):  # B: brief interventions at Alpha
        person(
            f"B{i}",
            "S1",
            i,
            "1978-01-01",
            "F" if i < 12 else "M",
            "White Other",
            ints_made=3 if i == 0 else 1,
        )
    for i in range(20, 22):  # two at Beta
        person(f"B{i}", "S2", i, "1978-01-01", "F", "", ints_made=1)
    reviews = []
    for i in range(11):  # Alpha: P0..P5 reviewed twice, P6..P10 once (and P6 before the year)
        scores = (
            [(40, 50), (40, 50), (40, 50), (30, 33), (30, 33), (30, 33)][i] if i < 6 else (45,)
        )
        for date, score in zip(("2017-05-01", "2017-09-01"), scores):
            reviews.append((f"P{i}", "S1", date, score))
    reviews.append(("P6", "S1", "2016-12-01", 20))
    reviews += [("Q0", "S2", "2017-05-01", 50), ("Q1", "S2", "2017-05-01", 50)]
    reviews += [("Q2", "S2", "2017-05-01", 20), ("Q2", "S2", "2017-09-01", 60)]
    _write(
        folder / "wellbeing.csv",
        ["client_ref", "site_code", "review_date", "wemwbs_score"],
        [
            dict(zip(("client_ref", "site_code", "review_date", "wemwbs_score"), r))
            for r in reviews
        ],
    )
    _write(folder / "clients.csv", list(clients[0]), clients)
    _write(folder / "nsp_transactions.csv", list(visits[0]), visits)
    _write(folder / "interventions.csv", list(ints[0]), ints)
    _write(folder / "assessments.csv", list(assess[0]), assess)
    return folder


@pytest.fixture(scope="module")
def drop(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cohorts")
    geo = write_geography(tmp / "geo")
    recipe = write_recipe(tmp, geo, _extract(tmp / "ex"), name="cohorts")
    return compute_drop(load_recipe(recipe))  # the build's audit finds nothing, or it raises


def _rows(content, path: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.files[path].decode())))


def _by(rows, *keys):
    return {tuple(r[k] for k in keys): r for r in rows}


def test_averages_per_person_are_the_hand_counted_quotients(drop):
    """Published where the count of people is: visits 59 and interventions 24 for 67 people;
    Alpha's 24 visits for its 40; no interventions for the 30 psychoactive clients."""
    act = _by(_rows(drop, "reports/csv/monitoring_cohort_activity.csv"), "la_code", "cohort")
    want = {  # individuals, visits, visits per person, interventions, per person
        ("TOTAL", "all"): ("67", "59", "0.9", "24", "0.4"),
        ("E06000001", "all"): ("40", "24", "0.6", "", ""),
        ("TOTAL", "pwid_psychoactive"): ("30", "", "", "0", "0.0"),
        ("E06000001", "pwid_ipeds"): ("0", "0", "", "0", ""),  # no one: no average
    }
    for key, values in want.items():
        r = act[key]
        got = (
            r["individuals"],
            r["nsp_visits"],
            r["visits_per_person"],
            r["interventions"],
            r["interventions_per_person"],
        )
        assert got == values, key


def test_a_small_cohort_has_its_average_and_its_activity_withheld(drop):
    """Beta's 2 BI clients: the count is suppressed, so is their average, and their 2
    interventions (which would say 1 or 2 people) are blanked; a suppressed count never has
    an average beside it."""
    rows = _rows(drop, "reports/csv/monitoring_cohort_activity.csv")
    beta = _by(rows, "la_code", "cohort")["E06000002", "bi"]
    assert (beta["individuals"], beta["suppressed"]) == ("", "true")
    assert beta["interventions"] == beta["interventions_per_person"] == ""
    for r in rows:
        if r["individuals"] == "":
            assert r["visits_per_person"] == r["interventions_per_person"] == "", r


def test_publishing_the_small_cohorts_interventions_fails_the_audit(drop):
    """The attack: Beta's BI interventions (2) beside the published figures narrow its
    suppressed count to 1..2; the audit of the tampered files finds it."""
    files = dict(drop.files)
    path = "reports/csv/monitoring_cohort_activity.csv"
    rows = _rows(drop, path)
    for r in rows:
        if r["la_code"] == "E06000002" and r["cohort"] == "bi":
            r["interventions"] = "2"
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    files[path] = out.getvalue().encode()
    assert audit_files(dict(drop.files), 5).clean
    report = audit_files(files, 5)
    assert any("svc:E06000002:bi" in e for e in report.exposures), report.exposures


def _description(drop, path="reports/csv/monitoring_cohort_description.csv"):
    desc = _by(_rows(drop, path), "cohort", "measure", "category")

    def fig(*key):
        return desc[key]["individuals"], desc[key]["share"]

    return desc, fig


def test_the_area_description_is_counted_by_hand(drop):
    desc, fig = _description(drop)
    assert fig("all", "gender", "Male") == ("49", "73.1")
    assert fig("all", "gender", "Female") == ("18", "26.9")
    # ages: 25-34 15, 35-44 48, 45-54 4 (suppressed): 35-44 holds 48 of 67 (71.6% >= 70%)
    assert fig("all", "age_span", "between 35 and 44") == ("48", "71.6")
    # main substance recorded for 40 of 67 (27 not stated: 5 psychoactive, 22 BI): withheld
    # since the "Not stated" rows are the cheapest complements of the one problem (a residual
    # row is hidden before a real category) and "recorded" is the total minus that row
    assert fig("all", "substance_1_recorded", "") == ("", "")
    # second substance: shares among the 10 who have one, not of the cohort
    assert fig("pwid_psychoactive", "substance_2_recorded", "") == ("10", "33.3")
    assert fig("pwid_psychoactive", "substance_2", "Crack cocaine") == ("10", "100.0")
    assert fig("all", "substance_2", "Crack cocaine") == ("10", "100.0")
    assert not any(k[1] == "substance_2" and k[2] == "Not stated" for k in desc)


def test_a_suppressed_count_blanks_its_share(drop):
    desc, fig = _description(drop)
    # the 4 psychoactive women: suppressed, and with them the share
    assert fig("pwid_psychoactive", "gender", "Female") == ("", "")
    assert desc["pwid_psychoactive", "gender", "Female"]["suppressed"] == "true"
    # BI ethnicity: 2 not stated (suppressed), so "recorded for" cannot be published
    assert fig("bi", "ethnicity_recorded", "") == ("", "")


def test_spellings_of_steroids_are_one_label(drop):
    profiles = _rows(drop, "reports/csv/monitoring_profiles.csv")
    labels = {r["category"] for r in profiles if r["dimension"] == "substance_1"}
    assert "Steroids" in labels and "Anabolic steroids" not in labels  # 8 + 7, not two "Other"


def test_the_la_pack_describes_the_las_own_cohorts(drop):
    """Alpha's pack: its 40 people (P0..P19, B0..B19), not the area's 67."""
    path = "reports/la/E06000001/csv/monitoring_cohort_description.csv"
    _, fig = _description(drop, path)
    assert fig("all", "gender", "Male") == ("24", "60.0")
    assert fig("all", "substance_1_recorded", "") == ("15", "37.5")
    assert fig("pwid_psychoactive", "substance_1_recorded", "") == ("15", "75.0")
    assert fig("pwid_psychoactive", "substance_1", "Heroin") == ("15", "100.0")
    assert fig("bi", "age_span", "between 35 and 44") == ("20", "100.0")
    assert fig("bi", "ethnicity", "White Other") == ("20", "100.0")
    pack_act = _rows(drop, "reports/la/E06000001/csv/monitoring_cohort_activity.csv")
    assert {r["la_code"] for r in pack_act} == {"E06000001"}


def test_the_report_shows_the_description(drop):
    table = parse(drop.files["reports/monitoring.html"]).tables["cohort-description"]
    every = table[1]  # after the header: all individuals
    assert every[:6] == [
        "All individuals",
        "67",
        "73.1% male, 26.9% female",
        "71.6% aged between 35 and 44",
        "59 (0.9)",
        "24 (0.4)",
    ]
    assert every[7].startswith("recorded for 10 (14.9%): Crack cocaine 10 (100.0%)")
    pack = parse(drop.files["reports/la/E06000001/monitoring.html"]).tables["cohort-description"]
    assert pack[1][:2] == ["All individuals", "40"]


def test_age_span_rule():
    # bands: under 18, 18-24, 25-34, 35-44, 45-54, 55+
    assert age_span([0, 10, 40, 40, 10, 0], 100) == ("between 25 and 44", 80, 80.0)
    assert age_span([0, 30, 30, 20, 10, 10], 100) == ("between 18 and 44", 80, 80.0)
    assert age_span([0, 0, 0, 5, 40, 55], 100) == ("45 and over", 95, 95.0)
    assert age_span([0, 80, 0, 0, 0, 0], 100) == ("between 18 and 24", 80, 80.0)
    nan = float("nan")
    assert age_span([0, 30, nan, 30, 30, 10], 100)[0] == "between 35 and 55"[:0] + "35 and over"
    assert age_span([nan, nan, nan, 40, nan, nan], 100) == (
        "",
        pytest.approx(nan, nan_ok=True),
        pytest.approx(nan, nan_ok=True),
    )


def test_describe_withholds_what_needs_a_withheld_cell():
    prof = pd.DataFrame(
        {
            "dimension": ["substance_2"] * 3,
            "category": ["Heroin", "Other", "Not stated"],
            "cohort": ["all"] * 3,
            "individuals": pd.array([10, 0, pd.NA], dtype="Int64"),
        }
    )
    d = describe(prof, {"all": 40}).set_index(["cohort", "measure", "category"])
    assert pd.isna(d.loc[("all", "substance_2_recorded", ""), "individuals"])
    assert pd.isna(d.loc[("all", "substance_2", "Heroin"), "share"])
    assert d.loc[("all", "substance_2", "Heroin"), "individuals"] == 10


def test_display_mapping_keeps_every_spelling_in_its_group():
    for label, shown in DISPLAY.items():
        assert (
            LABELS.get(label) == LABELS.get(shown.lower())
            or substance_group(pd.Series([label])).iloc[0]
            == substance_group(pd.Series([shown])).iloc[0]
        ), label
    got = display_label(pd.Series(["Anabolic steroids", " STEROIDS", "AAS", "Khat", None]))
    assert got.tolist()[:4] == ["Steroids", "Steroids", "Steroids", "Khat"]
    assert pd.isna(got.iloc[4])


def test_a_description_figure_not_given_by_the_profiles_fails_the_audit(drop):
    files = dict(drop.files)
    path = "reports/la/E06000001/csv/monitoring_cohort_description.csv"
    files[path] = files[path].replace(b"all,gender,Male,24,60.0", b"all,gender,Male,24,61.0")
    assert (
        f"{path} line 2: share is 61.0, but the published profiles give 60.0"
        in audit_files(files, 5).exposures
    )


def test_wellbeing_is_counted_by_hand(drop):
    """Alpha: 17 reviews of 11 people, 5 once, 6 twice: first (3 x 40 + 3 x 30) / 6 = 35.0,
    latest (3 x 50 + 3 x 33) / 6 = 41.5, change 6.5. The area: 21 reviews of 14 people, 7
    twice: first 230 / 7 = 32.9, latest 309 / 7 = 44.1, change 79 / 7 = 11.3."""
    wb = _by(_rows(drop, "reports/csv/monitoring_wellbeing.csv"), "la_code")
    cols = ("reviews", "reviewed", "once", "repeat", "mean_first", "mean_latest", "mean_change")
    # Alpha's 17 reviews are withheld: its quarters' reviews are (they bound its people
    # reviewed), and a year figure beside a withheld quarter would give it away
    assert tuple(wb["E06000001",][c] for c in cols) == (
        "",
        "11",
        "5",
        "6",
        "35.0",
        "41.5",
        "6.5",
    )
    assert tuple(wb["TOTAL",][c] for c in cols) == ("21", "14", "7", "7", "32.9", "44.1", "11.3")
    pack = _rows(drop, "reports/la/E06000001/csv/monitoring_wellbeing.csv")
    assert [r["la_code"] for r in pack] == ["E06000001"]
    table = parse(drop.files["reports/la/E06000001/monitoring.html"]).tables["wellbeing-reviews"]
    assert table[1] == ["Alpha", "*", "11", "5", "6", "35.0", "41.5", "6.5"]


def test_a_small_wellbeing_count_is_withheld_with_its_means(drop):
    """Beta: 4 reviews of 3 people (2 once, 1 twice): the reviews alone say 1 to 4 people,
    so no count of people is published beside them, nor the means over 1 person."""
    beta = _by(_rows(drop, "reports/csv/monitoring_wellbeing.csv"), "la_code")["E06000002",]
    assert beta["reviews"] == ""  # withheld with its quarters (4 reviews)
    assert [beta[c] for c in ("reviewed", "once", "repeat", "mean_first", "mean_change")] == [
        ""
    ] * 5
    assert beta["suppressed"] == "true"


def test_a_mean_beside_a_withheld_count_fails_the_audit(drop):
    files = dict(drop.files)
    path = "reports/csv/monitoring_wellbeing.csv"
    files[path] = files[path].replace(
        b"E06000002,Beta,,,,,,,,true", b"E06000002,Beta,,,,,20.0,60.0,40.0,true"
    )
    assert (
        f"{path} line 3: mean_first is published beside a withheld count or fewer than 5 people"
        in audit_files(files, 5).exposures
    )


def test_a_withheld_count_of_people_reviewed_blanks_the_means(drop):
    files = dict(drop.files)
    path = "reports/csv/monitoring_wellbeing.csv"
    files[path] = files[path].replace(
        b"E06000001,Alpha,,11,5,6,35.0", b"E06000001,Alpha,,11,5,,35.0"
    )
    assert (
        f"{path} line 2: mean_first is published beside a withheld count or fewer than 5 people"
        in audit_files(files, 5).exposures
    )


def test_the_cell_key_counts_the_same_cells(tmp_path):
    """Under the cell key the people are counted again in parts of the extract: a unit left
    uncounted for its few reviews (Beta) stays so in every part."""
    geo = write_geography(tmp_path / "geo")
    recipe = write_recipe(tmp_path, geo, _extract(tmp_path / "ex"), name="keyed")
    secret = tmp_path / "secret" / "key.txt"
    secret.parent.mkdir()
    secret.write_text("a secret of sixteen bytes or more")
    text = recipe.read_text().replace(
        "[drop]\n", f'[drop]\nprotection = "cell_key"\ncell_key_secret_file = "{secret}"\n', 1
    )
    recipe.write_text(text)
    content = compute_drop(load_recipe(recipe))
    wb = _by(_rows(content, "reports/csv/monitoring_wellbeing.csv"), "la_code")
    assert wb["E06000002",]["reviewed"] == ""
    assert wb["E06000001",]["reviewed"] == "11"  # its reviews withheld with their quarters
