"""Boundaries, MSOAs, areas and population on the real Cheshire & Merseyside data; sites that
cannot be placed go to rejects.csv."""

from __future__ import annotations

import csv
import io
import json

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import SHARED_DATA, client, nsp, write_extract, write_geography, write_recipe

from atlas.cli import main
from atlas.errors import GeographyError
from atlas.geography.areas import load_geography, read_directory, read_lsoa_boundaries
from atlas.geography.geocode import place_sites, unplaced_rejects

RAW = SHARED_DATA / "raw"
BOUNDARIES = RAW / "uk-geojson-lsoa11"
DERIVED = SHARED_DATA / "derived" / "NSPL_CM_derived.csv"
POPULATION = RAW / "ons-sape-via-demographr" / "population19_lsoa11_9LA.csv"
LOOKUP = (
    RAW / "ons-oa11-lsoa11-msoa11-lad17-lookup" / "OA11_LSOA11_MSOA11_LAD17_OAC_lookup_9LA.csv"
)
real = pytest.mark.skipif(
    not (BOUNDARIES.is_dir() and DERIVED.is_file() and LOOKUP.is_file() and POPULATION.is_file()),
    reason=f"real Cheshire & Merseyside data not found in {SHARED_DATA}",
)


@real
def test_bng_shapefile_and_wgs84_geojson_give_the_same_lsoas(tmp_path):
    source = BOUNDARIES / "E06000006.json"
    gdf = gpd.read_file(source).to_crs("EPSG:27700")
    gdf.to_file(tmp_path / "halton.shp")
    from_geojson = read_lsoa_boundaries([source])
    from_shapefile = read_lsoa_boundaries([tmp_path / "halton.shp"])
    assert len(from_geojson) == 79 and from_shapefile.crs == from_geojson.crs == "EPSG:4326"
    assert list(from_shapefile["lsoa_code"]) == list(from_geojson["lsoa_code"])
    assert list(from_shapefile["lsoa_name"]) == list(from_geojson["lsoa_name"])
    a, b = from_geojson.to_crs(27700).geometry, from_shapefile.to_crs(27700).geometry
    assert (a.hausdorff_distance(b) < 0.01).all()  # no point more than 1 cm apart


@pytest.fixture(scope="module")
def cm():
    if not (BOUNDARIES.is_dir() and DERIVED.is_file() and LOOKUP.is_file()):
        pytest.skip(f"real Cheshire & Merseyside data not found in {SHARED_DATA}")
    return load_geography([DERIVED], sorted(BOUNDARIES.glob("*.json")), POPULATION, lookup=LOOKUP)


def test_real_msoas_are_dissolved_from_the_lsoas(cm):
    assert len(cm.lsoas) == 1562 and len(cm.msoas) == 323 and len(cm.lsoa_msoa) == 1562
    assert list(cm.msoas.columns[:3]) == ["msoa_code", "msoa_name", "la_code"]
    assert cm.msoas.groupby("la_code").size().to_dict() == {
        "E06000006": 16,
        "E06000007": 25,
        "E06000049": 51,
        "E06000050": 47,
        "E08000011": 20,
        "E08000012": 61,
        "E08000013": 23,
        "E08000014": 38,
        "E08000015": 42,
    }
    m = cm.msoas.set_index("msoa_code").loc["E02001347"]
    assert (m["msoa_name"], m["la_code"], m["population"]) == ("Liverpool 001", "E08000012", 7860)
    assert cm.lsoa_msoa["E01006512"] == "E02001377"
    assert cm.msoas["population"].sum() == 2_496_557
    assert cm.msoas.crs == "EPSG:4326" and cm.msoas.is_valid.all()


def test_real_areas_are_square_kilometres_in_bng(cm):
    las = cm.las.set_index("la_code")
    assert round(las.loc["E08000012", "area_km2"], 1) == 111.8  # Liverpool
    assert round(las.loc["E06000049", "area_km2"]) == 1166  # Cheshire East
    by_la = cm.lsoas.groupby("la_code")["area_km2"].sum()
    assert ((by_la - las["area_km2"]).abs() / las["area_km2"] < 1e-3).all()
    assert abs(cm.msoas["area_km2"].sum() - cm.lsoas["area_km2"].sum()) < 0.01
    assert cm.lsoas.is_valid.all() and cm.las.is_valid.all()


@real
def test_lookup_of_the_wrong_vintage_is_refused(tmp_path):
    lookup = tmp_path / "lookup21.csv"
    lookup.write_text("LSOA21CD,MSOA21CD,MSOA21NM\nE01999999,E02999999,Nowhere 001\n")
    with pytest.raises(
        GeographyError,
        match=r"lookup21\.csv: no MSOA for 79 of the 79 "
        r"LSOA\(s\) .*same vintage",
    ):
        load_geography([DERIVED], [BOUNDARIES / "E06000006.json"], POPULATION, lookup=lookup)


def test_population_missing_for_a_drop_la_is_an_error(tmp_path):
    geo = write_geography(tmp_path / "geo")
    geo["population"].write_text("area_code,population\nE01000001,10\nE01000002,20\n")
    with pytest.raises(
        GeographyError,
        match=r"population\.csv: no population for LA\(s\) "
        r"E06000002",
    ):
        load_geography([geo["postcodes"]], [geo["lsoa"]], geo["population"])
    geo["population"].write_text("area_code,population\nE01000001,10\nE01000002,20\nE06000002,0\n")
    g = load_geography([geo["postcodes"]], [geo["lsoa"]], geo["population"])
    assert g.las.set_index("la_code")["population"].to_dict() == {"E06000001": 30, "E06000002": 0}
    assert g.msoas.empty and list(g.msoas.columns[:3]) == ["msoa_code", "msoa_name", "la_code"]


def _sites(rows):
    frame = pd.DataFrame(rows).fillna("")
    frame.insert(0, "line", range(2, len(rows) + 2))
    return frame


def test_sites_placed_by_coordinates_else_postcode_else_rejected(tmp_path):
    geo = write_geography(tmp_path / "geo")
    g = load_geography([geo["postcodes"]], [geo["lsoa"]], geo["population"])
    sites = _sites(
        [
            {"site_code": "A", "postcode": "AA1 1AA", "latitude": "53.004", "longitude": "-2.99"},
            {"site_code": "B", "postcode": "aa1 1ab", "latitude": "0", "longitude": "0"},
            {"site_code": "C", "postcode": "BB1 1AB", "latitude": "340745", "longitude": "366280"},
            {"site_code": "D", "postcode": "AA1 9ZZ", "latitude": "0", "longitude": "0"},
            {"site_code": "E", "postcode": "", "latitude": "", "longitude": ""},
            {
                "site_code": "F",
                "postcode": "AA1",
                "latitude": "",
                "longitude": "",
                "local_authority": "E06000001",
            },
        ]
    )
    out = place_sites(sites, g.directory, g.las).set_index("site_code")
    assert out["placed_by"].to_dict() == {
        "A": "coordinates",
        "B": "postcode",
        "C": "postcode",
        "D": "unplaced",
        "E": "unplaced",
        "F": "unplaced",
    }
    assert (out.loc["B", "lat"], out.loc["B", "long"]) == pytest.approx((53.005, -2.985))
    assert out.loc[["D", "E", "F"], "lat"].isna().all()  # never 0,0
    assert out["la_code"].fillna("-").to_dict() == {
        "A": "E06000001",
        "B": "E06000001",
        "C": "E06000002",
        "D": "-",
        "E": "-",
        "F": "E06000001",
    }
    rejects = unplaced_rejects(out.reset_index())
    assert rejects.to_dict("records") == [
        {
            "file": "sites.csv",
            "line": 5,
            "reason": "the site cannot be placed on the map: "
            "coordinates outside the UK and its postcode is not in the directory; its activity "
            "is still counted",
        },
        {
            "file": "sites.csv",
            "line": 6,
            "reason": "the site cannot be placed on the map: "
            "no coordinates and no postcode; its activity is still counted",
        },
        {
            "file": "sites.csv",
            "line": 7,
            "reason": "the site cannot be placed on the map: "
            "no coordinates and its postcode is not a full unit postcode; its activity is still "
            "counted",
        },
    ]


def test_build_reports_unplaced_sites_in_rejects_and_says_so(tmp_path):
    geo = write_geography(tmp_path / "geo")
    sites = [
        {
            "site_code": "S1",
            "site_name": "Alpha",
            "site_type": "agency",
            "postcode": "AA1 1AA",
            "services": "NSP",
        },
        {
            "site_code": "S2",
            "site_name": "Nowhere",
            "site_type": "pharmacy",
            "postcode": "ZZ1 1ZZ",
            "local_authority": "E06000002",
            "services": "NSP",
        },
    ]
    extract = write_extract(
        tmp_path / "ex",
        {
            "sites.csv": sites,
            "clients.csv": [client("c1"), client("c2", site="S2", fi="Z")],
            "nsp_transactions.csv": [nsp("t1", "c1"), nsp("t2", "c2", site="S2")],
        },
    )
    recipe = write_recipe(tmp_path, geo, extract)
    result = CliRunner().invoke(main, ["build", str(recipe), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "1 site(s) could not be placed on the map: see rejects.csv" in result.output
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out" / "rejects.csv").read_text())))
    assert rows == [
        {
            "file": "sites.csv",
            "line": "3",
            "reason": "the site cannot be placed on "
            "the map: no coordinates and its postcode is not in the directory; its "
            "activity is still counted",
        }
    ]
    ledger = json.loads((tmp_path / "out" / "ledger.json").read_text())
    assert ledger["sites_unplaced"] == 1 and ledger["files"]["sites.csv"]["rejected"] == 0
    with open(tmp_path / "out" / "tables" / "site_activity.csv") as fh:
        s2 = next(r for r in csv.DictReader(fh) if r["site_code"] == "S2")
    # still counted, in its LA; its one visit is withheld with its one client (issue 13)
    assert (s2["la_code"], s2["suppressed"], s2["nsp_visits"]) == ("E06000002", "true", "")


def test_directory_reader_is_reexported_for_old_callers(tmp_path):
    geo = write_geography(tmp_path / "geo")
    assert len(read_directory([geo["postcodes"]])) == 8
