"""The atlas's postcode index (``atlas/postcodes-<area>.js``) in the audit: it may hold
postcodes and the positions of their LSOAs and nothing else, one script for each area the page
names; its postcodes, the directory's every live one in the drop's LSOAs, are not client
postcodes found in the drop, while the same postcode anywhere else still is."""

from __future__ import annotations

import csv
import json
import re

import pytest
from conftest import ROOT

from atlas.disclosure.audit import Identifiers, audit_files, scan
from atlas.errors import DisclosureError

PATH = "atlas/postcodes-ZX.js"


@pytest.fixture(scope="module")
def files(demo_drop) -> dict[str, bytes]:
    return {
        p.relative_to(demo_drop).as_posix(): p.read_bytes()
        for p in demo_drop.rglob("*")
        if p.is_file()
    }


def _chunk(files):
    text = files[PATH].decode()
    return json.loads(text[len("atlasPostcodes(") : -len(");\n")])


def _with(files, path, chunk):
    out = dict(files)
    out[path] = f"atlasPostcodes({json.dumps(chunk)});\n".encode()
    return out


def _fails(files, message):
    report = audit_files(files, 5, 0)
    assert message in report.exposures, report.exposures
    with pytest.raises(DisclosureError, match=re.escape(message)):
        report.check()


def test_the_demo_index_passes_and_is_every_live_postcode_of_its_lsoas(files):
    assert [p for p in files if p.startswith("atlas/")] == [PATH]
    assert audit_files(files, 5, 0).clean
    page = json.loads(
        re.search(rb'id="atlas-data">(.*?)</script>', files["atlas.html"], re.S).group(1)
    )
    codes = page["levels"][0]["codes"]
    index = {
        (district + " " + inwards[k : k + 3]): codes[lsoas[k // 3]]
        for district, (inwards, lsoas) in _chunk(files)["districts"].items()
        for k in range(0, len(inwards), 3)
    }
    with open(ROOT / "boundaries" / "demo" / "postcodes.csv", newline="") as fh:
        directory = {
            row["pcds"]: row["lsoa11"]
            for row in csv.DictReader(fh)
            if not row["doterm"] and row["lsoa11"] in set(codes)
        }
    assert index == directory  # every live postcode of the drop's LSOAs, with its LSOA


def test_a_figure_in_the_index_fails(files):
    chunk = _chunk(files)
    chunk["individuals"] = [12, 7]
    _fails(_with(files, PATH, chunk), f"{PATH}: not a postcode index of the atlas")


def test_an_lsoa_position_outside_the_page_fails(files):
    chunk = _chunk(files)
    district = next(iter(chunk["districts"]))
    chunk["districts"][district][1][0] = 198  # the demo has LSOAs 0..197
    _fails(
        _with(files, PATH, chunk),
        f"{PATH} district {district}: not postcodes with the positions of their LSOAs",
    )


def test_an_index_the_page_does_not_name_fails(files):
    out = _with(files, "atlas/postcodes-ZY.js", {"area": "ZY", "districts": {}})
    _fails(out, "atlas.html: its postcode areas are not the postcode index scripts beside it")


def test_the_scan_passes_the_index_postcodes_but_finds_them_elsewhere():
    ids = Identifiers(postcodes={"ZX11AA"})
    text = b'atlasPostcodes({"area":"ZX","districts":{"ZX1":["1AA",[0]]}});\nZX1 1AA\n'
    assert scan(PATH, text, ids) == []
    assert scan("atlas/lsoa-E06900001.js", text, ids) == [
        "atlas/lsoa-E06900001.js byte 63: a client's full postcode"
    ]
    assert scan("atlas.html", b"<p>ZX1 1AA</p>", ids) == [
        "atlas.html byte 3: a client's full postcode"
    ]
