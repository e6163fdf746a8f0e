"""Population files as published: ours, the ONS small-area and mid-year estimates, and the same
tables re-published with other column names, read without conversion."""

from __future__ import annotations

import pytest
from conftest import SHARED_DATA

from atlas.errors import GeographyError
from atlas.geography.areas import read_population

RAW = SHARED_DATA / "raw"


@pytest.mark.parametrize(
    ("path", "rows", "total", "first"),
    [
        ("ons-sape-via-demographr/population19_lsoa11_9LA.csv", 1562, 2496557, "E01012367"),
        ("ons-sape-via-demographr/population17_lsoa11_9LA.csv", 1562, 2470956, "E01018585"),
        ("ons-sape-via-demographr/population19_ltla19_9LA.csv", 9, 2496557, "E06000049"),
        (
            "ons-sape21dt11-mid2018-lsoa-popdensity/"
            "SAPE21DT11_mid2018_lsoa_population_density_9LA.csv",
            1562,
            2482336,
            "E01018585",
        ),
    ],
)
def test_real_population_files(path, rows, total, first):
    """The totals are those SOURCES.md gives for each file."""
    if not (RAW / path).exists():
        pytest.skip(f"{RAW / path} not found")
    pop = read_population(RAW / path)
    assert (len(pop), int(pop.sum()), pop.index[0]) == (rows, total, first)


SAPE_2019 = (
    "Mid-2019 Persons,,,,,,,\n"
    "This worksheet contains one table.,,,,,,,\n"
    ",,,,,,,\n"
    "LSOA Code,LSOA Name,LA Code (2019 boundaries),LA name (2019 boundaries),"
    "LA Code (2020 boundaries),LA name (2020 boundaries),All Ages,0\n"
    "E01011949,Hartlepool 009A,E06000001,Hartlepool,E06000001,Hartlepool,1954,17\n"
    'E01011950,Hartlepool 008A,E06000001,Hartlepool,E06000001,Hartlepool,"1,257",20\n'
)
SAPE_2021 = (
    "LAD 2021 Code,LAD 2021 Name,LSOA 2021 Code,LSOA 2021 Name,Total,F0\n"
    "E06000001,Hartlepool,E01011949,Hartlepool 009A,1900,8\n"
)
MYE_LA = (
    "Code,Name,Geography,All ages,0\r\n"
    'E06000001,Hartlepool,Unitary Authority,"92,338",1000\r\n'
    "E06000002,Middlesbrough,Unitary Authority,143924,1900\r\n"
)
OURS = "area_code,population\nE01011949,1954\nE06000001,92338\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (SAPE_2019, {"E01011949": 1954, "E01011950": 1257}),
        (SAPE_2021, {"E01011949": 1900}),
        (MYE_LA, {"E06000001": 92338, "E06000002": 143924}),
        (OURS, {"E01011949": 1954, "E06000001": 92338}),
        ("\ufefflsoa11cd,population\nE01011949,12\n", {"E01011949": 12}),
    ],
    ids=["sape-2019-with-title-rows", "sape-2021", "mid-year-la", "ours", "bom"],
)
def test_published_layouts(tmp_path, text, expected):
    path = tmp_path / "population.csv"
    path.write_text(text, encoding="utf-8")
    assert read_population(path).to_dict() == expected


def test_a_file_without_the_columns_says_what_it_expected(tmp_path):
    path = tmp_path / "pop.csv"
    path.write_text("zone,people\nE01011949,12\n")
    with pytest.raises(GeographyError) as err:
        read_population(path)
    assert str(err.value) == (
        f"{path}: expected an area code column (area_code, LSOA Code, Code, ...) and a "
        "population column (population, All Ages, Total, ...) in its first 30 lines (the first "
        "line holds zone, people)"
    )
