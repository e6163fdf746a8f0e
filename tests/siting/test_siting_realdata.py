"""The siting plan on Cheshire & Merseyside: real LSOAs and directory, real pharmacies as
candidates (NHS Choices 2019 with coordinates, ODS 2025 by postcode only), a fake extract."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import CM_DIRECTORY as DIRECTORY
from conftest import CM_LAS as LAS
from conftest import CM_PRESENT, SHARED_DATA, write_cm_recipe
from scipy.optimize import Bounds, LinearConstraint, milp

from atlas.demo.extract import make_demo_extract, read_directory
from atlas.drop import plan_recipe
from atlas.recipe import load_recipe
from atlas.siting.model import coverage_matrix

pytestmark = pytest.mark.realdata

CHOICES = SHARED_DATA / "raw" / "pharmacies-nhs-choices-2019" / "Pharmacy_9LA.csv"
ODS = SHARED_DATA / "raw" / "pharmacies-ods-edispensary-2025" / "edispensary_9LA.csv"

if not (CM_PRESENT and CHOICES.exists() and ODS.exists()):
    pytest.skip(
        f"real Cheshire & Merseyside data or pharmacy lists not found in {SHARED_DATA}",
        allow_module_level=True,
    )


def write_candidates(path) -> int:
    """Pharmacies as a candidates file: NHS Choices 2019 ('¬'-separated Latin-1, with
    coordinates), then active ODS 2025 pharmacies not in it (no header; postcode only)."""
    choices = pd.read_csv(
        CHOICES, sep="\xac", encoding="latin-1", dtype=str, keep_default_na=False, engine="python"
    )
    ods = pd.read_csv(ODS, header=None, dtype=str, keep_default_na=False)
    ods = ods[(ods[12] == "A") & ~ods[0].isin(choices["OrganisationCode"])]
    rows = pd.concat(
        [
            pd.DataFrame(
                {
                    "site_code": choices["OrganisationCode"],
                    "site_name": choices["OrganisationName"],
                    "postcode": choices["Postcode"],
                    "latitude": choices["Latitude"],
                    "longitude": choices["Longitude"],
                }
            ),
            pd.DataFrame(
                {
                    "site_code": ods[0],
                    "site_name": ods[1].str.title(),
                    "postcode": ods[9],
                    "latitude": "",
                    "longitude": "",
                }
            ),
        ]
    )
    rows.to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL)
    return len(rows)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    root = tmp_path_factory.mktemp("cm_siting")
    make_demo_extract(root / "extract", read_directory(DIRECTORY), LAS, seed=7, scale=1.0)
    n = write_candidates(root / "candidates.csv")
    write_cm_recipe(
        root,
        extra="""
[siting]
candidates = "candidates.csv"
radius_m = 1000
new_sites = 5
target_pct = 90
""",
    )
    return plan_recipe(load_recipe(root / "cm.toml")), n


def test_every_candidate_row_is_placed_or_set_aside(result):
    res, n = result
    assert res.candidates.read == n
    assert len(res.candidates.sites) + len(res.candidates.rejects) == n
    placed = res.candidates.sites["placed_by"].value_counts()
    assert placed["coordinates"] >= 600 and placed["postcode"] > 0


def test_plan_coverage_equals_the_proven_optimum(result):
    """Re-solve the whole problem, unreduced, with binary coverage variables: same optimum."""
    res, _ = result
    plan = res.plan
    d = plan.demand
    w = d["demand"].to_numpy(float)
    cands = res.candidates.sites
    a = coverage_matrix(d[["x", "y"]].to_numpy(), cands[["x", "y"]].to_numpy(), 1000.0)
    m, n = a.shape
    # variables: x (n candidates), y (m points); y_i <= today_i + sum_j a_ij x_j
    today = d["covered_today"].to_numpy(float)
    cons = [
        LinearConstraint(
            sp.hstack([-a.astype(float), sp.identity(m)], format="csr"), -np.inf, today
        ),
        LinearConstraint(np.concatenate([np.ones(n), np.zeros(m)])[None, :], 0, 5),
    ]
    opt = milp(
        np.concatenate([np.zeros(n), -w]),
        constraints=cons,
        bounds=Bounds(0, 1),
        integrality=np.ones(n + m),
        options={"mip_rel_gap": 0},
    )
    assert opt.status == 0
    assert len(plan.ranked) == 5
    assert plan.ranked["cumulative"].iloc[-1] == round(-opt.fun)
    assert plan.covered_today < plan.ranked["cumulative"].iloc[-1] <= plan.best_possible
    assert list(plan.ranked["added"]) == sorted(plan.ranked["added"], reverse=True)


def test_published_plan_reads_as_a_commissioner_needs(result):
    res, _ = result
    table = res.published.siting
    assert list(table["rank"]) == [0, 1, 2, 3, 4, 5]
    assert table.loc[0, "cumulative_pct"] != ""  # today's coverage is published
    assert set(res.published.coverage_la["la_code"]) == set(LAS)
