"""GeoJSON written column-wise is byte for byte what ``json.dumps(frame.to_geo_dict())`` writes."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import GeometryCollection, MultiPolygon, Point, Polygon, box

from atlas.render.geojson import _floats, geojson_bytes, geometry_text


def reference(frame: gpd.GeoDataFrame) -> bytes:
    return json.dumps(
        frame.to_geo_dict(drop_id=True, na="null"), sort_keys=True, separators=(",", ":")
    ).encode("utf-8")


HOLED = Polygon([(0, 0), (10, 0), (10, 10), (0, 10)], [[(2, 2), (3, 2), (3, 3)]])
MULTI = MultiPolygon([box(-5.123456789, 50.1, -5.1, 50.2), Polygon([(1e-5, 0), (2, 0), (2, 1)])])


@pytest.mark.parametrize(
    "geometry",
    [
        [HOLED, MULTI, box(-2.9, 53.4, -2.8, 53.5)],
        [box(0, 0, 1, 1), Point(1, 2)],  # not all polygons: the json path
        [box(0, 0, 1, 1), Polygon()],  # an empty polygon: the json path
        [box(0, 0, 1, 1), GeometryCollection([box(2, 2, 3, 3)])],
    ],
)
def test_frames_of_polygons_are_written_as_json_dumps_writes_them(geometry):
    frame = gpd.GeoDataFrame(
        {
            "lsoa_code": ["E01", None, "E03"][: len(geometry)],
            "lsoa_name": ['Hal"ton é 001A', "x", "\u2028y"][: len(geometry)],
            "all": pd.array([5, None, 7][: len(geometry)], dtype="Int64"),
            "bi": pd.array([None] * len(geometry), dtype="Int64"),
        },
        geometry=geometry,
        crs="EPSG:4326",
    )
    assert geojson_bytes(frame) == reference(frame)


def test_a_known_geometry_text_gives_the_same_bytes():
    frame = gpd.GeoDataFrame({"n": [1, 2]}, geometry=[HOLED, MULTI], crs="EPSG:4326")
    assert geojson_bytes(frame, geometry_text(np.asarray(frame.geometry.values))) == reference(
        frame
    )


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=False, allow_infinity=False),
            st.floats(-1e11, 1e11),
            st.floats(-1e-3, 1e-3),
        ),
        min_size=1,
        max_size=50,
    )
)
def test_numbers_are_written_as_python_writes_them(values):
    got = _floats(np.array(values, dtype=float)).to_pylist()
    assert got == [json.dumps(v) for v in values]


def test_coordinates_of_england_are_written_as_python_writes_them():
    rng = np.random.default_rng(3)
    values = np.concatenate(
        [
            rng.uniform(-6.5, 2.0, 20000),
            rng.uniform(49.8, 56.0, 20000),
            [round(v, int(d)) for v, d in zip(rng.uniform(-6, 2, 2000), rng.integers(0, 8, 2000))],
            rng.uniform(1, 10, 2000) * 10.0 ** rng.integers(-9, 18, 2000),
        ]
    )
    assert _floats(values).to_pylist() == [repr(float(v)) for v in values]
    assert pc.all(pc.equal(_floats(values), pa.array([repr(float(v)) for v in values]))).as_py()
