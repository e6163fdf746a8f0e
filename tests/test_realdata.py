"""One build over the real Cheshire & Merseyside geography in ../shared/data.

Uses the real ONS LSOA 2011 boundaries, the NSPL-layout directory derived from OS Code-Point
Open, and ONS mid-2019 LSOA populations, with a fake extract drawn from real postcodes.
"""

from __future__ import annotations

import csv
import json

import pytest
from conftest import CM_DIRECTORY as DIRECTORY
from conftest import CM_LAS as LAS
from conftest import CM_PRESENT, SHARED_DATA, write_cm_recipe

from atlas.demo.extract import make_demo_extract, read_directory
from atlas.drop import build
from atlas.recipe import load_recipe

pytestmark = pytest.mark.realdata

if not CM_PRESENT:
    pytest.skip(
        f"real Cheshire & Merseyside data not found in {SHARED_DATA} "
        "(the shared/ folder sits beside the project checkout)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def drop(tmp_path_factory):
    root = tmp_path_factory.mktemp("cm")
    make_demo_extract(root / "extract", read_directory(DIRECTORY), LAS, seed=7, scale=2.0)
    recipe = write_cm_recipe(root, extra='[atlas]\nbasemap = "none"\n')
    return build(load_recipe(recipe), root / "out").out_dir


def test_real_geography_gives_the_nine_las_and_1562_lsoas(drop):
    with open(drop / "tables" / "residence_lsoa_cohorts.csv") as fh:
        rows = list(csv.DictReader(fh))
    lsoas = {r["lsoa_code"] for r in rows if not r["lsoa_code"].endswith("-UNKNOWN")}
    assert len(lsoas) == 1562
    assert {r["la_code"] for r in rows} == set(LAS)
    with open(drop / "tables" / "service_la_cohorts.csv") as fh:
        svc = {(r["la_code"], r["cohort"]): r for r in csv.DictReader(fh)}
    assert svc[("E08000012", "all")]["la_name"] == "Liverpool"
    assert svc[("E08000012", "all")]["population"] == "498042"
    assert svc[("TOTAL", "all")]["population"] == str(2_496_557)


def test_real_drop_ledger_reconciles_and_every_level_occurs(drop):
    ledger = json.loads((drop / "ledger.json").read_text())
    for name, counts in ledger["files"].items():
        assert counts["read"] == counts["accepted"] + counts["rejected"], name
    assert sum(ledger["match_levels"].values()) == ledger["cohorts"]["all"]
    assert all(
        ledger["match_levels"][level] > 0
        for level in ("full", "terminated", "partial", "nfa", "out_of_area", "invalid", "missing")
    )
    with open(drop / "rejects.csv") as fh:
        assert sum(1 for _ in csv.DictReader(fh)) == sum(
            c["rejected"] for c in ledger["files"].values()
        )
