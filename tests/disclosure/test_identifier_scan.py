"""The audit's identifier scan finds exactly what its regular expressions find, read left to
right (the reference below is the scan as first written, with Python's ``re``)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas.disclosure.audit import Identifiers, scan
from atlas.disclosure.identifier_scan import UNICODE_SPACES

POSTCODE_RE = re.compile(
    r"(?<![A-Za-z0-9])([A-Za-z]{1,2}[0-9][A-Za-z0-9]?) ?([0-9][A-Za-z]{2})"
    r"(?![A-Za-z0-9])"
)
DATE_RE = re.compile(
    r"(?<![0-9])(\d{4})-(\d{2})-(\d{2})(?![0-9])|(?<![0-9])(\d{2})/(\d{2})/(\d{4})"
    r"(?![0-9])"
)
TOKEN_RE = re.compile(r"[^\s,;:\"'<>()\[\]{}=&]+")


def reference_scan(path: str, data: bytes, ids: Identifiers) -> list[str]:
    text = data.decode("utf-8", "replace")
    hits: list[tuple[int, str]] = []
    for m in POSTCODE_RE.finditer(text):
        if (m.group(1) + m.group(2)).upper() in ids.postcodes:
            hits.append((m.start(), "a client's full postcode"))
    for m in DATE_RE.finditer(text):
        y, mo, d = (
            (m.group(1), m.group(2), m.group(3))
            if m.group(1)
            else (m.group(6), m.group(5), m.group(4))
        )
        if f"{y}-{mo}-{d}" in ids.dates_of_birth:
            hits.append((m.start(), "a client's date of birth"))
    tokens = set(TOKEN_RE.findall(text))
    for kind, needles in (
        ("a client_ref", ids.client_refs),
        ("a client attributor", ids.attributors),
    ):
        for token in sorted(tokens & needles):
            hits.append((text.find(token), kind))
    return [
        f"{path} line {text.count(chr(10), 0, pos) + 1}: {kind}" for pos, kind in sorted(set(hits))
    ]


IDS = Identifiers(
    client_refs={"C000123", "X-99/1", "é9876543"},
    attributors={"JS0101196600", "AB1 2CD"},
    dates_of_birth={"1966-08-12", "2001-01-01", "0999-01-01", "999-01-01"},
    postcodes={"ZX65AD", "L87AB", "AB12CD", "M11AE", "ABCDE", "12345"},
)

CASES = [
    b"a,12,1966-08-13,ZX6 5AE,C0000011\n",
    b"x\n12/08/1966;zx65ad\n",
    b"L8 7AB L87AB l8  7ab L8 7ABx xL8 7AB AB12CD AB1 2CD M1 1AE\n",
    b"M1 1AE M11AE ABCDE 12345 ZX6 5AD\n",
    b"2001-01-01-01 01/01/2001 1966-08-12/09/1966 12/08/1966-08-12 0999-01-01\n",
    b"1966-08-12/08/1966 01/01/2001-01-01 x2001-01-01 2001-01-011\n",
    "C000123 é9876543 \u00a0C000123\u3000X-99/1 (JS0101196600)\n".encode(),
    "٠١/٠١/2001-01-01 and 1966-08-12 and ٢٠٠١-٠١-٠١\n".encode(),
    b"bad \xff\xfe L8 7AB \xc3 C000123 1966-08-12\n",
    b"C000123C000123 xC000123 C000123\nC000123\n",
    b"",
    b"\n\n\n",
]


@pytest.mark.parametrize("data", CASES)
def test_the_scan_finds_what_the_regular_expressions_find(data):
    assert scan("f", data, IDS) == reference_scan("f", data, IDS)


def test_the_separators_beyond_ascii_are_pythons_white_space():
    assert [c for c in map(chr, range(0x80, 0x110000)) if c.isspace()] == list(UNICODE_SPACES)


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
        "12",
        "2001",
        "01",
        "0999",
        "C000123",
        "X-99/1",
        "JS0101196600",
        "é9876543",
        "٠١",
        "x",
        "9",
    ]
)
GLUE = st.sampled_from([" ", "", "  ", "-", "/", ",", "\n", "\u00a0", ":", "é", "_", "."])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(PIECES, GLUE), max_size=14))
def test_the_scan_agrees_with_the_regular_expressions_on_any_text(parts):
    data = "".join(p + g for p, g in parts).encode()
    assert scan("f", data, IDS) == reference_scan("f", data, IDS)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=60))
def test_the_scan_agrees_on_any_bytes(data):
    assert scan("f", data, IDS) == reference_scan("f", data, IDS)
