"""Every physical line of a file accounted for: stray quotes, the csv module's field limit,
blank lines, quoted fields over several lines, a file without a header."""

from __future__ import annotations

import pytest
from conftest import client, write_extract

from atlas.errors import ExtractError
from atlas.extract.csv_text import Source
from atlas.extract.reader import read_extract

NSP_HEADER = "transaction_id,client_ref,site_code,visit_date,returned\n"


def _visits(n: int, start: int = 1) -> list[str]:
    return [f"T{i},C1,S1,2017-06-01,N\n" for i in range(start, start + n)]


def _extract(tmp_path, nsp_text: str):
    folder = write_extract(tmp_path / "ex", {"clients.csv": [client("C1")]})
    (folder / "nsp_transactions.csv").write_text(nsp_text, newline="")
    return read_extract(folder)


def _rejects(ex, name="nsp_transactions.csv"):
    r = ex.rejects
    return r[r["file"] == name].set_index("line")["reason"].to_dict()


def _accounted(counts: dict) -> bool:
    return (
        counts["lines"] == 1 + counts["read"] + counts["blank"] + counts.get("continued", 0)
        and counts["read"] == counts["accepted"] + counts["rejected"]
    )


def test_a_stray_quote_is_set_aside_at_its_line_and_reading_resumes(tmp_path):
    """The issue's case: a quote opened 200 lines before the end swallowed 198 visits."""
    lines = _visits(400)
    lines[199] = 'T200,C1,S1,"2017-06-01,N\n'  # line 201
    ex = _extract(tmp_path, NSP_HEADER + "".join(lines))
    assert _rejects(ex) == {
        201: "unbalanced quote in visit_date: the quoted field is not closed on its line"
    }
    assert ex.ledger["nsp_transactions.csv"] == {
        "read": 400,
        "accepted": 399,
        "rejected": 1,
        "lines": 401,
        "blank": 0,
    }
    assert len(ex["nsp_transactions.csv"]) == 399
    assert ex["nsp_transactions.csv"]["line"].iloc[-1] == 401


@pytest.mark.parametrize(
    ("bad", "closing", "column"),
    [
        ('T5,C1,S1,2017-06-01,"N\n', 'T9,C1,S1,2017-06-01,N"\n', "returned"),  # same width
        ('T5,C1,"S1,2017-06-01,N\n', 'T9,C1,S1,2017-06-01,N"\n', "site_code"),
        ('T5,C1,S1,2017-06-01,N,"x\n', 'T9,C1,S1,2017-06-01,N"\n', "field 6"),
    ],
    ids=["in the last column", "in the middle", "past the header"],
)
def test_a_quote_closed_lines_later_is_still_a_stray(tmp_path, bad, closing, column):
    """A stray quote closed by another stray makes a record of the right width out of five
    lines: it is still set aside, line by line, and no visit between them is lost."""
    lines = _visits(10)
    lines[4], lines[8] = bad, closing
    ex = _extract(tmp_path, NSP_HEADER + "".join(lines))
    rejects = _rejects(ex)
    assert rejects[6] == (
        f"unbalanced quote in {column}: the quoted field is not closed on its line"
    )
    assert list(ex["nsp_transactions.csv"]["line"]) == [2, 3, 4, 5, 7, 8, 9, 10, 11]
    assert _accounted(ex.ledger["nsp_transactions.csv"])
    assert ex.ledger["nsp_transactions.csv"]["lines"] == 11


def test_a_quote_left_open_on_the_last_line_is_set_aside(tmp_path):
    ex = _extract(tmp_path, NSP_HEADER + "".join(_visits(3)) + 'T4,C1,S1,2017-06-01,"N\n')
    assert _rejects(ex) == {
        5: "unbalanced quote in returned: the quoted field is not closed on its line"
    }
    assert ex.ledger["nsp_transactions.csv"]["accepted"] == 3


def test_more_than_the_csv_field_limit_after_a_quote_is_no_crash(tmp_path):
    filler = "".join(f"T{i},C1,S1,2017-06-01,N,{'x' * 40}\n" for i in range(100, 4100))
    text = NSP_HEADER + "".join(_visits(3)) + 'T4,C1,S1,"2017-06-01,N\n' + filler
    text += "".join(_visits(2, start=5))
    ex = _extract(tmp_path, text)
    assert len(filler) > 128 * 1024
    rejects = _rejects(ex)
    assert rejects[5] == (
        "unbalanced quote in visit_date: the quoted field is not closed on its line"
    )
    assert rejects[6] == "has 6 fields where the header has 5"
    assert len(rejects) == 4001
    assert list(ex["nsp_transactions.csv"]["transaction_id"]) == ["T1", "T2", "T3", "T5", "T6"]
    assert ex.ledger["nsp_transactions.csv"] == {
        "read": 4006,
        "accepted": 5,
        "rejected": 4001,
        "lines": 4007,
        "blank": 0,
    }


def test_a_long_field_without_a_quote_is_set_aside_not_a_crash(tmp_path):
    text = NSP_HEADER + 'T0,C1,S1,2017-06-01,"N"\n' + f"T1,C1,S1,2017-06-01,{'N' * 140_000}\n"
    ex = _extract(tmp_path, text + "".join(_visits(1, start=2)))
    assert _rejects(ex) == {3: "a field is longer than 131,072 characters"}
    assert list(ex["nsp_transactions.csv"]["transaction_id"]) == ["T0", "T2"]


def test_a_well_formed_field_over_two_lines_is_one_record(tmp_path):
    """A note holding a line break (quotes closed, as wide as the header) is kept, numbered
    as a spreadsheet numbers its rows; its second line is counted as a continuation."""
    folder = write_extract(tmp_path / "ex", {"clients.csv": [client("C1")]})
    (folder / "interventions.csv").write_text(
        "intervention_id,client_ref,site_code,intervention_date,intervention_type\n"
        'I1,C1,S1,2017-05-01,"Brief\nIntervention, with advice"\n'
        "I2,C1,S1,2017-05-02,Brief Intervention\n"
    )
    ex = read_extract(folder)
    frame = ex["interventions.csv"]
    assert list(frame["intervention_type"]) == [
        "Brief\nIntervention, with advice",
        "Brief Intervention",
    ]
    assert list(frame["line"]) == [2, 3]
    assert ex.ledger["interventions.csv"] == {
        "read": 2,
        "accepted": 2,
        "rejected": 0,
        "lines": 4,
        "blank": 0,
        "continued": 1,
    }


def test_blank_lines_are_counted_as_such_not_rejected(tmp_path):
    text = NSP_HEADER + "T1,C1,S1,2017-06-01,N\n\n,,,,\n   \nT2,C1,S1,2017-06-01,N\n\n"
    ex = _extract(tmp_path, text)
    assert _rejects(ex) == {}
    assert ex.ledger["nsp_transactions.csv"] == {
        "read": 2,
        "accepted": 2,
        "rejected": 0,
        "lines": 7,
        "blank": 4,
    }
    assert list(ex["nsp_transactions.csv"]["line"]) == [2, 6]


@pytest.mark.parametrize("ending", ["\n", "\r\n", ""], ids=["LF", "CRLF", "no final line end"])
def test_a_plain_file_counts_its_lines(tmp_path, ending):
    text = NSP_HEADER + "".join(_visits(3))
    text = text.replace("\n", ending if ending else "\n")
    if not ending:
        text = text.rstrip("\n")
    ex = _extract(tmp_path, text)
    assert ex.ledger["nsp_transactions.csv"] == {
        "read": 3,
        "accepted": 3,
        "rejected": 0,
        "lines": 4,
        "blank": 0,
    }


def test_a_file_without_a_header_names_the_missing_columns_not_the_record(tmp_path):
    folder = write_extract(tmp_path / "ex", {"nsp_transactions.csv": [], "clients.csv": []})
    (folder / "clients.csv").write_text(
        "C000001,S1,J,R,1984-09-14,F,ZX1 1AH\nC000002,S1,A,B,1980-01-01,M,\n"
    )
    with pytest.raises(ExtractError) as err:
        read_extract(folder)
    message = str(err.value)
    assert message == (
        "clients.csv: no header row: the first line names none of the required columns "
        "(client_ref, site_code, first_initial, last_initial, date_of_birth, gender)"
    )
    for value in ("C000001", "1984-09-14", "ZX1 1AH"):
        assert value not in message


def test_a_header_missing_a_column_names_it(tmp_path):
    folder = write_extract(tmp_path / "ex", {"clients.csv": [client("C1")]})
    (folder / "nsp_transactions.csv").write_text("transaction_id,client_ref,site_code\nT1,C1,S1\n")
    with pytest.raises(ExtractError) as err:
        read_extract(folder)
    assert str(err.value) == (
        "nsp_transactions.csv: missing required column(s): visit_date "
        "(found: transaction_id, client_ref, site_code)"
    )


@pytest.mark.parametrize(
    "data, plain",
    [
        (b"a,b\n1,2\n", True),
        (b"a,b\r\n1,2\r\n", True),
        (b"a,b\r\n1,2\r", False),  # a carriage return at the end, alone
        (b"a,b\r\n1\r2,3\r\n", False),  # a carriage return inside a line
    ],
    ids=["LF", "CRLF", "lone CR at the end", "lone CR inside"],
)
def test_plain_only_when_every_carriage_return_ends_a_line(tmp_path, data, plain):
    """The plain reader takes CR LF files; a carriage return alone (a line break Python
    splits on) sends the file to the general reader, mapped or not."""
    from atlas.extract.csv_text import _plain, decode

    path = tmp_path / "f.csv"
    path.write_bytes(data)
    source, _ = decode(path, None)
    assert _plain(source) is plain
    assert _plain(Source(bytes(data), data.decode("ascii"))) is plain
