"""The audit's identifier scan finds exactly what its regular expressions find (the reference
below, with Python's ``re`` and ``bytes.find``), and the attacks of issue 13 on it: values
quoted from rejected or shifted rows, free text published verbatim, references inside longer
tokens, postcodes and dates written other ways."""

from __future__ import annotations

import logging

import pytest
from conftest import assessment, client, nsp, write_extract
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas.disclosure.audit import Identifiers, audit_files, scan
from atlas.extract.personal import DATE_TEXT, POSTCODE_TEXT, dates_in
from atlas.extract.reader import read_extract

ALNUM = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
DIGITS = frozenset(b"0123456789")
NEWLINE = b"\n"


def _digit_at(data: bytes, i: int) -> bool:
    return 0 <= i < len(data) and data[i] in DIGITS


def _word_at(data: bytes, start: int, end: int) -> bool:
    """The reference's rule for a word found at data[start:end]: it splits no run of letters
    and digits, and no decimal number."""
    before = data[start - 1] if start > 0 else 0
    after = data[end] if end < len(data) else 0
    first, last = data[start], data[end - 1]
    return not (
        (first in ALNUM and before in ALNUM)
        or (last in ALNUM and after in ALNUM)
        or (first in DIGITS and before == ord(".") and _digit_at(data, start - 2))
        or (last in DIGITS and after == ord(".") and _digit_at(data, end + 1))
    )


def reference_scan(path: str, data: bytes, ids: Identifiers) -> list[str]:
    data = data.decode("utf-8", "replace").encode()
    text = data.decode()
    hits: list[tuple[int, str]] = []
    for m in POSTCODE_TEXT.finditer(text):
        if (m.group(1) + m.group(2)).upper() in ids.postcodes:
            hits.append((len(text[: m.start()].encode()), "a client's full postcode"))
    for m in DATE_TEXT.finditer(text):
        if m.group(1):
            key = (m.group(1), m.group(3), m.group(4))
        else:
            key = (m.group(8), m.group(7), m.group(5))
        known = {
            (y[-len(key[0]) :], int(mo), int(d))
            for y, mo, d in (iso.split("-") for iso in ids.dates_of_birth)
        }
        if (key[0], int(key[1]), int(key[2])) in known:
            hits.append((len(text[: m.start()].encode()), "a client's date of birth"))
    for kind, words in (
        ("a client_ref", ids.client_refs),
        ("a client attributor", ids.attributors),
    ):
        for word in map(str.encode, words):
            at = data.find(word)
            while at >= 0:
                if _word_at(data, at, at + len(word)):
                    hits.append((at, kind))
                at = data.find(word, at + 1)
    return [
        f"{path} line {data.count(NEWLINE, 0, pos) + 1}: {kind}" for pos, kind in sorted(set(hits))
    ]


IDS = Identifiers(
    client_refs={"C000123", "X-99/1", "é9876543", "123456", "C000002", "--//--"},
    attributors={"J|S|1966-08-12|M", "AB1 2CD"},
    dates_of_birth={"1966-08-12", "2001-01-01", "0999-01-01", "1976-12-27", "1985-07-14"},
    postcodes={"ZX65AD", "L87AB", "AB12CD", "M11AE", "ZX11AD"},
)

CASES = [
    b"a,12,1966-08-13,ZX6 5AE,C0000011\n",
    b"x\n12/08/1966;zx65ad\n",
    b"L8 7AB L87AB l8  7ab L8 7ABx xL8 7AB AB12CD AB1 2CD M1 1AE L8-7AB L8 - 7AB L8\t7ab\n",
    b"M1 1AE M11AE ABCDE 12345 ZX6 5AD ZX6-5AD-ZX6 5AD\n",
    "ZX6\u00a05AD ZX6 \u00a0-5AD ZX6\u00e05AD ZX6\u00e0 5AD M1\u00a0\u00a01AE\n".encode(),
    b"2001-01-01-01 01/01/2001 1966-08-12/09/1966 12/08/1966-08-12 0999-01-01\n",
    b"1966-08-12/08/1966 01/01/2001-01-01 x2001-01-01 2001-01-011 1.1.01 1-1-2001\n",
    b"27.12.1976 27/12/76 27-12-1976 1976/12/27 1976.12.27 127.12.1976 27.12.19761 3.11.10\n",
    "C000123 é9876543 \u00a0C000123\u3000X-99/1 (J|S|1966-08-12|M) xé9876543\n".encode(),
    b"C000002-visit1 visit1-C000002 xC000002 C0000021 C000002_1 [C000002]\n",
    b"123456 -2.123456 123456.7 1.123456.2 a123456 123456-1 0.5,123456\n",
    b"bad \xff\xfe L8 7AB \xc3 C000123 1966-08-12\n",
    b"C000123C000123 xC000123 C000123\nC000123\n--//-- ---//--\n",
    b"",
    b"\n\n\n",
]


@pytest.mark.parametrize("data", CASES)
def test_the_scan_finds_what_the_regular_expressions_find(data):
    assert scan("f", data, IDS) == reference_scan("f", data, IDS)


PIECES = st.sampled_from(
    [
        "L8",
        "7AB",
        "l8",
        "7ab",
        "AB1",
        "2CD",
        "AB12CD",
        "ZX6",
        "5AD",
        "M1",
        "1AE",
        "1966",
        "08",
        "8",
        "12",
        "2001",
        "01",
        "1",
        "66",
        "0999",
        "C000123",
        "X-99/1",
        "123456",
        "J|S|1966-08-12|M",
        "é9876543",
        "x",
        "9",
    ]
)
GLUE = st.sampled_from(
    [" ", "", "  ", "-", "/", ",", "\n", "\u00a0", ":", "é", "à", "_", ".", "\t"]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(PIECES, GLUE), max_size=14))
def test_the_scan_agrees_with_the_regular_expressions_on_any_text(parts):
    data = "".join(p + g for p, g in parts).encode()
    assert scan("f", data, IDS) == reference_scan("f", data, IDS)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=60))
def test_the_scan_agrees_on_any_bytes(data):
    assert scan("f", data, IDS) == reference_scan("f", data, IDS)


def test_dates_are_read_in_every_way_they_are_written():
    assert dates_in("born 27.12.1976, or 7/1/76; ISO 1976-12-27 and 1976-1-7; 32.1.1976") == [
        "1976-12-27",
        "1976-01-07",
        "2076-01-07",
        "1976-12-27",
        "1976-01-07",
    ]


def test_places_are_lines_in_tables_and_byte_offsets_in_pages():
    ids = Identifiers(client_refs={"C000002"})
    data = b"<p>\n<td>C000002-visit1</td>"
    assert scan("reports/monitoring.html", data, ids) == [
        "reports/monitoring.html byte 8: a client_ref"
    ]
    assert scan("tables/t.csv", data, ids) == ["tables/t.csv line 2: a client_ref"]


# Issue 13, point 5: free text published verbatim as a category
FREE_TEXT = "Lives with Jane Roe 14 Acacia Ave ZX1-1AD dob 27.12.1976"


def test_free_text_published_verbatim_is_found(tmp_path):
    folder = write_extract(
        tmp_path / "extract",
        {
            "clients.csv": [client("C000002", dob="1976-12-27", postcode="ZX9 9ZZ")],
            "assessments.csv": [assessment("C000002", "2017-05-01", accommodation=FREE_TEXT)],
            "nsp_transactions.csv": [nsp("C000002-visit1", "C000002")],
        },
    )
    ids = Identifiers.from_extract(read_extract(folder))
    profile = f"cohort,category,individuals\nall,{FREE_TEXT},5\n".encode()
    # the postcode is known from the free text itself, the date as the client's date of birth
    assert scan("reports/csv/monitoring_profiles.csv", profile, ids) == [
        "reports/csv/monitoring_profiles.csv line 2: a client's full postcode",
        "reports/csv/monitoring_profiles.csv line 2: a client's date of birth",
    ]
    page = f"<html><body><td>{FREE_TEXT}</td></body></html>".encode()
    assert scan("reports/monitoring.html", page, ids) == [
        "reports/monitoring.html byte 50: a client's full postcode",
        "reports/monitoring.html byte 62: a client's date of birth",
    ]


# Issue 13, point 4: a shifted row's values, quoted in the reasons of rejects.csv
def test_values_only_in_rejected_and_shifted_rows_are_found(tmp_path):
    shifted = client("C000007", dob="ZX1 1AA", gender="1985-07-14", postcode="ZX1 1AH")
    folder = write_extract(
        tmp_path / "extract",
        {
            "clients.csv": [client("C000001"), shifted],
            "assessments.csv": [assessment("C000001", "ZX1 1AB")],
            "nsp_transactions.csv": [nsp("T1", "C000001"), nsp("T2", "C000009", site="PH1")],
        },
    )
    extract = read_extract(folder)
    assert len(extract.rejects) == 3 and len(extract["clients.csv"]) == 1
    ids = Identifiers.from_extract(extract)
    rejects = (
        b"file,line,reason\n"
        b"clients.csv,3,\"date_of_birth is not a valid ISO date; gender '1985-07-14' is not one "
        b'of M, F, X, U"\n'
        b"assessments.csv,2,assessment_date 'ZX1 1AB' is not a valid ISO date (YYYY-MM-DD)\n"
        b"nsp_transactions.csv,3,client_ref 'C000009' is not in clients.csv\n"
        b"clients.csv,3,postcode 14/07/85 zx1-1ah\n"
    )
    assert scan("rejects.csv", rejects, ids) == [
        "rejects.csv line 2: a client's date of birth",
        "rejects.csv line 3: a client's full postcode",
        "rejects.csv line 4: a client_ref",
        "rejects.csv line 5: a client's date of birth",
        "rejects.csv line 5: a client's full postcode",
    ]


def test_a_misshaped_row_is_read_for_its_personal_values(tmp_path):
    folder = write_extract(tmp_path / "extract", {"clients.csv": [client("C000001")]})
    with open(folder / "clients.csv", "a") as fh:
        fh.write("C000008,S1,A,B,1985-07-14,M,ZX1 1AH,extra,fields\n")
    (folder / "nsp_transactions.csv").write_text(
        "transaction_id,client_ref,site_code,visit_date\nT1,C000001,S1,2017-06-01\n"
    )
    extract = read_extract(folder)
    assert extract.rejects["reason"].tolist() == ["has 9 fields where the header has 7"]
    ids = Identifiers.from_extract(extract)
    assert scan("x.csv", b"C000008 14.7.1985 ZX11AH", ids) == [
        "x.csv line 1: a client_ref",
        "x.csv line 1: a client's date of birth",
        "x.csv line 1: a client's full postcode",
    ]


# Issue 13, point 4: a transaction id holds the client's reference
def test_a_reference_inside_a_longer_token_is_found():
    ids = Identifiers(client_refs={"C000002"})
    reject = b"nsp_transactions.csv,9,duplicate transaction_id 'C000002-visit1'\n"
    assert scan("rejects.csv", reject, ids) == ["rejects.csv line 1: a client_ref"]


# Issue 13, point 8: a client_ref of false
def test_an_ordinary_word_as_a_reference_is_not_searched_for_and_said_so(tmp_path, caplog):
    folder = write_extract(
        tmp_path / "extract",
        {
            "clients.csv": [client("C000001"), client("false", dob="1979-01-01"), client("1")],
            "nsp_transactions.csv": [nsp("T1", "C000001"), nsp("T2", "TOTAL")],
        },
    )
    extract = read_extract(folder)
    with caplog.at_level(logging.WARNING, logger="atlas.disclosure.audit"):
        ids = Identifiers.from_extract(extract)
    assert caplog.messages == [
        "identifier scan: 3 client_refs are ordinary words or numbers (like false, TOTAL or "
        "1), not searched for in the drop (clients.csv line 3, clients.csv line 4, "
        "nsp_transactions.csv line 3)"
    ]
    assert scan("t.csv", b"la_code,suppressed\nTOTAL,false\n1,C000001\n", ids) == [
        "t.csv line 3: a client_ref"
    ]
    summary = audit_files({"t.csv": b"TOTAL,false,1\n"}, 5, identifiers=ids).summary()
    assert summary.endswith(
        "1 files scanned for client identifiers: 0 found; 3 client_refs are ordinary words or "
        "numbers (like false, TOTAL or 1), not searched for in the drop (clients.csv line 3, "
        "clients.csv line 4, nsp_transactions.csv line 3)"
    )


def test_a_line_with_an_unbalanced_quote_is_read_for_its_personal_values(tmp_path):
    folder = write_extract(tmp_path / "extract", {"clients.csv": [client("C000001")]})
    with open(folder / "clients.csv", "a") as fh:
        fh.write('C000008,S1,A,"B,1985-07-14,M,ZX1 1AH\n')
        fh.write(",".join(client("C000002").values()) + "\n")
    (folder / "nsp_transactions.csv").write_text(
        "transaction_id,client_ref,site_code,visit_date\nT1,C000001,S1,2017-06-01\n"
    )
    extract = read_extract(folder)
    assert extract.rejects["reason"].tolist() == [
        "unbalanced quote in last_initial: the quoted field is not closed on its line"
    ]
    ids = Identifiers.from_extract(extract)
    assert scan("x.csv", b"C000008 14.7.1985 ZX11AH", ids) == [
        "x.csv line 1: a client_ref",
        "x.csv line 1: a client's date of birth",
        "x.csv line 1: a client's full postcode",
    ]
