"""ledger.json as published (issue 13, deliverable 4): every count of individuals protected
like any cell, consistent with the tables; the exact ledger beside the drop, never in it."""

from __future__ import annotations

import csv
import json
import stat
from pathlib import Path

import pytest
from conftest import client, nsp, write_extract, write_recipe

from atlas.drop import build, private_ledger_path
from atlas.recipe import load_recipe

# 13 live unit postcodes in the area, 6 outside it, 2 of no fixed abode: all PWID psychoactive
HOMES = ["AA1 1AA"] * 13 + ["CC1 1AA"] * 6 + ["NFA"] * 2


@pytest.fixture
def rounded_drop(tmp_path: Path, geo) -> Path:
    people = [
        client(f"C{i:02d}", fi=chr(65 + i), dob=f"19{60 + i}-01-01", postcode=pc)
        for i, pc in enumerate(HOMES)
    ]
    extract = write_extract(
        tmp_path / "ex",
        {
            "clients.csv": people,
            "nsp_transactions.csv": [nsp(f"T{i}", p["client_ref"]) for i, p in enumerate(people)],
        },
    )
    recipe = write_recipe(tmp_path, geo, extract)
    recipe.write_text(
        recipe.read_text().replace(
            'area_name = "Test Area"', 'area_name = "Test Area"\nrounding = 5'
        )
    )
    return build(load_recipe(recipe), tmp_path / "output" / "test").out_dir


def _rows(drop: Path, la_code: str) -> dict[str, str]:
    """A row of residence_la_cohorts.csv: cohort -> individuals as published."""
    with open(drop / "tables" / "residence_la_cohorts.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {r["cohort"]: r["individuals"] for r in rows if r["la_code"] == la_code}


def test_published_ledger_rounds_and_suppresses_counts_of_individuals(rounded_drop):
    ledger = json.loads((rounded_drop / "ledger.json").read_text())
    # 13, 6 rounded to 15, 5; the 2 of no fixed abode are suppressed (and the attack, knowing
    # the levels add to the rounded total of 20, can only say 0..4)
    assert ledger["match_levels"] == {
        "full": 15,
        "terminated": 0,
        "partial": 0,
        "nfa": None,
        "out_of_area": 5,
        "invalid": 0,
        "missing": 0,
    }
    assert ledger["cohorts"] == {"all": 20, "pwid_psychoactive": 20, "pwid_ipeds": 0, "bi": 0}
    # the same cells as the tables: the TOTAL rows, and OUTSIDE beside out_of_area
    assert {k: str(v) for k, v in ledger["cohorts"].items()} == _rows(rounded_drop, "TOTAL")
    assert str(ledger["match_levels"]["out_of_area"]) == _rows(rounded_drop, "OUTSIDE")["all"]
    # rows of files are not people: exact
    assert ledger["files"]["clients.csv"] == {
        "read": 21,
        "accepted": 21,
        "rejected": 0,
        "lines": 22,
        "blank": 0,
    }
    assert ledger["suppression"]["rounding"] == 5


def test_the_exact_ledger_is_kept_beside_the_drop_not_in_it(rounded_drop):
    path = private_ledger_path(rounded_drop)
    assert path == rounded_drop.parent / "test.private" / "ledger.json"
    assert rounded_drop not in path.parents
    exact = json.loads(path.read_text())
    assert exact["match_levels"] == {
        "full": 13,
        "terminated": 0,
        "partial": 0,
        "nfa": 2,
        "out_of_area": 6,
        "invalid": 0,
        "missing": 0,
    }
    assert exact["cohorts"] == {"all": 21, "pwid_psychoactive": 21, "pwid_ipeds": 0, "bi": 0}
    assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0  # the owner's only
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0
    # nothing of it in the drop, and no temporary file left beside it
    assert not any("private" in p.name for p in rounded_drop.rglob("*"))
    assert [p.name for p in path.parent.iterdir()] == ["ledger.json"]


def test_a_rebuild_replaces_the_private_ledger(rounded_drop, tmp_path):
    path = private_ledger_path(rounded_drop)
    path.write_text("{}")
    recipe = load_recipe(tmp_path / "test.toml")
    result = build(recipe, rounded_drop)
    assert result.private_ledger["match_levels"]["nfa"] == 2
    assert json.loads(path.read_text())["match_levels"]["nfa"] == 2
    assert [p.name for p in path.parent.iterdir()] == ["ledger.json"]
