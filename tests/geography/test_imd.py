"""Reading the English Indices of Deprivation as MHCLG publishes them (``[geography] imd``):
the 2019 and 2015 layouts (CSV and the xlsx sheet), the re-published snake_case table, one-line
errors for a bad file, and the real files in ../shared/data when present."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest
from conftest import SHARED_DATA

from atlas.errors import GeographyError
from atlas.geography.imd import read_imd

HEADER_2019 = (
    "LSOA code (2011),LSOA name (2011),Local Authority District code (2019),"
    "Local Authority District name (2019),Index of Multiple Deprivation (IMD) Rank,"
    "Index of Multiple Deprivation (IMD) Decile\n"
)
HEADER_2015 = (
    "LSOA code (2011),LSOA name (2011),Local Authority District code (2013),"
    "Local Authority District name (2013),"
    "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived),"
    "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)\n"
)
IMD_2019 = SHARED_DATA / "raw" / "imd2019-mhclg"
IMD_2015 = SHARED_DATA / "raw" / "imd2015-via-humaniverse-IMD"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_the_2019_csv_layout(tmp_path):
    path = _write(
        tmp_path / "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv",
        HEADER_2019
        + 'E01000001,Alpha 001A,E06000001,Alpha,"1,204",1\n'
        + 'E01000002,Alpha 001B,E06000001,Alpha,"31,000",10\n',
    )
    imd = read_imd(path)
    assert imd.deciles.to_dict() == {"E01000001": 1, "E01000002": 10}
    assert imd.edition == "2019"
    assert imd.label == "IMD 2019"
    assert "Open Government Licence" in imd.credit and "MHCLG" in imd.credit


def test_the_2015_layout_and_a_title_row_above_the_header(tmp_path):
    path = _write(
        tmp_path / "deprivation.csv",
        "English indices of deprivation 2015\n"
        + HEADER_2015
        + "E01000003,Beta 001A,E06000002,Beta,500,1\nE01000004,Beta 001B,E06000002,Beta,9000,3\n",
    )
    imd = read_imd(path)
    assert imd.deciles.to_dict() == {"E01000003": 1, "E01000004": 3}
    assert imd.edition == "2015"


def test_the_republished_snake_case_table(tmp_path):
    path = _write(
        tmp_path / "imd.csv",
        "lsoa11_code,lsoa11_name,lad13_code,lad13_name,IMD_score,IMD_rank,IMD_decile\n"
        "E01000001,Alpha 001A,E06000001,Alpha,40.2,120,1\n",
    )
    imd = read_imd(path)
    assert imd.deciles.to_dict() == {"E01000001": 1}
    assert imd.edition == "2015"


def test_the_xlsx_sheet_mhclg_publishes(tmp_path):
    import pyogrio

    path = tmp_path / "File_1_-_IMD2019_Index_of_Multiple_Deprivation.xlsx"
    notes = pd.DataFrame({"Notes": ["English Indices of Deprivation 2019"]})
    pyogrio.write_dataframe(notes, path, driver="XLSX", layer="Notes")
    table = pd.DataFrame(
        {
            "LSOA code (2011)": ["E01000001", "E01000002"],
            "Local Authority District code (2019)": ["E06000001", "E06000001"],
            "Index of Multiple Deprivation (IMD) Decile": [2, 9],
        }
    )
    pyogrio.write_dataframe(table, path, driver="XLSX", layer="IMD2019", append=True)
    imd = read_imd(path)
    assert imd.deciles.to_dict() == {"E01000001": 2, "E01000002": 9}
    assert imd.edition == "2019"


@pytest.mark.parametrize("value", ["11", "0", "", "x", "2.5"])
def test_a_value_that_is_not_a_decile_names_the_line_and_column(tmp_path, value):
    path = _write(
        tmp_path / "imd.csv",
        HEADER_2019
        + "E01000001,A,E06000001,Alpha,1,1\n"
        + f"E01000002,B,E06000001,Alpha,2,{value}\n",
    )
    with pytest.raises(GeographyError) as err:
        read_imd(path)
    message = str(err.value)
    assert message == (
        f"{path} line 3: Index of Multiple Deprivation (IMD) Decile: not a decile (a whole "
        "number from 1 to 10) in 1 row(s)"
    )
    assert "\n" not in message


def test_an_lsoa_given_two_deciles(tmp_path):
    path = _write(
        tmp_path / "imd.csv",
        HEADER_2019 + "E01000001,A,E06000001,Alpha,1,1\nE01000001,A,E06000001,Alpha,1,4\n",
    )
    with pytest.raises(
        GeographyError, match=r"imd\.csv line 3: LSOA code \(2011\): an LSOA given"
    ):
        read_imd(path)


def test_a_file_that_is_not_an_indices_file(tmp_path):
    path = _write(tmp_path / "population.csv", "area_code,population\nE01000001,1000\n")
    with pytest.raises(GeographyError) as err:
        read_imd(path)
    assert str(err.value).startswith(f"{path}: not an Indices of Deprivation file: expected")
    assert "(found area_code, population)" in str(err.value)


def test_a_missing_file(tmp_path):
    with pytest.raises(GeographyError, match=r"nowhere\.csv: no such file"):
        read_imd(tmp_path / "nowhere.csv")


def test_lsoas_of_another_vintage(tmp_path, caplog):
    path = _write(tmp_path / "imd.csv", HEADER_2019 + "E01000001,A,E06000001,Alpha,1,1\n")
    with pytest.raises(GeographyError, match="none of the drop's 2 LSOAs is in it"):
        read_imd(path, ["E01099998", "E01099999"])
    with caplog.at_level(logging.WARNING):
        imd = read_imd(path, ["E01000001", "E01099999"])
    assert imd.deciles.to_dict() == {"E01000001": 1}
    assert "1 of the drop's 2 LSOAs have no IMD decile" in caplog.text


@pytest.mark.skipif(not IMD_2019.is_dir(), reason="../shared/data (real IMD files) is absent")
def test_the_real_2019_files():
    one = read_imd(IMD_2019 / "File_1_-_IMD2019_Index_of_Multiple_Deprivation_9LA.csv")
    two = read_imd(IMD_2019 / "File_2_-_IoD2019_Domains_of_Deprivation_9LA.csv")
    assert len(one.deciles) == 1562 and one.edition == "2019"
    assert one.deciles.equals(two.deciles)
    # Knowsley 006B is in the most deprived decile; every decile is present in C&M
    assert one.deciles["E01006413"] == 1
    assert sorted(one.deciles.unique()) == list(range(1, 11))
    with pytest.raises(GeographyError, match="not an Indices of Deprivation file"):
        read_imd(IMD_2019 / "File_6_-_IoD2019_Population_Denominators_9LA.csv")


@pytest.mark.skipif(not IMD_2015.is_dir(), reason="../shared/data (real IMD files) is absent")
def test_the_real_2015_file():
    imd = read_imd(IMD_2015 / "imd2015_lsoa11_england_9LA.csv")
    assert len(imd.deciles) == 1562 and imd.edition == "2015"
    assert imd.deciles["E01018585"] == 9  # Cheshire East 001A
