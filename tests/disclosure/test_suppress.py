"""Disclosure control, tested by attacking what is published (spec section 2)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict

import pandas as pd
import pytest

from atlas.disclosure.suppress import CellTable, safe_share


def _table(values: dict[str, int], groups: list[tuple[str, list[str]]]) -> CellTable:
    cells = CellTable()
    cells.add(pd.Series(list(values)), pd.Series(list(values.values())))
    for total, parts in groups:
        cells.group(total, parts)
    return cells


def test_primary_suppresses_1_to_threshold_minus_1_and_publishes_0():
    cells = _table({"a": 0, "b": 1, "c": 4, "d": 5, "e": 100}, [])
    hidden, primary = cells.suppress(5)
    assert hidden == {"b", "c"} and primary == 2


def test_a_lone_suppressed_cell_gets_the_smallest_nonzero_complement():
    cells = _table({"t": 60, "a": 3, "b": 0, "c": 9, "d": 48}, [("t", ["a", "b", "c", "d"])])
    hidden, _ = cells.suppress(5)
    assert hidden == {"a", "c"}


def test_secondary_suppression_propagates_across_groups_until_stable():
    # rows: r1 = x1 + y1, r2 = x2 + y2; columns: X = x1 + x2, Y = y1 + y2
    values = {"r1": 23, "x1": 3, "y1": 20, "r2": 40, "x2": 10, "y2": 30, "X": 13, "Y": 50}
    cells = _table(
        values,
        [("r1", ["x1", "y1"]), ("r2", ["x2", "y2"]), ("X", ["x1", "x2"]), ("Y", ["y1", "y2"])],
    )
    hidden, _ = cells.suppress(5)
    for total, parts in cells.groups:
        assert len(hidden & {total, *parts}) != 1
    assert {"x1", "y1", "x2", "y2"} <= hidden


def test_safe_share_never_lets_a_small_count_be_worked_back():
    shares = safe_share(pd.Series([3, 10, 97, 50]), pd.Series([100, 100, 100, 4]), 5)
    assert shares.isna().tolist() == [True, False, True, True]


@pytest.fixture(scope="module")
def demo_tables(demo_drop):
    def rows(name):
        return list(csv.DictReader(io.StringIO((demo_drop / "tables" / name).read_text())))

    return {
        n: rows(n)
        for n in (
            "residence_lsoa_cohorts.csv",
            "residence_la_cohorts.csv",
            "service_la_cohorts.csv",
        )
    }


def test_subtraction_attack_on_the_published_demo_tables_recovers_nothing(demo_tables):
    """Rebuild every additive group from the published CSVs alone; a group with exactly one
    blank cell would give that cell away by subtraction."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    lsoa = demo_tables["residence_lsoa_cohorts.csv"]
    la = demo_tables["residence_la_cohorts.csv"]
    svc = demo_tables["service_la_cohorts.csv"]
    for r in lsoa:
        groups[("lsoa-cohorts", r["lsoa_code"])].append(r)
        groups[("la-lsoas", r["la_code"], r["cohort"])].append(r)
    for r in la:
        groups[("la-cohorts", r["la_code"])].append(r)
        groups[("areas", r["cohort"])].append(r)
        if r["la_code"] != "TOTAL":
            groups[("la-lsoas", r["la_code"], r["cohort"])].append(r)
    for r in svc:
        groups[("svc-cohorts", r["la_code"])].append(r)
    total_la = {r["cohort"]: r["individuals"] for r in la if r["la_code"] == "TOTAL"}
    total_svc = {r["cohort"]: r["individuals"] for r in svc if r["la_code"] == "TOTAL"}
    assert total_la == total_svc  # one cell published in two tables
    hidden_total = 0
    for key, members in groups.items():
        blanks = [m for m in members if m["individuals"] == ""]
        hidden_total += len(blanks)
        assert len(blanks) != 1, f"group {key} gives away its one suppressed cell"
        if not blanks:  # a fully published group must add up exactly
            if key[0] in ("lsoa-cohorts", "la-cohorts", "svc-cohorts"):
                by = {m["cohort"]: int(m["individuals"]) for m in members}
                assert by["all"] == by["pwid_psychoactive"] + by["pwid_ipeds"] + by["bi"]
    assert hidden_total > 0
    for r in lsoa + la + svc:
        if r["individuals"]:
            assert not 0 < int(r["individuals"]) < 5


def test_msoa_table_adds_up_and_cannot_be_undone_by_subtraction(geo, tmp_path):
    """Alpha 001 = LSOAs E01000001 (6 people) + E01000002 (2): the 2 is suppressed, and so
    the MSOA (8) must hide something else or 8 - 6 gives it away."""
    from conftest import client, nsp, write_extract, write_recipe

    from atlas.drop import compute_drop
    from atlas.recipe import load_recipe

    lookup = tmp_path / "lookup.csv"
    lookup.write_text(
        "LSOA11CD,MSOA11CD,MSOA11NM\nE01000001,E02000001,Alpha 001\n"
        "E01000002,E02000001,Alpha 001\nE01000003,E02000002,Beta 001\n"
        "E01000004,E02000002,Beta 001\n"
    )
    people = [client(f"A{i}", fi=chr(65 + i), postcode="AA1 1AA") for i in range(6)] + [
        client(f"B{i}", fi=chr(75 + i), postcode="AA1 1AB") for i in range(2)
    ]
    extract = write_extract(
        tmp_path / "ex",
        {
            "clients.csv": people,
            "nsp_transactions.csv": [nsp(f"T{c['client_ref']}", c["client_ref"]) for c in people],
        },
    )
    recipe = write_recipe(tmp_path, geo, extract)
    recipe.write_text(recipe.read_text().replace("[atlas]", f'lookup = "{lookup}"\n\n[atlas]'))
    content = compute_drop(load_recipe(recipe))
    msoa = content.counts.residence_msoa.set_index(["msoa_code", "cohort"])["individuals"]
    assert msoa[("E02000001", "all")] == 8 and msoa[("E02000002", "all")] == 0
    published = content.published
    lsoa = published.residence_lsoa.set_index(["lsoa_code", "cohort"])
    m = published.residence_msoa.set_index(["msoa_code", "cohort"])
    assert lsoa.loc[("E01000002", "all"), "suppressed"]
    hidden = [
        bool(lsoa.loc[("E01000001", "all"), "suppressed"]),
        bool(m.loc[("E02000001", "all"), "suppressed"]),
    ]
    assert any(hidden)
    assert "tables/residence_msoa_cohorts.csv" in content.files
