"""The ONS postcode directory as published: NSPL and ONSPD naming, 2021 codes, BNG-only files,
area files, and the Arrow cache — on the real NSPL Nov 2021 rows of the WN postcode area."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA

import atlas.geography.directory as directory_module
from atlas.errors import GeographyError
from atlas.geography.directory import load_directory, postcode_keys, read_directory

NSPL_WN = SHARED_DATA / "raw" / "nspl-nov2021" / "NSPL_NOV_2021_UK_WN.csv"
needs_nspl = pytest.mark.skipif(not NSPL_WN.is_file(), reason=f"real NSPL rows not in {NSPL_WN}")


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        return header, list(reader)


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_postcode_keys_nest_sector_and_district():
    unit, sector, district = postcode_keys(np.array(["WN40AD", "WN40", "WN4"], dtype=object))
    assert unit // 37**2 == sector and unit // 37**3 == district
    assert (
        len(set(postcode_keys(np.array(["L87AB", "L877AB", "LL87AB", "L8A7AB"], dtype=object))))
        == 4
    )


@needs_nspl
def test_real_nspl_rows():
    d = read_directory([NSPL_WN])
    assert len(d) == 9235 and int((~d["live"]).sum()) == 2038
    row = d.set_index("postcode").loc["WN4 0AD"]
    assert (row["live"], row["la_code"], row["lsoa_code"]) == (True, "E08000013", "E01006803")
    assert (row["lat"], row["long"]) == (53.485365, -2.660646)
    dead = d.set_index("postcode").loc["WN4 0QE"]
    assert (dead["live"], dead["la_code"], dead["lsoa_code"]) == (False, "E08000013", "E01006805")
    # no grid reference (lat 99.999999) and no LA: kept, with no position
    gone = d.set_index("postcode").loc["WN1 9NN"]
    assert pd.isna(gone["lat"]) and pd.isna(gone["la_code"]) and not gone["live"]
    assert d["key"].is_monotonic_increasing and d["key"].is_unique


@needs_nspl
def test_onspd_naming_and_bng_only_give_the_same_directory(tmp_path):
    header, rows = _rows(NSPL_WN)
    nspl = read_directory([NSPL_WN]).set_index("postcode")
    # ONSPD: oslaua for laua, pcd7-style postcodes, no lat/long (BNG eastings/northings only)
    onspd_header = ["pcd", "dointr", "doterm", "oseast1m", "osnrth1m", "oslaua", "lsoa11"]
    pick = [
        header.index(c)
        for c in ("pcd", "dointr", "doterm", "oseast1m", "osnrth1m", "laua", "lsoa11")
    ]
    onspd = _write(
        tmp_path / "ONSPD_NOV_2021_UK_WN.csv", onspd_header, [[r[i] for i in pick] for r in rows]
    )
    d = read_directory([onspd]).set_index("postcode")
    assert list(d.index) == list(nspl.index)
    for col in ("live", "la_code", "lsoa_code"):
        assert d[col].astype(object).equals(nspl[col].astype(object)), col
    both = nspl["lat"].notna()
    assert d["lat"].isna().equals(~both)
    assert np.abs(d.loc[both, "lat"] - nspl.loc[both, "lat"]).max() < 2e-5  # < 2 m
    assert np.abs(d.loc[both, "long"] - nspl.loc[both, "long"]).max() < 2e-5


@needs_nspl
def test_2021_codes_are_chosen_when_the_boundaries_are_2021(tmp_path):
    header, rows = _rows(NSPL_WN)
    header = ["pcds", "doterm", "lad23cd", "lsoa11cd", "lsoa21cd", "lat", "long"]
    i = {c: n for n, c in enumerate(_rows(NSPL_WN)[0])}
    out = [
        [
            r[i["pcds"]],
            r[i["doterm"]],
            r[i["laua"]],
            r[i["lsoa11"]],
            r[i["lsoa11"]].replace("E0100", "E0199"),
            r[i["lat"]],
            r[i["long"]],
        ]
        for r in rows
    ]
    path = _write(tmp_path / "nspl21.csv", header, out)
    assert (
        read_directory([path], {"E01996803"}).set_index("postcode").loc["WN4 0AD", "lsoa_code"]
        == "E01996803"
    )
    assert (
        read_directory([path], {"E01006803"}).set_index("postcode").loc["WN4 0AD", "lsoa_code"]
        == "E01006803"
    )
    assert read_directory([path]).set_index("postcode").loc["WN4 0AD", "la_code"] == "E08000013"


@needs_nspl
def test_area_files_read_together_equal_the_national_file(tmp_path):
    header, rows = _rows(NSPL_WN)
    parts = [_write(tmp_path / f"NSPL_part{k}.csv", header, rows[k::3]) for k in range(3)]
    whole = read_directory([NSPL_WN])
    pd.testing.assert_frame_equal(read_directory(parts), whole)


@needs_nspl
def test_cache_is_keyed_by_the_files_contents(tmp_path, monkeypatch):
    header, rows = _rows(NSPL_WN)
    source = _write(tmp_path / "nspl.csv", header, rows)
    cache = tmp_path / "cache"
    first = load_directory([source], cache=cache)
    assert len(list(cache.glob("directory-*.arrow"))) == 1
    pd.testing.assert_frame_equal(first, read_directory([source]))

    def no_csv(paths):
        raise AssertionError("the CSV was read again")

    monkeypatch.setattr(directory_module, "prepare_directory", no_csv)
    pd.testing.assert_frame_equal(load_directory([source], cache=cache), first)
    monkeypatch.undo()
    _write(source, header, rows[:100])  # new contents: a new cache entry, not the old one
    assert len(load_directory([source], cache=cache)) == 100
    assert len(list(cache.glob("directory-*.arrow"))) == 2


def test_not_a_directory_names_the_file_and_the_missing_columns(tmp_path):
    path = _write(tmp_path / "pc.csv", ["postcode", "la"], [["L8 7AB", "E08000012"]])
    with pytest.raises(
        GeographyError,
        match=r"pc\.csv: not a postcode directory: no column for "
        r"postcode, la_code, lsoa11/lsoa21",
    ):
        read_directory([path])
