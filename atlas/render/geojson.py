"""GeoJSON text of a frame of polygons, built column by column with Arrow.

The bytes are those of ``json.dumps(frame.to_geo_dict(drop_id=True, na="null"),
sort_keys=True, separators=(",", ":"))``, which for the 33,755 LSOAs of England takes seconds
building and serialising a Python tuple per coordinate. Here every coordinate is formatted at
once (Arrow writes the same shortest round-trip digits as Python's ``repr``; the few numbers
it writes differently, integral, tiny or large ones, are taken from ``repr`` itself) and
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


def geojson_bytes(frame: gpd.GeoDataFrame, geometry: pa.Table | None = None) -> bytes:
    """The frame as compact GeoJSON text with sorted keys (see the module docstring);
    ``geometry``: :func:`geometry_text` of its geometry when already known."""
    props = frame.drop(columns=frame.geometry.name)
    geometry = geometry or geometry_text(np.asarray(frame.geometry.values))
    text = None if geometry is None else features_bytes(props, geometry)
    if text is None:
        data: dict[str, Any] = frame.to_geo_dict(drop_id=True, na="null")
        return json.dumps(data, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return text


def features_bytes(props: pd.DataFrame, geometry: pa.Table) -> bytes | None:
    """GeoJSON text of features with these properties and geometries (:func:`geometry_text`,
    in the same order); None when a property column is of a kind this does not write."""
    columns = list(props.columns)
    if not all(isinstance(c, str) for c in columns) or len(set(columns)) < len(columns):
        return None
    texts = {c: _property_text(props[c]) for c in columns}
    if any(v is None for v in texts.values()):
        return None
    pieces: list[Any] = [
        '{"geometry":{"coordinates":',
        geometry["coordinates"].combine_chunks(),
        ',"type":"',
        geometry["types"].combine_chunks(),
        '"},"properties":{',
    ]
    for k, name in enumerate(sorted(columns)):
        pieces += [("," if k else "") + encode_basestring_ascii(name) + ":", texts[name]]
    pieces.append('},"type":"Feature"},')  # the last comma goes below
    features = pc.binary_join_element_wise(
        *(
            p.cast(pa.large_string())
            if isinstance(p, pa.Array)
            else pa.scalar(p, pa.large_string())
            for p in pieces
        ),
        pa.scalar("", pa.large_string()),
    )
    offsets = np.frombuffer(features.buffers()[1], dtype=np.int64)
    start, end = offsets[features.offset], offsets[features.offset + len(features)]
    body = (
        features.buffers()[2].slice(start, max(end - start - 1, 0)).to_pybytes()
        if len(features)
        else b""
    )
    return b'{"features":[' + body + b'],"type":"FeatureCollection"}'


def geometry_text(geoms: np.ndarray) -> pa.Table | None:
    """Each geometry's GeoJSON ``coordinates`` text and ``type``, as ``to_geo_dict`` and
    ``json.dumps`` write them; None when a geometry is anything but a non-empty 2D polygon or
    multipolygon with finite coordinates."""
    coords = _coordinates_text(geoms)
    if coords is None:
        return None
    kind = np.where(shapely.get_type_id(geoms) == POLYGON, "Polygon", "MultiPolygon")
    return pa.table(
        {"coordinates": coords.cast(pa.large_string()), "types": pa.array(kind, type=pa.string())}
    )


def _property_text(values: pd.Series) -> pa.Array | None:
    """JSON text of each value: integers, strings (ASCII-escaped), null where missing; None
    for any other kind of column."""
    missing = values.isna().to_numpy()
    if pd.api.types.is_integer_dtype(values.dtype):
        ints = values.to_numpy(dtype=np.float64, na_value=0).astype(np.int64)
        text = pc.cast(pa.array(ints), pa.string())
    elif values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) in (
        "string",
        "empty",
    ):
        text = pa.array(
            [encode_basestring_ascii(v) for v in values.where(~missing, "")], type=pa.string()
        )
    else:
        return None
    return pc.if_else(pa.array(missing), "null", text)


def _coordinates_text(geoms: np.ndarray) -> pa.Array | None:
    """JSON text of each polygon's or multipolygon's coordinates; None when a geometry is
    anything else, empty, 3D or not finite."""
    types = shapely.get_type_id(geoms)
    if (
        not np.isin(types, (POLYGON, MULTIPOLYGON)).all()
        or shapely.is_empty(geoms).any()
        or shapely.has_z(geoms).any()
    ):
        return None
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    if shapely.is_empty(parts).any() or shapely.is_empty(rings).any():
        return None
    xy, point_of = shapely.get_coordinates(rings, return_index=True)
    if not np.isfinite(xy).all():
        return None
    points = pc.binary_join_element_wise("[", _floats(xy[:, 0]), ",", _floats(xy[:, 1]), "]", "")
    ring_text = _bracketed(points, point_of, len(rings))
    polygon_text = _bracketed(ring_text, ring_of, len(parts))
    multi = _bracketed(polygon_text, part_of, len(geoms))
    return pc.if_else(
        pa.array(types == POLYGON),
        pc.take(polygon_text, pa.array(_first_of(part_of, len(geoms)))),
        multi,
    )


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
    # Arrow writes these differently (2 for 2.0, exponents from 1e10, fixed below 1e-4)
    odd = (values == np.floor(values)) | (np.abs(values) < 1e-4) | (np.abs(values) >= 1e10)
    if odd.any():
        text = pc.replace_with_mask(
            text,
            pa.array(odd),
            pa.array([repr(v) for v in values[odd].tolist()], type=pa.string()),
        )
    return text
