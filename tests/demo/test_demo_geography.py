"""The fictional demo geography: deterministic, well-formed, and shaped for the geocoder's cases."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from atlas.demo.geography import make_demo_geography

SHIPPED = Path(__file__).parents[2] / "boundaries" / "demo"
FILES = [
    "lsoa.geojson",
    "la.geojson",
    "postcodes.csv",
    "population.csv",
    "lookup.csv",
    "README.md",
]
OUTSIDE_LA = "E06900009"
NSPL_HEADER = (
    "pcd,pcd2,pcds,dointr,doterm,usertype,oseast1m,osnrth1m,osgrdind,oa11,cty,ced,laua,ward,"
    "hlthau,nhser,ctry,rgn,pcon,eer,teclec,ttwa,pct,itl,park,lsoa11,msoa11,wz11,ccg,bua11,"
    "buasd11,ru11ind,oac11,lat,long,lep1,lep2,pfa,imd,calncv,stp"
)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("demo")
    return out, make_demo_geography(out)


@pytest.fixture(scope="module")
def lsoas(generated) -> gpd.GeoDataFrame:
    return gpd.read_file(generated[0] / "lsoa.geojson")


@pytest.fixture(scope="module")
def postcodes(generated) -> pd.DataFrame:
    return pd.read_csv(generated[0] / "postcodes.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def lookup(generated) -> pd.DataFrame:
    return pd.read_csv(generated[0] / "lookup.csv", dtype=str)


@pytest.mark.parametrize("name", FILES)
def test_regenerating_gives_the_shipped_bytes(generated, name):
    assert (generated[0] / name).read_bytes() == (SHIPPED / name).read_bytes()


def test_same_seed_same_bytes_other_seed_other_bytes(generated, tmp_path):
    make_demo_geography(tmp_path / "again")
    for name in FILES:
        assert (tmp_path / "again" / name).read_bytes() == (generated[0] / name).read_bytes()
    make_demo_geography(tmp_path / "other", seed=1)
    assert (tmp_path / "other" / "lsoa.geojson").read_bytes() != (
        generated[0] / "lsoa.geojson"
    ).read_bytes()


def test_lsoas_are_valid_polygons_that_tile_without_overlap(lsoas):
    assert lsoas.crs.to_epsg() == 4326
    assert list(lsoas.columns) == ["LSOA11CD", "LSOA11NM", "geometry"]
    assert (lsoas.geom_type == "Polygon").all()
    assert lsoas.is_valid.all()
    bng = lsoas.to_crs(27700)
    assert bng.area.sum() == pytest.approx(bng.union_all().area, rel=1e-3)
    assert bng.union_all().geom_type == "Polygon"  # one region, no gaps splitting it


def test_lies_at_sea_in_the_irish_sea(lsoas):
    minx, miny, maxx, maxy = lsoas.total_bounds
    assert -4.1 < minx < maxx < -3.5
    assert 53.55 < miny < maxy < 53.85


def test_four_las_of_40_to_60_lsoas_with_ons_style_codes_and_names(lsoas, lookup):
    assert 150 <= len(lsoas) <= 250
    assert lsoas.LSOA11CD.is_unique and lsoas.LSOA11CD.is_monotonic_increasing
    assert lsoas.LSOA11CD.str.fullmatch(r"E01900\d{3}").all()
    assert lsoas.LSOA11NM.str.fullmatch(r".+ \d{3}[A-H]").all()
    la_names = lsoas.LSOA11NM.str.rsplit(" ", n=1).str[0]
    by_lsoa = lookup.drop_duplicates("LSOA11CD").set_index("LSOA11CD")
    assert (la_names.values == by_lsoa.loc[lsoas.LSOA11CD, "LAD17NM"].values).all()
    sizes = by_lsoa.groupby("LAD17CD").size()
    assert list(sizes.index) == ["E06900001", "E06900002", "E06900003", "E06900004"]
    assert sizes.between(40, 60).all()


def test_la_file_is_the_dissolve_of_its_lsoas(generated, lsoas, lookup):
    las = gpd.read_file(generated[0] / "la.geojson")
    assert list(las.columns) == ["LAD11CD", "LAD11NM", "geometry"]
    assert (las.geom_type == "Polygon").all()  # every LA is contiguous
    la_of = lookup.drop_duplicates("LSOA11CD").set_index("LSOA11CD").LAD17CD
    dissolved = lsoas.assign(la=la_of.loc[lsoas.LSOA11CD].values).to_crs(27700).dissolve("la")
    for row in las.to_crs(27700).itertuples():
        assert row.geometry.symmetric_difference(dissolved.geometry[row.LAD11CD]).area < 1.0


def test_lookup_groups_lsoas_into_msoas_of_4_to_6_and_oas_of_4_to_6(lsoas, lookup):
    assert list(lookup.columns) == [
        "OA11CD",
        "LSOA11CD",
        "LSOA11NM",
        "MSOA11CD",
        "MSOA11NM",
        "LAD17CD",
        "LAD17NM",
    ]
    assert lookup.OA11CD.is_unique
    assert set(lookup.LSOA11CD) == set(lsoas.LSOA11CD)
    assert lookup.groupby("LSOA11CD").size().between(4, 6).all()
    assert lookup.groupby("MSOA11CD").LSOA11CD.nunique().between(4, 6).all()
    assert (lookup.LSOA11NM.str[:-1] == lookup.MSOA11NM).all()
    assert lookup.groupby("MSOA11CD").LAD17CD.nunique().eq(1).all()


def test_postcode_directory_has_the_nspl_layout(generated, postcodes):
    header = (generated[0] / "postcodes.csv").read_text().splitlines()[0]
    assert header == NSPL_HEADER
    assert postcodes.pcds.is_unique and postcodes.pcds.is_monotonic_increasing
    assert postcodes.pcds.str.fullmatch(r"ZX\d{1,2} \d[ABD-HJLNP-UW-Z]{2}").all()
    outward, inward = postcodes.pcds.str.split(" ").str[0], postcodes.pcds.str.split(" ").str[1]
    assert (postcodes.pcd == outward.str.ljust(4) + inward).all()
    assert (postcodes.pcd2 == outward.str.ljust(4) + " " + inward).all()
    assert postcodes.dointr.str.fullmatch(r"(19|20)\d{2}(0[1-9]|1[0-2])").all()
    assert postcodes.doterm.str.fullmatch(r"|(19|20)\d{2}(0[1-9]|1[0-2])").all()
    assert (postcodes.ctry == "E92000001").all() and (postcodes.osgrdind == "1").all()
    assert postcodes.lat.str.fullmatch(r"53\.\d{6}").all()
    assert postcodes.long.str.fullmatch(r"-3\.\d{6}|-4\.\d{6}").all()
    assert (postcodes.oa11 == "").all() and (postcodes.ward == "").all()


def test_every_postcode_in_the_region_lies_inside_its_lsoa(lsoas, postcodes, lookup):
    inside = postcodes[postcodes.laua != OUTSIDE_LA]
    wgs84 = lsoas.set_index("LSOA11CD").geometry.loc[inside.lsoa11].values
    assert shapely.contains_xy(wgs84, inside.long.astype(float), inside.lat.astype(float)).all()
    bng = lsoas.to_crs(27700).set_index("LSOA11CD").geometry.loc[inside.lsoa11].values
    assert shapely.contains_xy(bng, inside.oseast1m.astype(int), inside.osnrth1m.astype(int)).all()
    la_of = lookup.drop_duplicates("LSOA11CD").set_index("LSOA11CD")
    assert (la_of.loc[inside.lsoa11, "LAD17CD"].values == inside.laua.values).all()
    assert (la_of.loc[inside.lsoa11, "MSOA11CD"].values == inside.msoa11.values).all()


def test_live_and_terminated_postcodes_per_lsoa(postcodes):
    inside = postcodes[postcodes.laua != OUTSIDE_LA]
    live = inside[inside.doterm == ""]
    assert live.groupby("lsoa11").size().between(25, 40).all()
    share = (inside.doterm != "").mean()
    assert 0.03 < share < 0.07


def test_some_districts_straddle_two_las_and_the_rest_lie_in_one(postcodes):
    inside = postcodes[postcodes.laua != OUTSIDE_LA]
    las_per_district = inside.groupby(inside.pcds.str.split(" ").str[0]).laua.nunique()
    assert (las_per_district == 2).sum() >= 2
    assert (las_per_district == 1).sum() >= 1
    assert las_per_district.max() == 2
    las_per_sector = inside.groupby(inside.pcds.str[:-2]).laua.nunique()
    assert (las_per_sector == 1).mean() > 0.8


def test_population_la_rows_are_the_sum_of_their_lsoas(generated, lsoas, lookup):
    population = pd.read_csv(generated[0] / "population.csv", dtype={"area_code": str})
    assert list(population.columns) == ["area_code", "population"]
    lsoa_rows = population[population.area_code.str.startswith("E01")]
    la_rows = (
        population[population.area_code.str.startswith("E06")].set_index("area_code").population
    )
    assert list(population.area_code) == list(lsoa_rows.area_code) + list(la_rows.index)
    assert list(lsoa_rows.area_code) == sorted(lsoas.LSOA11CD)
    assert lsoa_rows.population.between(1000, 3000).all()
    la_of = lookup.drop_duplicates("LSOA11CD").set_index("LSOA11CD").LAD17CD
    sums = lsoa_rows.groupby(la_of.loc[lsoa_rows.area_code].values).population.sum()
    assert la_rows.to_dict() == sums.to_dict()


def test_outside_la_postcodes_lie_beyond_the_region(lsoas, postcodes):
    outside = postcodes[postcodes.laua == OUTSIDE_LA]
    assert 250 <= len(outside) <= 350
    assert outside.lsoa11.str.fullmatch(r"E01909\d{3}").all()
    assert set(outside.pcds.str.split(" ").str[0]) == {"ZX20", "ZX21", "ZX22"}
    assert not postcodes[postcodes.laua != OUTSIDE_LA].pcds.str.match(r"ZX2\d ").any()
    points = gpd.points_from_xy(outside.long.astype(float), outside.lat.astype(float), crs=4326)
    assert not points.intersects(lsoas.union_all()).any()
    assert set(outside.lsoa11).isdisjoint(lsoas.LSOA11CD)


def test_counts_describe_the_files(generated, lsoas, postcodes):
    counts = generated[1]
    inside = postcodes[postcodes.laua != OUTSIDE_LA]
    assert counts["las"] == 4
    assert counts["lsoas"] == len(lsoas)
    assert counts["postcodes_live"] == (inside.doterm == "").sum()
    assert counts["postcodes_terminated"] == (inside.doterm != "").sum()
    assert counts["postcodes_outside"] == (postcodes.laua == OUTSIDE_LA).sum()


def test_readme_says_it_is_fictional(generated):
    text = (generated[0] / "README.md").read_text()
    assert "FICTIONAL" in text
    assert "python -m atlas.demo.geography boundaries/demo" in text
    assert re.search(r"`ZX`", text) and "E069" in text
