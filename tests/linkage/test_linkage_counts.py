"""The linked counts of the tiny extract (``conftest``), counted by hand, before and after
disclosure control, and what the build publishes about them."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner
from tiny_link import make_tiny_link

from atlas.cli import main
from atlas.drop import compute_stages
from atlas.recipe import load_recipe


@pytest.fixture
def tiny_link(tmp_path):
    return make_tiny_link(tmp_path)


def _cells(st, name: str) -> dict[str, int]:
    table = next(c for c in st.linkage.cells if c.name == name).table
    return dict(zip(table["cell_id"], table["individuals"].astype(int)))


def test_treatment_match_counted_by_hand(tiny_link):
    st = compute_stages(load_recipe(tiny_link["recipe"]))
    cells = _cells(st, "linkage_treatment")
    # Alpha: C1 (in treatment, PWID) and C2 (BI, not); Beta: C3 (its episode starts after
    # the period) and C4 (incomplete attributor: never linked)
    expected = {
        "treat:E06000001:all:both": 1,
        "treat:E06000001:all:ims_only": 1,
        "treat:E06000001:pwid_psychoactive:both": 1,
        "treat:E06000001:pwid_psychoactive:ims_only": 0,
        "treat:E06000001:bi:both": 0,
        "treat:E06000001:bi:ims_only": 1,
        "treat:E06000002:all:both": 0,
        "treat:E06000002:all:ims_only": 2,
        "treat:E06000002:pwid_psychoactive:ims_only": 2,
        "treat:TOTAL:all:both": 1,
        "treat:TOTAL:all:ims_only": 3,
        "treat:TOTAL:pwid_psychoactive:both": 1,
        "treat:TOTAL:bi:ims_only": 1,
        "treat:TOTAL:pwid_ipeds:both": 0,
    }
    assert {k: cells[k] for k in expected} == expected
    only = _cells(st, "linkage_treatment_only")
    assert only == {
        "treat:E06000001:treatment_only": 0,
        "treat:E06000002:treatment_only": 1,  # K L, whom IMS never saw
        "treat:OUTSIDE:treatment_only": 0,
        "treat:UNKNOWN:treatment_only": 0,
        "treat:TOTAL:treatment_only": 1,
    }
    assert st.linkage.ledger["treatment"] == {
        "rows_read": 6,
        "rows_rejected": 2,  # the key that is not one; the episode ending before it starts
        "rows_not_linkable": 1,  # M with a blank last initial
        "rows_in_period": 3,
    }
    assert st.linkage.private["treatment"]["both"] == 1


def test_deaths_counted_by_hand(tiny_link):
    st = compute_stages(load_recipe(tiny_link["recipe"]))
    cells = _cells(st, "linkage_deaths")
    got = {k: v for k, v in cells.items() if v}
    assert got == {
        # C1 at Alpha, an NSP visit 6 months before death
        "drd:2017-18:E06000001:deaths": 1,
        "drd:2017-18:E06000001:contact": 1,
        "drd:2017-18:E06000001:contact_nsp": 1,
        # C2, Beta by local_authority, a brief intervention 6.5 months before
        "drd:2017-18:E06000002:deaths": 1,
        "drd:2017-18:E06000002:contact": 1,
        "drd:2017-18:E06000002:contact_bi": 1,
        # the incomplete attributor, outside the area
        "drd:2017-18:OUTSIDE:deaths": 1,
        "drd:2017-18:OUTSIDE:not_linkable": 1,
        # Q R, never in IMS, no postcode and no LA
        "drd:2017-18:UNKNOWN:deaths": 1,
        "drd:2017-18:UNKNOWN:no_contact": 1,
        "drd:2017-18:TOTAL:deaths": 4,
        "drd:2017-18:TOTAL:contact": 2,
        "drd:2017-18:TOTAL:contact_nsp": 1,
        "drd:2017-18:TOTAL:contact_bi": 1,
        "drd:2017-18:TOTAL:no_contact": 1,
        "drd:2017-18:TOTAL:not_linkable": 1,
        # C5 died 13 months after the last contact: no contact
        "drd:2016-17:E06000002:deaths": 1,
        "drd:2016-17:E06000002:no_contact": 1,
        "drd:2016-17:TOTAL:deaths": 1,
        "drd:2016-17:TOTAL:no_contact": 1,
    }
    assert st.linkage.ledger["deaths"]["rows_rejected"] == 2


def test_build_publishes_protected_linked_figures_and_no_identifier(tiny_link):
    out = tiny_link["root"] / "out"
    result = CliRunner().invoke(main, ["build", str(tiny_link["recipe"]), "--out", str(out)])
    assert result.exit_code == 0, result.output
    match = pd.read_csv(out / "reports/csv/monitoring_treatment_match.csv", dtype=str).fillna("")
    total = match[(match["la_code"] == "TOTAL") & (match["cohort"] == "all")].iloc[0]
    # 4 seen, 1 in treatment, 3 only in IMS (threshold 2: 1 is suppressed, and its share; the
    # 4 seen too, since the report's other cells joined the one problem: the area's 4 is the
    # complement that protects a small count beside it)
    assert (total["seen"], total["both"], total["ims_only"], total["both_pct"]) == (
        "",
        "",
        "",
        "",
    )
    deaths = pd.read_csv(out / "reports/csv/monitoring_deaths.csv", dtype=str).fillna("")
    row = deaths[(deaths["year"] == "2017-18") & (deaths["la_code"] == "TOTAL")].iloc[0]
    assert (row["deaths"], row["contact"]) == ("4", "2")
    # nothing published lies in 1..threshold-1, and no rate beside a withheld count
    for frame in (match, deaths):
        for col in ("seen", "both", "ims_only", "deaths", "contact", "no_contact"):
            if col in frame:
                assert "1" not in set(frame[col])
    rates = deaths[deaths["rate_per_100000"] != ""]
    assert (rates["deaths"] != "").all()
    rejects = pd.read_csv(out / "rejects.csv", dtype=str)
    linked = rejects[rejects["file"].isin(["treatment_hashed.csv", "deaths_hashed.csv"])]
    assert sorted(zip(linked["file"], linked["line"], linked["reason"])) == [
        ("deaths_hashed.csv", "7", "date_of_death: not a valid ISO date (YYYY-MM-DD)"),
        (
            "deaths_hashed.csv",
            "8",
            "attributor_key: the same person's death is on an earlier line",
        ),
        ("treatment_hashed.csv", "6", "end_date: before start_date"),
        (
            "treatment_hashed.csv",
            "7",
            "attributor_key: not a keyed attributor (64 hex digits, as ims-atlas link-key writes)",
        ),
    ]
    published = b"".join(p.read_bytes() for p in out.rglob("*") if p.is_file())
    hashed = pd.read_csv(tiny_link["partners"] / "deaths_hashed.csv", dtype=str).fillna("")
    for key in hashed["attributor_key"]:
        if key:
            assert key.encode() not in published
    assert b"AA1 1AB" not in published.upper()  # the dead's postcode: only geocoded
    assert str(tiny_link["key"]).encode() not in published
    assert b"linkage.key" not in published
    assert tiny_link["key"].read_bytes().strip() not in published
    manifest = json.loads((out / "manifest.json").read_text())
    assert "key_file" not in manifest["recipe"]["content"]["linkage"]
    ledger = json.loads((out / "ledger.json").read_text())
    assert ledger["linkage"]["treatment"]["rows_not_linkable"] == 1
    private = json.loads((tiny_link["root"] / "out.private" / "ledger.json").read_text())
    assert private["linkage"]["exact"]["deaths"]["contact"] == 2
