"""Results cached by polygon content are the very ones computed afresh; a change of polygons
or settings computes afresh."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import box

from atlas.geography.areas import area_km2
from atlas.geography.geometry_cache import geometry_key
from atlas.geography.simplify_cache import cached_simplify


def _frame(shift: float = 0.0) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": ["a", "b"]},
        geometry=[box(-3.0, 53.0, -2.9, 53.1), box(-2.9, 53.0, -2.8 + shift, 53.1)],
        crs="EPSG:4326",
    )


def test_cached_areas_are_the_computed_ones_and_follow_the_polygons(tmp_path):
    fresh = area_km2(_frame(), cache=False)
    first, again = area_km2(_frame(), cache=tmp_path), area_km2(_frame(), cache=tmp_path)
    assert fresh.tolist() == first.tolist() == again.tolist()
    assert 70 < fresh.iloc[0] < 80  # about 6.7 km by 11.1 km
    assert len(list(tmp_path.glob("areas-*.arrow"))) == 1
    moved = area_km2(_frame(shift=0.1), cache=tmp_path)
    assert moved.iloc[1] > 1.9 * fresh.iloc[1] and len(list(tmp_path.glob("areas-*"))) == 2


def test_the_key_covers_polygons_and_settings():
    geoms = np.asarray(_frame().geometry.values)
    assert geometry_key(geoms, "x") == geometry_key(geoms.copy(), "x")
    assert geometry_key(geoms, "x") != geometry_key(geoms, "y")
    assert geometry_key(geoms, "x") != geometry_key(geoms[::-1], "x")


def test_cached_simplifications_are_the_same_geometries(tmp_path, monkeypatch):
    monkeypatch.setenv("IMS_ATLAS_CACHE", str(tmp_path))
    calls = []

    def compute(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        calls.append(1)
        return shapely.simplify(g, 0.01), shapely.centroid(g)

    geoms = np.asarray(_frame().geometry.values)
    first = cached_simplify(geoms, "k", compute)
    again = cached_simplify(geoms, "k", compute)
    assert len(calls) == 1 and len(again) == 2
    for a, b in zip(first, again):
        assert list(shapely.to_wkb(a)) == list(shapely.to_wkb(b))
    cached_simplify(geoms, "other", compute)
    assert len(calls) == 2


def test_a_cached_reading_of_boundaries_is_the_same_frame_and_says_the_same(tmp_path, caplog):
    from atlas.geography.areas import read_lsoa_boundaries

    lsoas = gpd.GeoDataFrame(
        {"LSOA21CD": ["E01000002", "E01000001", "E01000001"], "LSOA21NM": ["B 001", "A 001", "x"]},
        geometry=[
            box(-3.0, 53.0, -2.9, 53.1),
            box(-2.9, 53.0, -2.8, 53.1),
            box(-2.8, 53.0, -2.7, 53.1),
        ],
        crs="EPSG:4326",
    )
    source = tmp_path / "lsoa.geojson"
    lsoas.to_file(source)
    fresh = read_lsoa_boundaries([source])
    first_log = caplog.text
    assert "appear in more than one boundary file" in first_log
    cached = [read_lsoa_boundaries([source], cache=tmp_path / "c") for _ in range(2)]
    assert len(list((tmp_path / "c").glob("lsoas-*.arrow"))) == 1
    for got in cached:
        assert list(got.columns) == list(fresh.columns) and got.crs == fresh.crs
        assert got.drop(columns="geometry").equals(fresh.drop(columns="geometry"))
        assert list(shapely.to_wkb(got.geometry.values)) == list(
            shapely.to_wkb(fresh.geometry.values)
        )
    assert caplog.text.count("appear in more than one boundary file") == 3


def test_a_cached_reading_says_what_a_quiet_first_reading_did_not_show(tmp_path, caplog):
    import logging

    from shapely.geometry import Polygon

    from atlas.geography.areas import read_lsoa_boundaries

    bowtie = Polygon([(-3.0, 53.0), (-2.9, 53.1), (-2.9, 53.0), (-3.0, 53.1)])  # invalid
    source = tmp_path / "lsoa.geojson"
    gpd.GeoDataFrame({"LSOA21CD": ["E01000001"]}, geometry=[bowtie], crs="EPSG:4326").to_file(
        source
    )
    caplog.set_level(logging.WARNING, logger="atlas.geography.areas")
    read_lsoa_boundaries([source], cache=tmp_path / "c")
    assert "repairing" not in caplog.text
    caplog.set_level(logging.INFO, logger="atlas.geography.areas")
    got = read_lsoa_boundaries([source], cache=tmp_path / "c")
    assert "repairing 1 invalid polygon(s)" in caplog.text and got.geometry.is_valid.all()
