"""Candidate files as published: our CSV, the ODS edispensary file and the NHS pharmacy list,
read directly and detected from their first line."""

from __future__ import annotations

import pytest
from conftest import CM_DIRECTORY, CM_LAS, CM_PRESENT, SHARED_DATA, write_cm_recipe

from atlas.siting.candidate_files import SitingError, detect_layout, read_candidate_rows

CHOICES = SHARED_DATA / "raw" / "pharmacies-nhs-choices-2019" / "Pharmacy_9LA.csv"
ODS = SHARED_DATA / "raw" / "pharmacies-ods-edispensary-2025" / "edispensary_9LA.csv"
real_lists = pytest.mark.skipif(
    not (CHOICES.exists() and ODS.exists()), reason=f"pharmacy lists not found in {SHARED_DATA}"
)

EDISPENSARY = (
    '"FA057","HESWALL HILLS PHARMACY","Y62","QYG","119 BRIMSTAGE ROAD","HESWALL","WIRRAL",'
    '"MERSEYSIDE","","CH60 1XF","20060801","20241103","C","1","P18H","","","","","","","0","",'
    '"QYG","","",""\r\n'
    '"FA083","BOUNCE CHEMIST","Y62","QYG","18 PRESCOT ROAD","FAIRFIELD","LIVERPOOL","","",'
    '"L7 0LQ","20150401","","A","1","P1YV","","","","","","","0","","QYG","","",""\r\n'
    "\r\n"
    '"FA999","NEW PHARMACY","Y62","QYG","1 ROAD","","LIVERPOOL","","","L1 1AA","","","P","1",'
    '"","","","","","","","0","","QYG","","",""\r\n'
)
NHS_HEADER = (
    "OrganisationID¬OrganisationCode¬OrganisationType¬SubType¬OrganisationStatus¬IsPimsManaged¬"
    "IsEPSEnabled¬OrganisationName¬Address1¬Address2¬Address3¬City¬County¬Postcode¬Latitude¬"
    "Longitude¬ParentODSCode¬ParentName¬Phone¬Email¬Website¬Fax"
)


def nhs_row(code: str, subtype: str, status: str = "Visible", name: str = "Chemist") -> str:
    return (
        f"1¬{code}¬Pharmacy¬{subtype}¬{status}¬True¬True¬{name}¬¬¬¬Liverpool¬¬L1 1AA¬53.4¬-2.9"
        "¬Q44¬Area¬0151¬¬¬"
    )


def test_our_csv_is_read_with_file_line_numbers(tmp_path):
    path = tmp_path / "candidates.csv"
    path.write_text(
        'site_code,site_name,postcode\nP1,One,L1 1AA\n\nP2,"Two,\nand more",L2 2AA\nP3,Three,L3 3AA\n'
    )
    rows = read_candidate_rows(path)
    assert rows.layout == "csv"
    assert rows.frame[["line", "site_code"]].values.tolist() == [[2, "P1"], [4, "P2"], [6, "P3"]]
    assert rows.frame["latitude"].tolist() == ["", "", ""]
    assert rows.read == 3 and rows.skipped == {}


def test_edispensary_keeps_active_dispensers_and_counts_the_rest(tmp_path):
    path = tmp_path / "edispensary.csv"
    path.write_bytes(EDISPENSARY.encode())
    rows = read_candidate_rows(path)
    assert rows.layout == "edispensary"
    assert rows.frame.to_dict("records") == [
        {
            "line": 2,
            "site_code": "FA083",
            "site_name": "BOUNCE CHEMIST",
            "postcode": "L7 0LQ",
            "latitude": "",
            "longitude": "",
        }
    ]
    assert rows.skipped == {"not active (closed)": 1, "not active (proposed)": 1}
    assert rows.read == 3


def test_nhs_list_is_read_from_latin1_with_its_separator(tmp_path):
    path = tmp_path / "Pharmacy.csv"
    text = "\r\n".join(
        [
            NHS_HEADER,
            nhs_row("FA001", "Community Pharmacy", name="Café Chemist"),
            nhs_row("FA002", "Appliance Pharmacy"),
            nhs_row("FA003", "Community Pharmacy", status="Hidden"),
        ]
    )
    path.write_bytes(text.encode("latin-1"))
    rows = read_candidate_rows(path)
    assert rows.layout == "nhs_pharmacy"
    assert rows.frame[["line", "site_code", "site_name", "latitude"]].values.tolist() == [
        [2, "FA001", "Café Chemist", "53.4"]
    ]
    assert rows.skipped == {
        "appliance pharmacy (no walk-in customers)": 1,
        "not visible on the NHS website": 1,
    }


def test_a_named_layout_overrides_detection(tmp_path):
    path = tmp_path / "edispensary.csv"
    path.write_bytes(EDISPENSARY.encode())
    with pytest.raises(SitingError, match=r"edispensary.csv: missing column\(s\) site_code, "):
        read_candidate_rows(path, "csv")


@pytest.mark.parametrize(
    ("first_line", "layout"),
    [
        (b"site_code,site_name,postcode", "csv"),
        (b"SITE_CODE,Site_Name,Postcode,latitude,longitude", "csv"),
        (EDISPENSARY.encode().split(b"\r\n")[0], "edispensary"),
        (NHS_HEADER.encode("latin-1"), "nhs_pharmacy"),
        (b"code,name,postcode", "csv"),  # not ours, but not an ODS file either: csv says why
    ],
)
def test_layout_detection(first_line, layout):
    assert detect_layout(first_line + b"\r\nmore") == layout


def test_short_edispensary_row_names_its_line(tmp_path):
    path = tmp_path / "e.csv"
    path.write_bytes(EDISPENSARY.encode() + b'"FA1","X","Y62"\r\n')
    with pytest.raises(SitingError, match=r"e.csv line 5: 3 fields; an ODS edispensary file"):
        read_candidate_rows(path, "edispensary")


def test_empty_file(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("\n \n")
    with pytest.raises(SitingError, match=r"c.csv: the candidates file is empty"):
        read_candidate_rows(path)


@real_lists
def test_real_nhs_pharmacy_list():
    rows = read_candidate_rows(CHOICES)
    assert rows.layout == "nhs_pharmacy"
    assert rows.read == 607  # SOURCES.md: 607 rows
    assert rows.skipped == {"appliance pharmacy (no walk-in customers)": 4}
    assert len(rows.frame) == 603
    first = rows.frame.iloc[0]
    assert (first["site_code"], first["postcode"], first["latitude"][:7]) == (
        "FJH46",
        "CH49 5PD",
        "53.3701",
    )


@real_lists
def test_real_edispensary_file():
    rows = read_candidate_rows(ODS)
    assert rows.layout == "edispensary"
    assert rows.read == 1049  # SOURCES.md: 1,049 rows, no header
    assert rows.skipped == {"not active (closed)": 503, "not active (proposed)": 5}
    assert len(rows.frame) == 541
    assert rows.frame["line"].iloc[0] == 2 and rows.frame["site_code"].iloc[0] == "FA083"


@real_lists
@pytest.mark.realdata
@pytest.mark.skipif(not CM_PRESENT, reason=f"real C&M geography not found in {SHARED_DATA}")
def test_a_plan_from_the_ods_file_as_published(tmp_path):
    from atlas.demo.extract import make_demo_extract, read_directory
    from atlas.drop import plan_recipe
    from atlas.recipe import load_recipe

    make_demo_extract(tmp_path / "extract", read_directory(CM_DIRECTORY), CM_LAS, seed=3)
    write_cm_recipe(tmp_path, extra=f'\n[siting]\ncandidates = "{ODS}"\nnew_sites = 3\n')
    result = plan_recipe(load_recipe(tmp_path / "cm.toml"))
    ledger = result.ledger["candidates"]
    assert ledger["read"] == 1049
    assert ledger["skipped"] == {"not active (closed)": 503, "not active (proposed)": 5}
    assert ledger["accepted"] + ledger["rejected"] == 541
    # active rows whose postcodes are not in the directory, set aside with their line
    assert ledger["rejected"] == 2
    assert result.candidates.rejects["line"].tolist() == [103, 924]
    assert set(result.candidates.rejects["reason"]) <= {
        "cannot be placed: no latitude/longitude in the UK and postcode is not in the "
        "postcode directory"
    }
    assert len(result.published.siting) >= 2
