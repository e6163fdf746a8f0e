"""``[siting] weight_imd = true``: the demand of each LSOA weighted by its IMD decile (2.0 in
decile 1 down to 1.0 in decile 10), on a hand-made case where the weighting changes the
recommendation.

Tiny geography: 6 PWID residents in E01000002 (Alpha 001B, decile 1) and 8 in E01000004
(Beta 001B, decile 10); the existing NSP sites (S1 in E01000001, S2 in E01000003) lie about
670 m away, beyond the 300 m radius. One new site among two candidates, one on each LSOA.
Unweighted: the candidate on E01000004 adds 8 of 14 (57.14%). Weighted: E01000002 counts
6 x 2.0 = 12 and E01000004 8 x 1.0 = 8, so the candidate on E01000002 adds 12 of 20 (60.00%).
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from conftest import client, nsp, write_extract, write_geography

from atlas.counting.deprivation import WEIGHTS, imd_weights
from atlas.disclosure.audit import audit_files
from atlas.drop import compute_drop
from atlas.recipe import load_recipe

DECILES = {"E01000001": 5, "E01000002": 1, "E01000003": 5, "E01000004": 10}


@pytest.fixture(scope="module")
def recipes(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("weight")
    geo = write_geography(tmp / "geo")
    homes = ["AA1 1AB"] * 6 + ["BB1 1AB"] * 8
    people = [
        client(f"C{i}", fi=chr(65 + i % 26), dob=f"19{60 + i}-01-01", postcode=pc)
        for i, pc in enumerate(homes)
    ]
    extract = write_extract(
        tmp / "ex",
        {
            "clients.csv": people,
            "nsp_transactions.csv": [
                nsp(f"T{i}", f"C{i}", substance="heroin") for i in range(len(people))
            ],
        },
    )
    imd = tmp / "imd.csv"
    imd.write_text(
        "LSOA code (2011),Index of Multiple Deprivation (IMD) Decile\n"
        + "".join(f"{c},{d}\n" for c, d in DECILES.items())
    )
    cands = tmp / "candidates.csv"
    cands.write_text(
        "site_code,site_name,postcode,latitude,longitude\n"
        "P1,Alpha Chemist,AA1 1AB,53.005,-2.985\n"
        "P2,Beta Chemist,BB1 1AB,53.005,-2.965\n"
    )

    def recipe(name: str, weight: bool) -> str:
        path = tmp / f"{name}.toml"
        path.write_text(
            f'[drop]\nname = "{name}"\nperiod = "2017-18"\narea_name = "Test Area"\n\n'
            f'[extract]\npath = "{extract}"\n\n'
            f'[geography]\npostcodes = "{geo["postcodes"]}"\n'
            f'lsoa_boundaries = ["{geo["lsoa"]}"]\npopulation = "{geo["population"]}"\n'
            f'imd = "{imd}"\n\n[atlas]\nbasemap = "none"\n\n[reports]\npdf = false\n\n'
            f'[siting]\ncandidates = "{cands}"\nradius_m = 300\nnew_sites = 1\n'
            + ("weight_imd = true\n" if weight else "")
        )
        return str(path)

    return recipe


def _siting(content) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.files["tables/nsp_siting.csv"].decode())))


def test_the_factors():
    assert {d: w / 9 for d, w in WEIGHTS.items()}[1] == 2.0
    assert WEIGHTS[10] == 9 and WEIGHTS[5] == 14  # 1 + 5/9
    assert imd_weights(["E01000002", "E01000004", "E09999999"], DECILES).tolist() == [18, 9, 9]


def test_weighting_by_deprivation_changes_the_recommendation(recipes):
    plain = compute_drop(load_recipe(recipes("plain", False)))
    weighted = compute_drop(load_recipe(recipes("weighted", True)))
    assert _siting(plain)[1:] == [
        ["0", "", "", "", "", "0.00", "0.00"],
        ["1", "P2", "Beta Chemist", "E06000002", "Beta", "57.14", "57.14"],
    ]
    assert _siting(weighted)[1:] == [
        ["0", "", "", "", "", "0.00", "0.00"],
        ["1", "P1", "Alpha Chemist", "E06000001", "Alpha", "60.00", "60.00"],
    ]
    assert weighted.ledger["siting"]["demand_weighted_by"] == "imd_decile"
    assert "demand_weighted_by" not in plain.ledger["siting"]
    report = weighted.files["reports/monitoring.html"].decode()
    assert "weighted by its IMD decile: 2.0 in decile 1" in report
    assert "weighted by its IMD decile" not in plain.files["reports/monitoring.html"].decode()


def test_the_audit_recomputes_the_weighted_percentages(recipes):
    weighted = compute_drop(load_recipe(recipes("audited", True)))
    assert audit_files(weighted.files, 5).clean
    # the same percentages without the page saying they are weighted: not the published demand's
    page = weighted.files["atlas.html"].decode()
    files = dict(weighted.files, **{"atlas.html": page.replace(',"weights":"imd"', "").encode()})
    assert page != files["atlas.html"].decode()
    report = audit_files(files, 5)
    assert any("added_pct is 60.00, but the published demand gives" in e for e in report.exposures)
    data = json.loads(
        re.search(r'id="atlas-data">(.*?)</script>', page, re.S)[1]  # type: ignore[index]
    )
    assert data["siting"]["weights"] == "imd"
