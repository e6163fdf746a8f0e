"""One build over the real Cheshire & Merseyside geography in ../shared/data.

Uses the real ONS LSOA 2011 boundaries, the NSPL-layout directory derived from OS Code-Point
Open, and ONS mid-2019 LSOA populations, with a fake extract drawn from real postcodes.
"""

from __future__ import annotations

import csv
import json

import pytest

from atlas.demo.extract import make_demo_extract, read_directory
from atlas.drop import build
from atlas.recipe import load_recipe
from conftest import SHARED_DATA

pytestmark = pytest.mark.realdata

DIRECTORY = SHARED_DATA / "derived" / "NSPL_CM_derived.csv"
BOUNDARIES = SHARED_DATA / "raw" / "uk-geojson-lsoa11"
POPULATION = SHARED_DATA / "raw" / "ons-sape-via-demographr" / "population19_lsoa11_9LA.csv"
LAS = ["E06000049", "E06000050", "E06000006", "E06000007", "E08000011", "E08000012",
       "E08000013", "E08000014", "E08000015"]

if not (DIRECTORY.is_file() and BOUNDARIES.is_dir() and POPULATION.is_file()):
    pytest.skip(f"real Cheshire & Merseyside data not found in {SHARED_DATA} "
                "(the shared/ folder sits beside the project checkout)", allow_module_level=True)


@pytest.fixture(scope="module")
def drop(tmp_path_factory):
    root = tmp_path_factory.mktemp("cm")
    make_demo_extract(root / "extract", read_directory(DIRECTORY), LAS, seed=7, scale=2.0)
    recipe = root / "cm.toml"
    recipe.write_text(f"""
[drop]
name = "cm"
period = "2017-18"
area_name = "Cheshire & Merseyside"

[extract]
path = "extract"

[geography]
postcodes = "{DIRECTORY}"
lsoa_boundaries = "{BOUNDARIES}/*.json"
population = "{POPULATION}"

[atlas]
basemap = "none"
""")
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
    assert all(ledger["match_levels"][level] > 0 for level in
               ("full", "terminated", "partial", "nfa", "out_of_area", "invalid", "missing"))
    with open(drop / "rejects.csv") as fh:
        assert sum(1 for _ in csv.DictReader(fh)) == sum(
            c["rejected"] for c in ledger["files"].values())
