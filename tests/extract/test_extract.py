"""Reading the extract (spec section 1): encodings, headers, rejects and the ledger."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import client, intervention, nsp, write_extract

from atlas.errors import ExtractError
from atlas.extract.reader import read_extract


def _rejects(extract, name):
    r = extract.rejects
    return r[r["file"] == name].set_index("line")["reason"].to_dict()


def test_headers_are_case_insensitive_with_bom_any_order_and_extra_columns(tmp_path):
    folder = tmp_path / "ex"
    folder.mkdir()
    (folder / "Sites.csv").write_bytes(
        "\ufeffSITE_NAME,Site_Code,site_type,POSTCODE,colour\r\nAlpha,S1,Agency,AA1 1AA,red\r\n".encode(
            "utf-8"
        )
    )
    (folder / "clients.csv").write_text(
        "GENDER,client_ref,site_code,First_Initial,last_initial,date_of_birth\n"
        "m,C1,S1,a,b,1980-01-02\n"
    )
    (folder / "interventions.csv").write_text(
        "intervention_id,client_ref,site_code,intervention_date,intervention_type\n"
        "I1,C1,S1,2017-05-01,Brief Intervention\n"
    )
    ex = read_extract(folder)
    assert ex["sites.csv"].loc[0, "site_code"] == "S1"
    assert ex["sites.csv"].loc[0, "site_type"] == "agency"
    assert "colour" not in ex["sites.csv"]
    c = ex["clients.csv"].iloc[0]
    assert (c["gender"], c["first_initial"], c["date_of_birth"]) == (
        "M",
        "A",
        pd.Timestamp("1980-01-02"),
    )
    assert ex.rejects.empty


def test_windows_1252_is_read_and_the_byte_named(tmp_path):
    folder = write_extract(
        tmp_path / "ex",
        {"clients.csv": [client("C1")], "interventions.csv": [intervention("I1", "C1")]},
    )
    (folder / "sites.csv").write_bytes(
        "site_code,site_name,site_type,postcode\nS1,Caf\xe9 Pharmacy,pharmacy,AA1 1AA\n".encode(
            "cp1252"
        )
    )
    ex = read_extract(folder)
    assert ex["sites.csv"].loc[0, "site_name"] == "Caf\u00e9 Pharmacy"
    assert ex.warnings == ["sites.csv: not UTF-8 (byte 0xE9 at line 2); read as Windows-1252"]


def test_bytes_neither_utf8_nor_cp1252_are_refused_naming_file_and_byte(tmp_path):
    folder = write_extract(
        tmp_path / "ex",
        {"clients.csv": [client("C1")], "interventions.csv": [intervention("I1", "C1")]},
    )
    (folder / "sites.csv").write_bytes(
        b"site_code,site_name,site_type,postcode\nS1,Bad \x81 name,pharmacy,AA1 1AA\n"
    )
    with pytest.raises(ExtractError, match=r"sites\.csv: byte 0x81 at line 2"):
        read_extract(folder)


def test_missing_required_file_and_column_are_named(tmp_path):
    folder = write_extract(tmp_path / "ex", {"interventions.csv": [intervention("I1", "C1")]})
    with pytest.raises(ExtractError, match=r"required file\(s\) missing: clients\.csv"):
        read_extract(folder)
    folder = write_extract(tmp_path / "ex2", {"clients.csv": [client("C1")]})
    with pytest.raises(ExtractError, match="no activity file"):
        read_extract(folder)
    folder = write_extract(
        tmp_path / "ex3",
        {"clients.csv": [client("C1")], "interventions.csv": [intervention("I1", "C1")]},
    )
    (folder / "nsp_transactions.csv").write_text("transaction_id,client_ref,site_code\nT1,C1,S1\n")
    with pytest.raises(
        ExtractError, match=r"nsp_transactions\.csv: missing required column\(s\): visit_date"
    ):
        read_extract(folder)


def test_bad_rows_are_rejected_with_file_line_and_reason(tmp_path):
    folder = write_extract(
        tmp_path / "ex",
        {
            "clients.csv": [
                client("C1"),
                client("C2", dob="01/02/1980"),
                client("C1", fi="Z"),
                client("C3", site="S9"),
                client("C4", gender="Q"),
            ],
            "nsp_transactions.csv": [
                nsp("T1", "C1"),
                nsp("T1", "C1"),
                nsp("T2", "C2"),
                nsp("T3", "C9"),
                nsp("T4", "C1", date="2017-02-30"),
                nsp("T5", "C1", date="03/04/2017"),
                nsp("", "C1"),
                nsp("T6", "C1", returned="maybe"),
            ],
            "wellbeing.csv": [
                {
                    "client_ref": "C1",
                    "site_code": "S1",
                    "review_date": "2017-05-05",
                    "wemwbs_score": s,
                }
                for s in ("14", "70", "99", "13", "x")
            ],
            "interventions.csv": [],
        },
    )
    with open(folder / "interventions.csv", "a") as fh:
        fh.write("\nI9,C1,S1,2017-05-01,Brief Intervention,extra\n")
    ex = read_extract(folder)
    assert _rejects(ex, "clients.csv") == {
        3: "date_of_birth is not a valid ISO date (YYYY-MM-DD)",
        4: "duplicate client_ref (first at line 2)",
        5: "site_code is not in sites.csv",
        6: "gender is not one of M, F, X, U",
    }
    assert _rejects(ex, "nsp_transactions.csv") == {
        3: "duplicate transaction_id (first at line 2)",
        4: "client_ref was rejected in clients.csv (line 3)",
        5: "client_ref is not in clients.csv",
        6: "visit_date is not a valid ISO date (YYYY-MM-DD)",
        7: "visit_date is not a valid ISO date (YYYY-MM-DD)",
        8: "transaction_id is blank",
    }
    assert _rejects(ex, "wellbeing.csv") == {
        4: "wemwbs_score is not a whole number from 14 to 70",
        5: "wemwbs_score is not a whole number from 14 to 70",
        6: "wemwbs_score is not a whole number from 14 to 70",
    }
    assert _rejects(ex, "interventions.csv") == {3: "has 6 fields where the header has 5"}
    # an optional column's bad value is set aside, not its row
    nsp_frame = ex["nsp_transactions.csv"]
    assert list(nsp_frame["transaction_id"]) == ["T1", "T6"]
    assert list(nsp_frame["returned"]) == ["N", ""]
    assert ex.warnings == [
        "nsp_transactions.csv: returned is not one of Y, N in 1 row(s) (first at line 9); "
        "those values are set aside, the rows kept"
    ]
    for name, counts in ex.ledger.items():
        assert counts["read"] == counts["accepted"] + counts["rejected"], name
        assert counts["lines"] == 1 + counts["read"] + counts["blank"], name
    assert ex.ledger["nsp_transactions.csv"] == {
        "read": 8,
        "accepted": 2,
        "rejected": 6,
        "lines": 9,
        "blank": 0,
        "values_set_aside": {"returned": 1},
    }
    assert ex.ledger["clients.csv"] == {
        "read": 5,
        "accepted": 1,
        "rejected": 4,
        "lines": 6,
        "blank": 0,
    }
    assert ex.ledger["interventions.csv"] == {
        "read": 1,
        "accepted": 0,
        "rejected": 1,
        "lines": 3,
        "blank": 1,
    }


def test_an_absurdly_large_item_count_is_a_bad_value_set_aside_not_a_crash(tmp_path):
    rows = [
        dict(nsp("T1", "C1"), needles="99999999999999999999"),
        dict(nsp("T2", "C1"), needles="12"),
    ]
    folder = write_extract(tmp_path / "ex", {"clients.csv": [client("C1")]})
    header = ["transaction_id", "client_ref", "site_code", "visit_date", "needles"]
    (folder / "nsp_transactions.csv").write_text(
        ",".join(header) + "\n" + "".join(",".join(r[c] for c in header) + "\n" for r in rows)
    )
    ex = read_extract(folder)
    assert _rejects(ex, "nsp_transactions.csv") == {}
    assert ex["nsp_transactions.csv"]["needles"].tolist() == [pd.NA, 12]
    assert ex.ledger["nsp_transactions.csv"]["values_set_aside"] == {"needles": 1}


def test_line_numbers_count_records_as_a_spreadsheet_does(tmp_path):
    """A quoted field holding a line break is one spreadsheet row, not two."""
    folder = write_extract(tmp_path / "ex", {"clients.csv": [client("C1")]})
    (folder / "interventions.csv").write_text(
        "intervention_id,client_ref,site_code,intervention_date,intervention_type\n"
        'I1,C1,S1,2017-05-01,"Brief\nIntervention"\n'
        "I2,C1,S1,bad,Brief Intervention\n"
    )
    ex = read_extract(folder)
    assert _rejects(ex, "interventions.csv") == {
        3: "intervention_date is not a valid ISO date (YYYY-MM-DD)"
    }


def _odd_extract(folder, ref, quoted: bool):
    """An extract with untrimmed and lower-case values, duplicates out of key order and
    references to rejected rows; ``quoted`` puts one harmless field in quotes, so the csv module
    reads the file that pyarrow would otherwise split."""
    folder = write_extract(
        folder,
        {
            "clients.csv": [
                client(ref(3), fi=" a"),
                client(ref(1), gender="f"),
                client(ref(2), dob="1980-02-30"),
                client(ref(1), fi="Z"),
                client(f" {ref(4)} ", site="s2"),
            ],
            "nsp_transactions.csv": [
                nsp(ref(12), ref(1)),
                nsp(ref(10), ref(3), returned="y"),
                nsp(ref(11), ref(2)),
                nsp(ref(10), ref(4)),
                nsp(ref(13), ref(9)),
                nsp(f" {ref(14)}", f"{ref(3)} "),
            ],
            "interventions.csv": [intervention("I1", ref(4))],
        },
    )
    if quoted:
        for name, field in (("clients.csv", "1980-01-01"), ("nsp_transactions.csv", "2017-06-01")):
            path = folder / name
            path.write_text(path.read_text().replace(field, f'"{field}"', 1))
    return folder


@pytest.mark.parametrize("packed_keys", [0, 1 << 16], ids=["as integers", "as text"])
@pytest.mark.parametrize(
    "ref", [lambda i: f"C{i}", lambda i: f"CLIENT-REF-{i:05d}"], ids=["short keys", "long keys"]
)
def test_the_plain_and_the_general_reader_agree(tmp_path, monkeypatch, ref, packed_keys):
    monkeypatch.setattr("atlas.extract.reader.PACKED_KEYS", packed_keys)
    plain = read_extract(_odd_extract(tmp_path / "plain", ref, quoted=False))
    general = read_extract(_odd_extract(tmp_path / "general", ref, quoted=True))
    pd.testing.assert_frame_equal(plain.rejects, general.rejects)
    for name in plain.frames:
        pd.testing.assert_frame_equal(plain[name], general[name], check_exact=True)
    assert _rejects(plain, "clients.csv") == {
        4: "date_of_birth is not a valid ISO date (YYYY-MM-DD)",
        5: "duplicate client_ref (first at line 3)",
        6: "site_code is not in sites.csv",
    }
    assert _rejects(plain, "nsp_transactions.csv") == {
        4: "client_ref was rejected in clients.csv (line 4)",
        5: "client_ref was rejected in clients.csv (line 6); duplicate transaction_id "
        "(first at line 3)",
        6: "client_ref is not in clients.csv",
    }
    nsp_frame = plain["nsp_transactions.csv"]
    assert list(nsp_frame["transaction_id"]) == [ref(12), ref(10), ref(14)]
    assert list(nsp_frame["returned"]) == ["N", "Y", "N"]
    c = plain["clients.csv"]
    assert list(c["client_ref"]) == [ref(3), ref(1)]
    assert list(c["first_initial"]) == ["A", "A"] and list(c["gender"]) == ["M", "F"]


def test_client_row_is_the_row_of_the_client_record(tmp_path):
    ex = read_extract(
        write_extract(
            tmp_path / "ex",
            {
                "clients.csv": [client("C2"), client("C9", site="S9"), client("C1"), client("C3")],
                "nsp_transactions.csv": [
                    nsp("T1", "C3"),
                    nsp("T2", "C1"),
                    nsp("T3", "C9"),
                    nsp("T4", "C2"),
                ],
                "interventions.csv": [intervention("I1", "C1")],
                "assessments.csv": [
                    {"client_ref": "C3", "site_code": "S1", "assessment_date": "2017-05-01"}
                ],
            },
        )
    )
    clients = ex["clients.csv"]
    assert "client_row" not in clients
    for name in (
        "nsp_transactions.csv",
        "interventions.csv",
        "assessments.csv",
        "wellbeing.csv",
        "referrals.csv",
    ):
        frame = ex[name]
        assert frame["client_row"].dtype == "int64", name
        assert list(clients["client_ref"].to_numpy()[frame["client_row"]]) == list(
            frame["client_ref"]
        ), name
    assert list(ex["nsp_transactions.csv"]["client_row"]) == [2, 1, 0]
