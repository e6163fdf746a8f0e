"""The two geographies of counting and the rates (spec section 2), counted by hand.

Five people, sites S1 (Alpha) and S2 (Beta):
    A  NSP at S1 and S2, lives at AA1 1AA (Alpha, LSOA E01000001)  -> psychoactive
    B  NSP at S2, Steroids, lives at BB1 1AB (Beta, E01000004)      -> IPED
    C  intervention at S1, lives at CC1 1AA (outside the drop)      -> BI
    D  intervention at S1, NFA with no assessment LA                -> BI, LA not known
    E  intervention at S2, partial postcode "AA1" (Alpha only)      -> BI, Alpha, LSOA not known
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import client, intervention, nsp, write_extract, write_recipe

from atlas.counting.rates import poisson_ci, rate_per_1000, round_half_up
from atlas.drop import compute_drop
from atlas.recipe import load_recipe


@pytest.fixture
def content(tmp_path, geo):
    extract = write_extract(
        tmp_path / "ex",
        {
            "clients.csv": [
                client("CA", fi="A", postcode="AA1 1AA"),
                client("CB", fi="B", site="S2", postcode="bb11ab"),
                client("CC", fi="C", postcode="CC1 1AA"),
                client("CD", fi="D", postcode="NFA"),
                client("CE", fi="E", site="S2", postcode="AA1"),
            ],
            "nsp_transactions.csv": [
                nsp("T1", "CA"),
                nsp("T2", "CA", site="S2", returned="Y"),
                nsp("T3", "CB", site="S2", substance="Steroids"),
            ],
            "interventions.csv": [
                intervention("I1", "CC"),
                intervention("I2", "CD"),
                intervention("I3", "CE", site="S2"),
            ],
        },
    )
    return compute_drop(load_recipe(write_recipe(tmp_path, geo, extract)))


def _cells(frame, key):
    return {
        (r[key], r["cohort"]): int(r["individuals"])
        for _, r in frame.iterrows()
        if r["individuals"] > 0
    }


def test_service_la_counts_a_person_in_every_la_used_and_once_in_the_total(content):
    svc = content.counts.service_la
    assert _cells(svc, "la_code") == {
        ("E06000001", "all"): 3,
        ("E06000001", "pwid_psychoactive"): 1,
        ("E06000001", "bi"): 2,
        ("E06000002", "all"): 3,
        ("E06000002", "pwid_psychoactive"): 1,
        ("E06000002", "pwid_ipeds"): 1,
        ("E06000002", "bi"): 1,
        ("TOTAL", "all"): 5,
        ("TOTAL", "pwid_psychoactive"): 1,
        ("TOTAL", "pwid_ipeds"): 1,
        ("TOTAL", "bi"): 3,
    }
    assert list(svc.loc[svc["la_code"] == "E06000001", "population"].unique()) == [2500]
    assert list(svc.loc[svc["la_code"] == "E06000002", "population"].unique()) == [2000]
    assert list(svc.loc[svc["la_code"] == "TOTAL", "population"].unique()) == [4500]


def test_residence_tables_count_each_person_once_and_add_up(content):
    lsoa = content.counts.residence_lsoa
    assert _cells(lsoa, "lsoa_code") == {
        ("E01000001", "all"): 1,
        ("E01000001", "pwid_psychoactive"): 1,
        ("E01000004", "all"): 1,
        ("E01000004", "pwid_ipeds"): 1,
        ("E06000001-UNKNOWN", "all"): 1,
        ("E06000001-UNKNOWN", "bi"): 1,
    }
    assert len(lsoa) == (4 + 2) * 4  # every LSOA and each LA's "not known" cell, 4 cohorts
    la = content.counts.residence_la
    assert _cells(la, "la_code") == {
        ("E06000001", "all"): 2,
        ("E06000001", "pwid_psychoactive"): 1,
        ("E06000001", "bi"): 1,
        ("E06000002", "all"): 1,
        ("E06000002", "pwid_ipeds"): 1,
        ("OUTSIDE", "all"): 1,
        ("OUTSIDE", "bi"): 1,
        ("UNKNOWN", "all"): 1,
        ("UNKNOWN", "bi"): 1,
        ("TOTAL", "all"): 5,
        ("TOTAL", "pwid_psychoactive"): 1,
        ("TOTAL", "pwid_ipeds"): 1,
        ("TOTAL", "bi"): 3,
    }
    # LSOAs add to their LA; areas add to TOTAL; cohorts add to all
    by_la = lsoa.groupby(["la_code", "cohort"])["individuals"].sum()
    la_rows = la.set_index(["la_code", "cohort"])["individuals"]
    for key, value in by_la.items():
        assert la_rows[key] == value
    areas = la[la["la_code"] != "TOTAL"].groupby("cohort")["individuals"].sum()
    totals = la[la["la_code"] == "TOTAL"].set_index("cohort")["individuals"]
    assert areas.sort_index().to_dict() == totals.sort_index().to_dict()
    wide = lsoa.pivot(index="lsoa_code", columns="cohort", values="individuals")
    assert (wide["all"] == wide[["pwid_psychoactive", "pwid_ipeds", "bi"]].sum(axis=1)).all()


def test_ledger_match_levels_and_cohorts(content):
    """The exact ledger is the analyst's; the published one suppresses every small count."""
    assert content.private_ledger["match_levels"] == {
        "full": 2,
        "terminated": 0,
        "partial": 1,
        "nfa": 1,
        "out_of_area": 1,
        "invalid": 0,
        "missing": 0,
    }
    assert content.private_ledger["cohorts"] == {
        "all": 5,
        "pwid_psychoactive": 1,
        "pwid_ipeds": 1,
        "bi": 3,
    }
    # 0 is published as 0; 1..4 suppressed (and nothing derivable: all four are)
    assert content.ledger["match_levels"] == {
        "full": None,
        "terminated": 0,
        "partial": None,
        "nfa": None,
        "out_of_area": None,
        "invalid": 0,
        "missing": 0,
    }
    # all 5 is withheld too: the visits and interventions each cohort made (published beside
    # the cohorts in the monitoring report) would narrow the cohorts (1, 1, 3) beside it
    assert content.ledger["cohorts"] == {
        "all": None,
        "pwid_psychoactive": None,
        "pwid_ipeds": None,
        "bi": None,
    }


def test_site_activity(content):
    sites = content.counts.site_activity.set_index("site_code")
    assert sites.loc[
        "S1", ["nsp_visits", "nsp_returns", "interventions", "individuals"]
    ].tolist() == [1, 0, 2, 3]
    assert sites.loc[
        "S2", ["nsp_visits", "nsp_returns", "interventions", "individuals"]
    ].tolist() == [2, 1, 1, 3]
    assert sites.loc["S1", "la_code"] == "E06000001"


def test_poisson_intervals_match_published_values():
    # exact Poisson: 0 -> (0, 3.689), 5 -> (1.623, 11.668); Byar: 10 -> (4.787, 18.391)
    lo, hi = poisson_ci(np.array([0, 5, 10, 100]))
    assert lo[:3] == pytest.approx([0.0, 1.6235, 4.7874], abs=1e-3)
    assert hi[:3] == pytest.approx([3.6889, 11.6683, 18.3915], abs=1e-3)
    assert (lo[3], hi[3]) == pytest.approx((81.3621, 121.6280), abs=1e-3)
    rates = rate_per_1000(pd.Series([11757.0]), pd.Series([483800.0]))
    assert round_half_up(rates["rate_per_1000"]).iloc[0] == 24.3


def test_round_half_up_as_published_tables_do():
    assert list(
        round_half_up(pd.Series([0.05, 0.15, 0.25, 2.675, 24.25, np.nan]), 1).fillna(-1)
    ) == [0.1, 0.2, 0.3, 2.7, 24.3, -1]
