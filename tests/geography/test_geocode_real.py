"""Every match level, each in several spellings, on real ONS-shaped rows: the NSPL Nov 2021
rows of the WN area (St Helens E08000013 and Wigan E08000010) and the derived Cheshire &
Merseyside directory."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import CM_LAS, SHARED_DATA

from atlas.geography.directory import read_directory
from atlas.geography.geocode import geocode

NSPL_WN = SHARED_DATA / "raw" / "nspl-nov2021" / "NSPL_NOV_2021_UK_WN.csv"
DERIVED = SHARED_DATA / "derived" / "NSPL_CM_derived.csv"
CM = set(CM_LAS)


@pytest.fixture(scope="module")
def wn():
    if not NSPL_WN.is_file():
        pytest.skip(f"real NSPL rows not found in {NSPL_WN}")
    return read_directory([NSPL_WN])


@pytest.fixture(scope="module")
def cm():
    if not DERIVED.is_file():
        pytest.skip(f"derived directory not found in {DERIVED}")
    return read_directory([DERIVED])


def _one(raw, directory, drop):
    r = geocode(pd.Series([raw]), directory, drop).iloc[0]
    return (
        r["match_level"],
        None if pd.isna(r["la_code"]) else r["la_code"],
        None if pd.isna(r["lsoa_code"]) else r["lsoa_code"],
    )


ST_HELENS = {"E08000013"}
WN_CASES = [
    # full: a live St Helens postcode, however it is typed
    *[
        (s, ("full", "E08000013", "E01006803"))
        for s in (
            "WN4 0AD",
            "wn4 0ad",
            "WN40AD",
            "  WN4   0AD ",
            "WN4 OAD",
            "wn4-0ad",
            "Wn4 0aD\t",
        )
    ],
    # full: a large-user postcode (usertype 1) is a postcode like any other
    *[(s, ("full", "E08000013", "E01006802")) for s in ("WN5 7LZ", "wn57lz")],
    # terminated: still geocoded
    *[(s, ("terminated", "E08000013", "E01006805")) for s in ("WN4 0QE", "wn4 oqe", "WN40QE")],
    # terminated with no grid reference or LA in the directory: no LA to give
    *[(s, ("terminated", None, None)) for s in ("WN1 9NN", "wn19nn")],
    # out of area: live in Wigan
    *[(s, ("out_of_area", "E08000010", None)) for s in ("WN1 1AA", "wn1 iaa", "WN11AA")],
    # partial: district WN3 lies wholly in Wigan; sector WN4 0 spans St Helens and Wigan
    *[(s, ("partial", "E08000010", None)) for s in ("WN3", "wn3", " WN3 ", "WN3 5")],
    *[(s, ("partial", None, None)) for s in ("WN4 0", "wn4  0", "WN4 O", "WN4", "WN5")],
    # nfa
    *[(s, ("nfa", None, None)) for s in ("NFA", "nfa", "No Fixed Abode", "ZZ99 3VZ", "zz993cz")],
    # invalid: malformed, or not in the directory
    *[
        (s, ("invalid", None, None))
        for s in ("WN4 0ZZ", "WN99 9ZZ", "12345", "WN4 0A", "W1", "unknown", "WN4 0AD X")
    ],
    # missing
    *[(s, ("missing", None, None)) for s in ("", "   ", None)],
]


@pytest.mark.parametrize("raw, expected", WN_CASES)
def test_real_nspl_rows_every_level(wn, raw, expected):
    assert _one(raw, wn, ST_HELENS) == expected


def test_all_cases_at_once_keep_the_index(wn):
    raw = pd.Series([c[0] for c in WN_CASES], index=[f"p{i}" for i in range(len(WN_CASES))])
    out = geocode(raw, wn, ST_HELENS)
    assert list(out.index) == list(raw.index)
    assert [
        tuple(None if pd.isna(v) else v for v in row)
        for row in out[["match_level", "la_code", "lsoa_code"]].itertuples(index=False)
    ] == [c[1] for c in WN_CASES]
    assert out["match_level"].value_counts().to_dict() == {
        "full": 9,
        "invalid": 7,
        "partial": 9,
        "nfa": 5,
        "terminated": 5,
        "out_of_area": 3,
        "missing": 3,
    }


@pytest.mark.parametrize(
    "raw, expected",
    [
        *[(s, ("full", "E08000012", "E01006752")) for s in ("L8 7AB", "l87ab", "L8 7 AB")],
        *[(s, ("terminated", "E08000012", "E01006515")) for s in ("L1 0BT", "l1 obt")],
        *[(s, ("out_of_area", "W06000005", None)) for s in ("CH1 4QL", "ch14ql")],
        *[(s, ("partial", "E08000012", None)) for s in ("L8", "L8 7", "l8 7")],
        *[(s, ("partial", "E06000049", None)) for s in ("SK11 0", "sk11 o")],
        *[(s, ("partial", None, None)) for s in ("CH4", "CH4 8", "WA7")],  # span two LAs
        *[(s, ("invalid", None, None)) for s in ("L8 7ZZ", "L99 9AA")],
    ],
)
def test_derived_cheshire_and_merseyside(cm, raw, expected):
    assert _one(raw, cm, CM) == expected
