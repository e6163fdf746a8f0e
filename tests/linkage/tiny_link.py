"""A tiny extract and partner files whose overlaps are counted by hand (``tiny_link``).

IMS clients (period 2017-18; sites S1 in Alpha E06000001, S2 in Beta E06000002):
    C1  A B 1980-01-01 M  NSP at S1 2017-06-01          pwid_psychoactive, seen at Alpha
    C2  C D 1981-02-02 F  intervention at S1 2017-07-01  bi, seen at Alpha
    C3  E F 1982-03-03 M  NSP at S2 2017-08-01          pwid_psychoactive, seen at Beta
    C4  G H 1983-04-04 U  NSP at S2 2017-09-01          pwid_psychoactive, Beta: incomplete
    C5  I J 1984-05-05 F  NSP at S1 2016-01-10          not seen in 2017-18
Treatment (attributors as the partner holds them, before link-key):
    line 2  " a","b ",1980-01-01,m (C1, other case and spaces)  Alpha, from 2017-01-01: both
    line 3  K L 1985-06-06 M (not in IMS)  Beta, from 2017-05-01: treatment only
    line 4  M "" 1986-07-07 F: incomplete attributor, not linkable
    line 5  E F 1982-03-03 M (C3) from 2018-05-01: not in treatment in the period
    line 6  O P 1987-08-08 M: ends 2017-08-01 before it starts 2017-09-01: rejected
    line 7  (added to the keyed file) attributor_key "xyz": rejected
Deaths:
    line 2  C1 died 2017-12-01 at "aa1 1ab" (Alpha): NSP 6 months before: contact_nsp
    line 3  C2 died 2018-01-15, local_authority E06000002: intervention before: contact_bi
    line 4  C5 died 2017-02-10 at BB1 1AA (Beta, 2016-17): 13 months after the last contact
    line 5  blank first initial, died 2017-10-01 at CC1 1AA (outside): not linkable
    line 6  Q R 1970-01-01 M (not in IMS) died 2017-11-11, no postcode or LA: UNKNOWN
    line 7  S T 1971-01-01 M died "11/11/2017": rejected (not an ISO date)
    line 8  C1 again, died 2018-02-01: rejected (the same person's death twice)
"""

from __future__ import annotations

import csv
from pathlib import Path

from click.testing import CliRunner
from conftest import client, intervention, nsp, write_extract, write_geography, write_recipe

from atlas.cli import main

KEY = b"a shared secret of the partners, 42 bytes\n"

TREATMENT = [
    [
        "first_initial",
        "last_initial",
        "date_of_birth",
        "gender",
        "la_code",
        "start_date",
        "end_date",
        "episode",
    ],
    [" a", "b ", "1980-01-01", "m", "E06000001", "2017-01-01", "", "T1"],
    ["K", "L", "1985-06-06", "M", "E06000002", "2017-05-01", "", "T2"],
    ["M", "", "1986-07-07", "F", "", "2017-01-01", "", "T3"],
    ["E", "F", "1982-03-03", "M", "", "2018-05-01", "", "T4"],
    ["O", "P", "1987-08-08", "M", "", "2017-09-01", "2017-08-01", "T6"],
]
DEATHS = [
    [
        "first_initial",
        "last_initial",
        "date_of_birth",
        "gender",
        "date_of_death",
        "postcode",
        "local_authority",
        "cause",
    ],
    ["A", "B", "1980-01-01", "M", "2017-12-01", "aa1 1ab", "", "poisoning"],
    ["C", "D", "1981-02-02", "F", "2018-01-15", "", "E06000002", "poisoning"],
    ["I", "J", "1984-05-05", "F", "2017-02-10", "BB1 1AA", "", "poisoning"],
    ["", "Z", "1975-05-05", "M", "2017-10-01", "CC1 1AA", "", "poisoning"],
    ["Q", "R", "1970-01-01", "M", "2017-11-11", "", "", "poisoning"],
    ["S", "T", "1971-01-01", "M", "11/11/2017", "", "E06000001", "poisoning"],
    ["A", "B", "1980-01-01", "M", "2018-02-01", "AA1 1AA", "", "poisoning"],
]


def _write(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


def key_file(path: Path, key: bytes = KEY) -> Path:
    path.write_bytes(key)
    return path


def run_link_key(source: Path, key: Path, out: Path) -> str:
    result = CliRunner().invoke(
        main, ["link-key", str(source), "--key-file", str(key), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return result.output


def make_tiny_link(tmp_path: Path) -> dict[str, Path]:
    """The tiny extract, geography, keyed partner files and a recipe (threshold 2) linking them."""
    geo = write_geography(tmp_path / "geo")
    extract = write_extract(
        tmp_path / "extract",
        {
            "clients.csv": [
                client("C1", "S1", "A", "B", "1980-01-01", "M"),
                client("C2", "S1", "C", "D", "1981-02-02", "F"),
                client("C3", "S2", "E", "F", "1982-03-03", "M"),
                client("C4", "S2", "G", "H", "1983-04-04", "U"),
                client("C5", "S1", "I", "J", "1984-05-05", "F"),
            ],
            "nsp_transactions.csv": [
                nsp("N1", "C1", "2017-06-01", "S1"),
                nsp("N2", "C3", "2017-08-01", "S2"),
                nsp("N3", "C4", "2017-09-01", "S2"),
                nsp("N4", "C5", "2016-01-10", "S1"),
            ],
            "interventions.csv": [intervention("I1", "C2", "2017-07-01", "S1")],
        },
    )
    partners = tmp_path / "partners"
    partners.mkdir()
    (tmp_path / "secret").mkdir()
    key = key_file(tmp_path / "secret" / "linkage.key")
    run_link_key(
        _write(partners / "treatment.csv", TREATMENT), key, partners / "treatment_hashed.csv"
    )
    with open(partners / "treatment_hashed.csv", "a", encoding="utf-8") as fh:
        fh.write("xyz,E06000001,2017-01-01,,T5\n")  # line 7: not a keyed attributor
    run_link_key(_write(partners / "deaths.csv", DEATHS), key, partners / "deaths_hashed.csv")
    recipe = write_recipe(
        tmp_path,
        geo,
        extract,
        extra=f"""
[linkage]
key_file = "{key}"
treatment = "partners/treatment_hashed.csv"
deaths = "partners/deaths_hashed.csv"

[reports]
pdf = false
""",
    )
    text = recipe.read_text().replace(
        'area_name = "Test Area"', 'area_name = "Test Area"\nthreshold = 2'
    )
    recipe.write_text(text)
    return {
        "recipe": recipe,
        "key": key,
        "partners": partners,
        "extract": extract,
        "root": tmp_path,
    }
