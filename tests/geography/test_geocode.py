"""Geocoding and residence (spec section 2): normalisation, the seven match levels, fallbacks."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import write_geography

from atlas.geography.areas import read_directory
from atlas.geography.geocode import assign_residence, geocode, normalise

DROP = {"E06000001", "E06000002"}


@pytest.fixture
def directory(tmp_path):
    return read_directory([write_geography(tmp_path / "geo")["postcodes"]])


@pytest.mark.parametrize(
    "raw, kind, key",
    [
        ("AA1 1AA", "unit", "AA1 1AA"),
        ("aa11aa", "unit", "AA1 1AA"),
        ("  AA1   1AA ", "unit", "AA1 1AA"),
        ("AA1 OAA", "unit", "AA1 0AA"),
        ("AA1 IAA", "unit", "AA1 1AA"),
        ("EC1A 1BB", "unit", "EC1A 1BB"),
        ("AA1", "district", "AA1"),
        ("AA1 1", "sector", "AA1 1"),
        ("nfa", "nfa", ""),
        ("No fixed abode", "nfa", ""),
        ("ZZ99 3VZ", "nfa", ""),
        ("ZZ993CZ", "nfa", ""),
        ("", "missing", ""),
        ("   ", "missing", ""),
        ("123 456", "malformed", ""),
        ("AA1 1A", "malformed", ""),
    ],
)
def test_normalise(raw, kind, key):
    out = normalise(pd.Series([raw])).iloc[0]
    assert (out["kind"], out["key"]) == (kind, key)


def test_every_postcode_gets_exactly_one_match_level(directory):
    raw = pd.Series(
        {
            "live": "aa1 1ab",
            "slip": "AA1 IAA",
            "terminated": "AA1 1AD",
            "outside": "CC1 1AA",
            "sector_one_la": "AB1 1",
            "district_two_las": "AB1",
            "district_one_la": "BB1",
            "unknown_district": "QQ9",
            "nfa": "NFA",
            "pseudo": "ZZ99 3VZ",
            "not_in_directory": "AA1 9ZZ",
            "malformed": "12345",
            "missing": "",
        }
    )
    out = geocode(raw, directory, DROP)
    expected = {
        "live": ("full", "E06000001", "E01000002"),
        "slip": ("full", "E06000001", "E01000001"),
        "terminated": ("terminated", "E06000001", "E01000001"),
        "outside": ("out_of_area", "E06000099", None),
        "sector_one_la": ("partial", "E06000001", None),
        "district_two_las": ("partial", None, None),
        "district_one_la": ("partial", "E06000002", None),
        "unknown_district": ("invalid", None, None),
        "nfa": ("nfa", None, None),
        "pseudo": ("nfa", None, None),
        "not_in_directory": ("invalid", None, None),
        "malformed": ("invalid", None, None),
        "missing": ("missing", None, None),
    }
    got = {
        k: (
            r.match_level,
            None if pd.isna(r.la_code) else r.la_code,
            None if pd.isna(r.lsoa_code) else r.lsoa_code,
        )
        for k, r in out.iterrows()
    }
    assert got == expected


def test_residence_la_falls_back_to_the_assessment_la(directory):
    people = pd.DataFrame(
        {
            "assessment_la": [
                None,
                "E06000002",
                "E06000002",
                "Beta",
                "E09000001",
                "somewhere",
                None,
                "E06000002",
            ]
        }
    )
    coded = geocode(
        pd.Series(["AA1 1AB", "NFA", "AB1", "", "", "", "CC1 1AA", "AA1 1AA"]), directory, DROP
    )
    out = assign_residence(
        people,
        coded,
        {"E06000001": "Alpha", "E06000002": "Beta"},
        {
            "E01000001": "E06000001",
            "E01000002": "E06000001",
            "E01000003": "E06000002",
            "E01000004": "E06000002",
        },
    )
    assert list(out["residence_la"]) == [
        "E06000001",
        "E06000002",
        "E06000002",
        "E06000002",
        "OUTSIDE",
        "UNKNOWN",
        "OUTSIDE",
        "E06000001",
    ]
    assert list(out["residence_lsoa"].fillna("-")) == [
        "E01000002",
        "-",
        "-",
        "-",
        "-",
        "-",
        "-",
        "E01000001",
    ]
