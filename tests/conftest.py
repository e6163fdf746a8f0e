"""Tiny hand-made geography and extracts, so every rule can be counted by hand.

Geography: two LAs, four square LSOAs, and a postcode directory in NSPL layout.

    LA E06000001 "Alpha": LSOAs E01000001 "Alpha 001A", E01000002 "Alpha 001B"
    LA E06000002 "Beta":  LSOAs E01000003 "Beta 001A",  E01000004 "Beta 001B"

    postcode   live  LA         LSOA
    AA1 1AA    yes   E06000001  E01000001
    AA1 1AB    yes   E06000001  E01000002
    AA1 1AD    no    E06000001  E01000001   (terminated)
    BB1 1AA    yes   E06000002  E01000003
    BB1 1AB    yes   E06000002  E01000004
    AB1 1AA    yes   E06000001  E01000001   (district AB1 spans both LAs,
    AB1 2AA    yes   E06000002  E01000003    sector AB1 1 lies in Alpha only)
    CC1 1AA    yes   E06000099  E01009999   (outside the drop)

Population: every LSOA 1,000; Alpha has an LA row of 2,500; Beta has none (so 2,000).
"""

from __future__ import annotations

import csv
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["chromium"]  # the headless browser fixture

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

# The real Cheshire & Merseyside geography in ../shared/data (tests skip when it is absent).
CM_DIRECTORY = SHARED_DATA / "derived" / "NSPL_CM_derived.csv"
CM_BOUNDARIES = SHARED_DATA / "raw" / "uk-geojson-lsoa11"
CM_POPULATION = SHARED_DATA / "raw" / "ons-sape-via-demographr" / "population19_lsoa11_9LA.csv"
CM_LAS = [
    "E06000049",
    "E06000050",
    "E06000006",
    "E06000007",
    "E08000011",
    "E08000012",
    "E08000013",
    "E08000014",
    "E08000015",
]
CM_PRESENT = CM_DIRECTORY.is_file() and CM_BOUNDARIES.is_dir() and CM_POPULATION.is_file()


def write_cm_recipe(root: Path, extra: str = "", extract: str = "extract") -> Path:
    """A recipe for the real C&M geography and the extract in root/extract; ``extra`` adds
    TOML tables (e.g. [siting])."""
    recipe = root / "cm.toml"
    recipe.write_text(
        textwrap.dedent(f"""\
        [drop]
        name = "cm"
        period = "2017-18"
        area_name = "Cheshire & Merseyside"

        [extract]
        path = "{extract}"

        [geography]
        postcodes = "{CM_DIRECTORY}"
        lsoa_boundaries = "{CM_BOUNDARIES}/*.json"
        population = "{CM_POPULATION}"
        """)
        + extra
    )
    return recipe


LSOAS = [
    ("E01000001", "Alpha 001A"),
    ("E01000002", "Alpha 001B"),
    ("E01000003", "Beta 001A"),
    ("E01000004", "Beta 001B"),
]
DIRECTORY = [
    ("AA1 1AA", "", "E06000001", "E01000001"),
    ("AA1 1AB", "", "E06000001", "E01000002"),
    ("AA1 1AD", "201903", "E06000001", "E01000001"),
    ("BB1 1AA", "", "E06000002", "E01000003"),
    ("BB1 1AB", "", "E06000002", "E01000004"),
    ("AB1 1AA", "", "E06000001", "E01000001"),
    ("AB1 2AA", "", "E06000002", "E01000003"),
    ("CC1 1AA", "", "E06000099", "E01009999"),
]
LSOA_CENTRES = {code: (53.005, -2.995 + 0.01 * i) for i, (code, _) in enumerate(LSOAS)}
LSOA_CENTRES["E01009999"] = (53.2, -2.5)

SITES_HEADER = [
    "site_code",
    "site_name",
    "site_type",
    "postcode",
    "latitude",
    "longitude",
    "local_authority",
    "services",
]
CLIENTS_HEADER = [
    "client_ref",
    "site_code",
    "first_initial",
    "last_initial",
    "date_of_birth",
    "gender",
    "postcode",
]
ASSESS_HEADER = [
    "client_ref",
    "site_code",
    "assessment_date",
    "postcode",
    "local_authority",
    "substance_1",
    "accommodation",
    "employment",
    "parental_status",
]
NSP_HEADER = ["transaction_id", "client_ref", "site_code", "visit_date", "returned", "substance"]
INT_HEADER = [
    "intervention_id",
    "client_ref",
    "site_code",
    "intervention_date",
    "intervention_type",
]
HEADERS = {
    "sites.csv": SITES_HEADER,
    "clients.csv": CLIENTS_HEADER,
    "assessments.csv": ASSESS_HEADER,
    "nsp_transactions.csv": NSP_HEADER,
    "interventions.csv": INT_HEADER,
}

DEFAULT_SITES = [
    {
        "site_code": "S1",
        "site_name": "Alpha Drug Service",
        "site_type": "agency",
        "postcode": "AA1 1AA",
        "services": "NSP;BI",
    },
    {
        "site_code": "S2",
        "site_name": "Beta Pharmacy",
        "site_type": "pharmacy",
        "postcode": "BB1 1AA",
        "services": "NSP",
    },
]


def write_geography(folder: Path) -> dict[str, Path]:
    """Write the tiny geography; return its paths."""
    folder.mkdir(parents=True, exist_ok=True)
    features = []
    for i, (code, name) in enumerate(LSOAS):
        x0, y0 = -3.0 + 0.01 * i, 53.0
        ring = [[x0, y0], [x0 + 0.01, y0], [x0 + 0.01, y0 + 0.01], [x0, y0 + 0.01], [x0, y0]]
        features.append(
            {
                "type": "Feature",
                "properties": {"LSOA11CD": code, "LSOA11NM": name},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    lsoa = folder / "lsoa.geojson"
    lsoa.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    header = ["pcd", "pcds", "dointr", "doterm", "laua", "lsoa11", "lat", "long"]
    postcodes = folder / "postcodes.csv"
    with open(postcodes, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for pc, doterm, la, lsoa_code in DIRECTORY:
            lat, lon = LSOA_CENTRES[lsoa_code]
            w.writerow([pc, pc, "198001", doterm, la, lsoa_code, lat, lon])
    population = folder / "population.csv"
    population.write_text(
        "area_code,population\n" + "".join(f"{c},1000\n" for c, _ in LSOAS) + "E06000001,2500\n"
    )
    return {"lsoa": lsoa, "postcodes": postcodes, "population": population}


def write_extract(
    folder: Path, files: dict[str, list[dict[str, Any]]], with_sites: bool = True
) -> Path:
    """Write extract CSVs from row dicts (missing columns blank); sites default to S1, S2."""
    folder.mkdir(parents=True, exist_ok=True)
    files = dict(files)
    if with_sites:
        files.setdefault("sites.csv", DEFAULT_SITES)
    for name, rows in files.items():
        header = HEADERS.get(name) or list(rows[0])
        with open(folder / name, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            for row in rows:
                w.writerow([row.get(c, "") for c in header])
    return folder


def write_recipe(
    folder: Path,
    geo: dict[str, Path],
    extract: Path,
    name: str = "test",
    period: str = "2017-18",
    extra: str = "",
) -> Path:
    recipe = folder / f"{name}.toml"
    recipe.write_text(
        textwrap.dedent(f"""\
        [drop]
        name = "{name}"
        period = "{period}"
        area_name = "Test Area"

        [extract]
        path = "{extract}"

        [geography]
        postcodes = "{geo["postcodes"]}"
        lsoa_boundaries = ["{geo["lsoa"]}"]
        population = "{geo["population"]}"

        [atlas]
        basemap = "none"
        """)
        + extra
    )
    return recipe


def client(
    ref: str,
    site: str = "S1",
    fi: str = "A",
    li: str = "B",
    dob: str = "1980-01-01",
    gender: str = "M",
    postcode: str = "",
) -> dict[str, str]:
    return {
        "client_ref": ref,
        "site_code": site,
        "first_initial": fi,
        "last_initial": li,
        "date_of_birth": dob,
        "gender": gender,
        "postcode": postcode,
    }


def nsp(
    tid: str,
    ref: str,
    date: str = "2017-06-01",
    site: str = "S1",
    returned: str = "N",
    substance: str = "",
) -> dict[str, str]:
    return {
        "transaction_id": tid,
        "client_ref": ref,
        "site_code": site,
        "visit_date": date,
        "returned": returned,
        "substance": substance,
    }


def intervention(
    iid: str,
    ref: str,
    date: str = "2017-06-01",
    site: str = "S1",
    kind: str = "Brief Intervention",
) -> dict[str, str]:
    return {
        "intervention_id": iid,
        "client_ref": ref,
        "site_code": site,
        "intervention_date": date,
        "intervention_type": kind,
    }


def assessment(ref: str, date: str, site: str = "S1", **values: str) -> dict[str, str]:
    return {"client_ref": ref, "site_code": site, "assessment_date": date, **values}


@pytest.fixture(autouse=True, scope="session")
def _repo_output_untouched():
    """The suite writes nothing into the repository's output/ folder (screenshots, drops and
    the like go to temporary folders)."""
    output = ROOT / "output"
    before = sorted(p.name for p in output.iterdir()) if output.is_dir() else []
    yield
    after = sorted(p.name for p in output.iterdir()) if output.is_dir() else []
    assert after == before, f"the tests left {sorted(set(after) - set(before))} in {output}"


@pytest.fixture(autouse=True, scope="session")
def _directory_cache(tmp_path_factory):
    """Keep the prepared-directory cache out of the user's ~/.cache during tests."""
    mp = pytest.MonkeyPatch()
    mp.setenv("IMS_ATLAS_CACHE", str(tmp_path_factory.mktemp("ims-atlas-cache")))
    yield
    mp.undo()


@pytest.fixture
def geo(tmp_path: Path) -> dict[str, Path]:
    return write_geography(tmp_path / "geo")


@pytest.fixture(scope="session")
def demo_drop(tmp_path_factory) -> Path:
    """The bundled demo built once through the command; tests read it, or copy it to change it."""
    from click.testing import CliRunner

    from atlas.cli import main

    out = tmp_path_factory.mktemp("drops") / "demo"
    result = CliRunner().invoke(
        main, ["build", str(ROOT / "builders" / "demo.toml"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out
