"""``ims-atlas link-key``: the partner's attributors become keyed attributors that match the
IMS individuals' (the same normalisation), and nothing identifying is left in the file."""

from __future__ import annotations

import csv
import hashlib
import hmac

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import client, write_extract
from tiny_link import KEY, TREATMENT, key_file

from atlas.cli import main
from atlas.counting.individuals import link_clients
from atlas.extract.reader import read_extract
from atlas.linkage.keys import keyed, keyed_one, person_keys


def _run(*args: str):
    return CliRunner().invoke(main, ["link-key", *args])


def _write(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


def test_keyed_file_holds_no_attributor_and_keeps_the_other_columns(tmp_path):
    key = key_file(tmp_path / "k")
    out = tmp_path / "hashed.csv"
    result = _run(
        str(_write(tmp_path / "t.csv", TREATMENT)), "--key-file", str(key), "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert result.output == (
        "link-key: hashed.csv: 5 rows written, 4 keyed, "
        "1 not linkable (incomplete attributor: a part is blank; first at line 4)\n"
    )
    hashed = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(hashed.columns) == [
        "attributor_key",
        "la_code",
        "start_date",
        "end_date",
        "episode",
    ]
    assert list(hashed["episode"]) == ["T1", "T2", "T3", "T4", "T6"]
    assert hashed["attributor_key"].iloc[2] == ""  # incomplete: kept, blank, not linkable
    keyed = hashed["attributor_key"].drop(2)
    assert keyed.str.fullmatch("[0-9a-f]{64}").all()
    text = out.read_text()
    for row in TREATMENT[1:]:
        assert row[2] not in text  # no date of birth
        assert "|".join(v.strip().upper() for v in row[:4]) not in text


def test_the_same_person_gets_the_ims_individuals_keyed_attributor(tmp_path):
    """ " a", "b ", "m" at the partner and "A", "B", "M" in IMS: one keyed attributor."""
    extract = write_extract(
        tmp_path / "extract", {"clients.csv": [client("C1", "S1", "A", "B", "1980-01-01", "M")]}
    )
    (extract / "nsp_transactions.csv").write_text(
        "transaction_id,client_ref,site_code,visit_date\n"
    )
    ex = read_extract(extract)
    mine = person_keys(ex["clients.csv"], link_clients(ex["clients.csv"]), KEY)
    key = key_file(tmp_path / "k")
    out = tmp_path / "h.csv"
    _run(str(_write(tmp_path / "t.csv", TREATMENT)), "--key-file", str(key), "--out", str(out))
    theirs = pd.read_csv(out, dtype=str, keep_default_na=False)["attributor_key"]
    assert theirs.iloc[0] == mine.iloc[0]
    assert not theirs.iloc[1:].isin(mine).any()
    other = key_file(tmp_path / "other", b"another key of the partners, 40 bytes\n")
    _run(str(tmp_path / "t.csv"), "--key-file", str(other), "--out", str(out))
    assert pd.read_csv(out, dtype=str)["attributor_key"].iloc[0] != mine.iloc[0]


def test_dates_written_otherwise_with_date_format(tmp_path):
    rows = [TREATMENT[0], ["A", "B", "01/01/1980", "M", "", "", "", "T1"]]
    key = key_file(tmp_path / "k")
    iso = _run(
        str(_write(tmp_path / "t.csv", TREATMENT[:2])),
        "--key-file",
        str(key),
        "--out",
        str(tmp_path / "a.csv"),
    )
    uk = _run(
        str(_write(tmp_path / "u.csv", rows)),
        "--key-file",
        str(key),
        "--out",
        str(tmp_path / "b.csv"),
        "--date-format",
        "%d/%m/%Y",
    )
    assert iso.exit_code == uk.exit_code == 0
    a = pd.read_csv(tmp_path / "a.csv", dtype=str)["attributor_key"].iloc[0]
    b = pd.read_csv(tmp_path / "b.csv", dtype=str)["attributor_key"].iloc[0]
    assert a == b
    # without the format the date is not guessed: the row is not linkable, and said so
    guess = _run(str(tmp_path / "u.csv"), "--key-file", str(key), "--out", str(tmp_path / "c.csv"))
    assert "1 not linkable (date_of_birth is not a date as given; first at line 2)" in guess.output
    assert "01/01/1980" not in guess.output


def test_bad_input_is_one_line(tmp_path):
    key = key_file(tmp_path / "k")
    short = key_file(tmp_path / "short", b"too short")
    partner = _write(
        tmp_path / "t.csv", [["first_initial", "last_initial", "gender"], ["A", "B", "M"]]
    )
    missing = _run(str(partner), "--key-file", str(key), "--out", str(tmp_path / "o.csv"))
    assert missing.exit_code == 1
    assert missing.output == (
        "error: t.csv: missing required column(s): date_of_birth "
        "(found: first_initial, last_initial, gender)\n"
    )
    weak = _run(
        str(_write(tmp_path / "u.csv", TREATMENT)),
        "--key-file",
        str(short),
        "--out",
        str(tmp_path / "o.csv"),
    )
    assert weak.exit_code == 2
    assert weak.output == "error: --key-file: the key file holds 9 bytes; a key needs 16 or more\n"
    same = _run(str(tmp_path / "u.csv"), "--key-file", str(key), "--out", str(tmp_path / "u.csv"))
    assert same.exit_code == 2 and same.output.startswith("error: --out ")


@pytest.mark.parametrize("key", [KEY, b"k" * 16, b"a key longer than the block of SHA-256, " * 3])
def test_keyed_attributors_are_hmac_sha256(key):
    texts = np.array(["A|B|1980-01-01|M", "Ä|Ö|1999-12-31|X", ""], dtype=object)
    assert list(keyed(texts, key)) == [
        hmac.new(key, t.encode("utf-8"), hashlib.sha256).hexdigest() for t in texts
    ]
    assert keyed_one(texts[0], key) == keyed(texts[:1], key)[0]


def test_keys_are_matched_whole_even_when_their_first_digits_agree():
    from atlas.linkage.keys import member

    a = "0123456789abcdef" + "0" * 48
    b = "0123456789abcdef" + "1" * 48  # the same first 16 digits, another key
    c = "f" * 64
    values = np.array([a, b, c, "", None], dtype=object)
    assert list(member(values, np.array([b, c], dtype=object))) == [
        False,
        True,
        True,
        False,
        False,
    ]
