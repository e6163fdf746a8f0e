"""LA polygons dissolved from the LSOAs: the cached union is the very same geometry, and any
change to the LSOAs or their LAs is dissolved afresh."""

from __future__ import annotations

import geopandas as gpd
import shapely
from shapely.geometry import box

from atlas.geography.la_dissolve import dissolve_las


def _lsoas(shift: float = 0.0) -> gpd.GeoDataFrame:
    # two LSOAs per LA whose shared edge misses by a hair, as published boundaries do
    return gpd.GeoDataFrame(
        {
            "lsoa_code": ["E01000001", "E01000002", "E01000003", "E01000004"],
            "la_code": ["E06000001", "E06000001", "E06000002", "E06000002"],
        },
        geometry=[
            box(0, 0, 1, 1),
            box(1.0000001, 0, 2, 1),
            box(2, 0, 3, 1),
            box(3, 0, 4 + shift, 1),
        ],
        crs="EPSG:27700",
    )


def _same(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> bool:
    return list(a["la_code"]) == list(b["la_code"]) and list(
        shapely.to_wkb(a.geometry.values)
    ) == list(shapely.to_wkb(b.geometry.values))


def test_the_cached_union_is_the_same_geometry_as_a_fresh_one(tmp_path):
    fresh = dissolve_las(_lsoas(), cache=False)
    assert list(fresh["la_code"]) == ["E06000001", "E06000002"]
    assert fresh.geometry.area.round(6).tolist() == [2.0, 2.0]
    first = dissolve_las(_lsoas(), cache=tmp_path)
    assert len(list(tmp_path.glob("las-*.arrow"))) == 1
    again = dissolve_las(_lsoas(), cache=tmp_path)
    assert _same(fresh, first) and _same(fresh, again)
    assert again.crs == fresh.crs


def test_changed_lsoas_or_las_are_dissolved_afresh(tmp_path):
    dissolve_las(_lsoas(), cache=tmp_path)
    moved = dissolve_las(_lsoas(shift=1.0), cache=tmp_path)
    assert moved.geometry.area.round(6).tolist() == [2.0, 3.0]
    regrouped = _lsoas()
    regrouped.loc[2, "la_code"] = "E06000001"
    got = dissolve_las(regrouped, cache=tmp_path)
    assert got.geometry.area.round(6).tolist() == [3.0, 1.0]
    assert len(list(tmp_path.glob("las-*.arrow"))) == 3


def test_a_damaged_cache_is_rebuilt_not_trusted(tmp_path, caplog):
    dissolve_las(_lsoas(), cache=tmp_path)
    (cached,) = tmp_path.glob("las-*.arrow")
    cached.write_bytes(b"not an Arrow file")
    got = dissolve_las(_lsoas(), cache=tmp_path)
    assert _same(got, dissolve_las(_lsoas(), cache=False))
    assert "ignoring unreadable cache" in caplog.text
