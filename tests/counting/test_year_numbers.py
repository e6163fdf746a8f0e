"""The year in numbers and the equipment table (issue 16, items 1 and 3) on the tiny extract
of ``tests/year_extract.py``, every figure counted by hand there."""

from __future__ import annotations

import csv
import io

import pytest
from year_extract import ALPHA, BETA, build_year_drop

YEAR = "reports/csv/monitoring_year_numbers.csv"
EQUIPMENT = "reports/csv/monitoring_equipment.csv"
LA_ACTIVITY = "reports/csv/monitoring_la_activity.csv"


def rows(files: dict[str, bytes], path: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(files[path].decode())))


@pytest.fixture(scope="module")
def drop(tmp_path_factory) -> dict[str, bytes]:
    return build_year_drop(tmp_path_factory.mktemp("year")).files


@pytest.fixture(scope="module")
def small_beta(tmp_path_factory) -> dict[str, bytes]:
    return build_year_drop(tmp_path_factory.mktemp("year_small"), small_beta=True).files


def by_unit(files: dict[str, bytes]) -> dict[str, dict[str, str]]:
    return {r["la_code"]: r for r in rows(files, YEAR)}


def test_the_year_in_numbers_is_the_hand_count(drop):
    got = by_unit(drop)
    assert list(got) == [ALPHA, BETA, "TOTAL"]  # LAs by name, the area last
    columns = [
        "sites",
        "sites_agency",
        "sites_pharmacy",
        "nsp_visits",
        "nsp_returns",
        "returns_pct",
        "interventions",
        "brief_intervention",
        "advice_information",
        "other_intervention",
        "intervention_labels",
        "referrals",
        "referrals_in",
        "referrals_out",
        "referral_organisations",
    ]
    want = {
        # S4 closed before the year: not counted; the 2016 visit is outside the year
        ALPHA: "2 1 1 11 2 18.2 7 5 1 1 3 4 2 2 2",
        BETA: "1 0 1 5 1 20.0 0 0 0 0 0 1 0 1 1",
        # 3 / 16 = 18.75%, rounded half up; "brief intervention" and "Brief Intervention"
        # are one label, as are "Hope Centre" and "hope centre "
        "TOTAL": "3 1 2 16 3 18.8 7 5 1 1 3 5 2 3 2",
    }
    for unit, values in want.items():
        assert [got[unit][c] for c in columns] == values.split(), unit
    assert got[ALPHA]["la_name"] == "Alpha" and got["TOTAL"]["la_name"] == "Test Area"
    assert {r["organisations_recorded"] for r in got.values()} == {"true"}


def test_people_reviewed_and_a_person_reviewed_alone(drop):
    got = by_unit(drop)
    # Alpha: C1 twice, C2..C6 once: 7 reviews of 6 people; the 6 is the wellbeing section's
    # people reviewed, one cell, withheld with its once (5) and twice or more (1)
    assert (got[ALPHA]["wellbeing_reviews"], got[ALPHA]["people_reviewed"]) == ("7", "")
    assert got[ALPHA]["people_reviewed_suppressed"] == "true"
    # Beta: C9 alone (1 review): suppressed, and the review beside it blanked (1 review
    # would say 1 person)
    assert (got[BETA]["wellbeing_reviews"], got[BETA]["people_reviewed"]) == ("", "")
    assert got[BETA]["people_reviewed_suppressed"] == "true"
    # the area's 7 people are withheld with the wellbeing section's (its twice or more: 1);
    # its 8 reviews would give Beta's 1 back (8 - 7)
    assert (got["TOTAL"]["wellbeing_reviews"], got["TOTAL"]["people_reviewed"]) == ("", "")
    # the quarterly reviews are blanked alike: Beta's Q4 (its review), and the area's Q4
    # (Alpha has none then), nothing else
    blank = {
        (r["la_code"], r["quarter"])
        for r in rows(drop, LA_ACTIVITY)
        if r["wellbeing_reviews"] == ""
    }
    assert blank == {(BETA, "4"), ("TOTAL", "4")}
    site = [
        r
        for r in rows(drop, "reports/csv/data_quality_activity.csv")
        if r["unit"] == "site" and r["wellbeing_reviews"] == ""
    ]
    assert [(r["code"], r["quarter"]) for r in site] == [("S2", "4")]


def test_a_small_las_activity_and_its_share_are_withheld(small_beta):
    got = by_unit(small_beta)
    # Beta: 2 people (suppressed) made 3 visits and 1 intervention: at most 4 people, so its
    # activity is blanked, and with it the share of visits with a return and its labels
    service = rows(small_beta, "tables/service_la_cohorts.csv")
    beta_all = next(r for r in service if r["la_code"] == BETA and r["cohort"] == "all")
    assert (beta_all["individuals"], beta_all["suppressed"]) == ("", "true")
    for column in ("nsp_visits", "nsp_returns", "returns_pct", "interventions"):
        assert got[BETA][column] == "", column
    assert got[BETA]["intervention_labels"] == ""
    # what is not tied to a count of people stays: sites, referrals
    assert (got[BETA]["sites_pharmacy"], got[BETA]["referrals_out"]) == ("1", "1")


def test_equipment_is_the_hand_count(drop):
    items = ["needles", "syringes", "bins", "swabs", "foil", "citric", "other_items"]
    got = {(r["la_code"], r["quarter"], r["site_type"]): r for r in rows(drop, EQUIPMENT)}
    assert len(got) == 3 * 4 * 2  # every LA and the area, quarter and site type
    shown = {
        k: [int(r[i]) for i in items] for k, r in got.items() if any(r[i] != "0" for i in items)
    }
    assert shown == {
        (ALPHA, "1", "agency"): [60, 30, 0, 0, 0, 0, 0],
        (ALPHA, "2", "pharmacy"): [15, 0, 0, 0, 10, 0, 0],
        (BETA, "1", "pharmacy"): [40, 0, 0, 0, 0, 0, 0],  # C10's blank counts add nothing
        ("TOTAL", "1", "agency"): [60, 30, 0, 0, 0, 0, 0],
        ("TOTAL", "1", "pharmacy"): [40, 0, 0, 0, 0, 0, 0],
        ("TOTAL", "2", "pharmacy"): [15, 0, 0, 0, 10, 0, 0],
    }
    assert {r["withheld"] for r in got.values()} == {"false"}
    assert [r["la_code"] for r in rows(drop, EQUIPMENT)][:8] == [ALPHA] * 8


def test_equipment_is_withheld_beside_withheld_visits(small_beta):
    got = {(r["la_code"], r["quarter"], r["site_type"]): r for r in rows(small_beta, EQUIPMENT)}
    site_visits = {
        (r["code"], r["quarter"]): r["nsp_visits"]
        for r in rows(small_beta, "reports/csv/data_quality_activity.csv")
        if r["unit"] == "site"
    }
    assert site_visits["S2", "1"] == ""  # Beta's pharmacy: its visits are withheld
    beta = got[BETA, "1", "pharmacy"]
    assert (beta["needles"], beta["withheld"]) == ("", "true")
    assert got["TOTAL", "1", "pharmacy"]["withheld"] == "true"  # S2 is among the area's
    # Beta has no agency: nothing behind the row is withheld, its zeros are published
    assert got[BETA, "1", "agency"]["needles"] == "0"


def test_free_text_labels_are_never_published(drop):
    for path, data in drop.items():
        text = data.decode("utf-8", errors="replace").lower()
        for label in ("smith", "housing support", "hope centre"):
            assert label not in text, (path, label)


def test_an_extract_without_item_counts_or_organisations_says_so(tmp_path, geo):
    from conftest import client, nsp, write_extract, write_recipe

    from atlas.drop import compute_drop
    from atlas.recipe import load_recipe

    extract = write_extract(
        tmp_path / "extract",
        {
            "clients.csv": [client(f"C{i}", dob=f"19{70 + i}-01-01") for i in range(6)],
            "nsp_transactions.csv": [nsp(f"T{i}", f"C{i}") for i in range(6)],
            "referrals.csv": [
                {
                    "client_ref": "C1",
                    "site_code": "S1",
                    "referral_date": "2017-07-01",
                    "direction": "IN",
                }
            ],
        },
    )
    recipe = write_recipe(tmp_path, geo, extract, extra="[reports]\npdf = false\n")
    files = compute_drop(load_recipe(recipe)).files
    year = {r["la_code"]: r for r in rows(files, YEAR)}
    assert year["TOTAL"]["organisations_recorded"] == "false"
    assert year["TOTAL"]["referral_organisations"] == ""  # not 0: not recorded
    assert {r["items_recorded"] for r in rows(files, EQUIPMENT)} == {"false"}
    page = files["reports/monitoring.html"].decode()
    assert "the extract records no referral organisation" in page
    assert "records no item counts" in page
