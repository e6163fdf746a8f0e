"""GeoJSON text of a frame of polygons, built column by column with Arrow.

The bytes are those of ``json.dumps(frame.to_geo_dict(drop_id=True, na="null"),
sort_keys=True, separators=(",", ":"))``, which for the 33,755 LSOAs of England takes seconds
building and serialising a Python tuple per coordinate. Here every coordinate is formatted at
once (Arrow writes the same shortest round-trip digits as Python's ``repr``; the few numbers
``repr`` writes differently, integral, tiny or huge ones, are taken from ``repr`` itself) and
joined into rings, polygons and features as Arrow lists. Frames outside what this covers
(other geometry types, empty or 3D shapes, other property types) take the ``json`` path.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

POLYGON, MULTIPOLYGON = 3, 6  # shapely geometry type ids


def geojson_bytes(frame: gpd.GeoDataFrame) -> bytes:
    """The frame as compact GeoJSON text with sorted keys (see the module docstring)."""
    columns = [c for c in frame.columns if c != frame.geometry.name]
    props = {c: _property_text(frame[c]) for c in columns}
    geoms = np.asarray(frame.geometry.values)
    coords = _coordinates_text(geoms)
    if coords is None or any(v is None for v in props.values()):
        data: dict[str, Any] = frame.to_geo_dict(drop_id=True, na="null")
        return json.dumps(data, sort_keys=True, separators=(",", ":")).encode("utf-8")
    kind = np.where(shapely.get_type_id(geoms) == POLYGON, "Polygon", "MultiPolygon")
    pieces: list[Any] = ['{"geometry":{"coordinates":', coords, ',"type":"',
                         pa.array(kind), '"},"properties":{']
    for k, name in enumerate(sorted(columns)):
        pieces += [("," if k else "") + encode_basestring_ascii(name) + ":", props[name]]
    pieces.append('},"type":"Feature"}')
    features = pc.binary_join_element_wise(*pieces, "")
    return ('{"features":[' + ",".join(features.to_pylist())
            + '],"type":"FeatureCollection"}').encode("utf-8")


def _property_text(values: pd.Series) -> pa.Array | None:
    """JSON text of each value: integers, strings (ASCII-escaped), null where missing; None
    for any other kind of column."""
    missing = values.isna().to_numpy()
    if pd.api.types.is_integer_dtype(values.dtype):
        ints = values.to_numpy(dtype=np.float64, na_value=0).astype(np.int64)
        text = pc.cast(pa.array(ints), pa.string())
    elif values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) in (
            "string", "empty"):
        text = pa.array([encode_basestring_ascii(v) for v in values.where(~missing, "")],
                        type=pa.string())
    else:
        return None
    return pc.if_else(pa.array(missing), "null", text)


def _coordinates_text(geoms: np.ndarray) -> pa.Array | None:
    """JSON text of each polygon's or multipolygon's coordinates; None when a geometry is
    anything else, empty, 3D or not finite."""
    types = shapely.get_type_id(geoms)
    if not np.isin(types, (POLYGON, MULTIPOLYGON)).all() or shapely.is_empty(geoms).any() \
            or shapely.has_z(geoms).any():
        return None
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    if shapely.is_empty(parts).any() or shapely.is_empty(rings).any():
        return None
    xy, point_of = shapely.get_coordinates(rings, return_index=True)
    if not np.isfinite(xy).all():
        return None
    points = pc.binary_join_element_wise("[", _floats(xy[:, 0]), ",", _floats(xy[:, 1]), "]",
                                         "")
    ring_text = _bracketed(points, point_of, len(rings))
    polygon_text = _bracketed(ring_text, ring_of, len(parts))
    multi = _bracketed(polygon_text, part_of, len(geoms))
    return pc.if_else(pa.array(types == POLYGON),
                      pc.take(polygon_text, pa.array(_first_of(part_of, len(geoms)))), multi)


def _bracketed(items: pa.Array, owner: np.ndarray, n: int) -> pa.Array:
    """For each of n owners, ``[`` its items (``owner``: each item's owner, ascending) joined
    by commas ``]``."""
    offsets = np.r_[0, np.cumsum(np.bincount(owner, minlength=n))].astype(np.int32)
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), items), ",")
    return pc.binary_join_element_wise("[", joined, "]", "")


def _first_of(owner: np.ndarray, n: int) -> np.ndarray:
    """The position of each owner's first item."""
    return np.r_[0, np.cumsum(np.bincount(owner, minlength=n))][:-1]


def _floats(values: np.ndarray) -> pa.Array:
    """Each number as ``json.dumps`` writes it (``float.__repr__``)."""
    text = pc.cast(pa.array(values), pa.string())
    odd = (values == np.floor(values)) | (np.abs(values) < 1e-4) | (np.abs(values) >= 1e15)
    if odd.any():
        text = pc.replace_with_mask(text, pa.array(odd),
                                    pa.array([repr(v) for v in values[odd].tolist()],
                                             type=pa.string()))
    return text
