"""LA polygons dissolved from their LSOAs, cached by content.

Published LSOA boundaries seldom share their edges exactly, so the union of an LA's LSOAs is a
full (slow) overlay: about half a second for Cheshire & Merseyside's 1,562 LSOAs, the largest
part of reading the geography. The result depends only on the LSOA polygons and their LA codes,
so it is cached (:mod:`atlas.geometry_cache`); a cached union is the very same geometry.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyarrow as pa

from .geometry_cache import (
    cache_folder,
    geometries,
    geometry_key,
    read_cached,
    wkb_column,
    write_cached,
)

CACHE_VERSION = "2"  # bump when the dissolve changes


def dissolve_las(lsoas: gpd.GeoDataFrame, cache: Path | bool | None = True) -> gpd.GeoDataFrame:
    """``la_code, geometry``: the union of each LA's LSOAs (``GeoDataFrame.dissolve``), from
    the cache when the same LSOAs were dissolved before. ``cache`` as for
    :func:`atlas.directory.load_directory`."""
    folder = cache_folder(cache)
    if folder is None:
        return _dissolve(lsoas)
    name = "las-" + geometry_key(
        lsoas.geometry.values,
        CACHE_VERSION,
        str(lsoas.crs),
        "\0".join(lsoas["la_code"].astype(str)),
    )
    table = read_cached(folder, name)
    if table is not None:
        return gpd.GeoDataFrame(
            {"la_code": table["la_code"].to_pylist()},
            geometry=geometries(table["wkb"]),
            crs=lsoas.crs,
        )
    las = _dissolve(lsoas)
    write_cached(
        folder,
        name,
        pa.table(
            {
                "la_code": pa.array(las["la_code"].astype(str).tolist()),
                "wkb": wkb_column(las.geometry.values),
            }
        ),
    )
    return las


def _dissolve(lsoas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return lsoas[["la_code", "geometry"]].dissolve(by="la_code").reset_index()
