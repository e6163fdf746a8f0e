"""LA polygons dissolved from their LSOAs, cached by content.

Published LSOA boundaries seldom share their edges exactly, so the union of an LA's LSOAs is a
full (slow) overlay: about half a second for Cheshire & Merseyside's 1,562 LSOAs, the largest
part of reading the geography. The result depends only on the LSOA polygons and their LA codes,
so it is cached beside the prepared postcode directory (:func:`atlas.directory.cache_dir`),
keyed by the SHA-256 of exactly those (as WKB); a cached union is the very same geometry.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from .directory import cache_dir

log = logging.getLogger(__name__)

CACHE_VERSION = "1"  # bump when the dissolve changes


def dissolve_las(lsoas: gpd.GeoDataFrame, cache: Path | None | bool = True) -> gpd.GeoDataFrame:
    """``la_code, geometry``: the union of each LA's LSOAs (``GeoDataFrame.dissolve``), from
    the cache when the same LSOAs were dissolved before. ``cache`` as for
    :func:`atlas.directory.load_directory`."""
    folder = cache_dir() if cache is True else (Path(cache) if cache else None)
    if folder is None:
        return _dissolve(lsoas)
    target = folder / f"las-{_digest(lsoas)}.parquet"
    if target.is_file():
        try:
            table = pq.read_table(target)
            return gpd.GeoDataFrame(
                {"la_code": table["la_code"].to_pylist()},
                geometry=shapely.from_wkb(table["wkb"].to_numpy(zero_copy_only=False)),
                crs=lsoas.crs)
        except Exception as exc:  # a damaged cache is rebuilt, never trusted
            log.warning("ignoring unreadable cache %s (%s)", target, exc)
    las = _dissolve(lsoas)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{target.name}.{os.getpid()}"
        pq.write_table(pa.table({"la_code": pa.array(las["la_code"].astype(str).tolist()),
                                 "wkb": pa.array(shapely.to_wkb(las.geometry.values))}), tmp)
        os.replace(tmp, target)
    except OSError as exc:
        log.warning("could not cache the LA polygons in %s (%s)", target, exc)
    return las


def _dissolve(lsoas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return lsoas[["la_code", "geometry"]].dissolve(by="la_code").reset_index()


def _digest(lsoas: gpd.GeoDataFrame) -> str:
    """SHA-256 of the LSOAs' LA codes, CRS and polygons (WKB, with each one's length)."""
    wkb = shapely.to_wkb(lsoas.geometry.values)
    digest = hashlib.sha256(CACHE_VERSION.encode())
    digest.update(str(lsoas.crs).encode() + b"\0")
    digest.update("\0".join(lsoas["la_code"].astype(str)).encode() + b"\0")
    digest.update(np.fromiter(map(len, wkb), dtype=np.int64, count=len(wkb)).tobytes())
    digest.update(b"".join(wkb))
    return digest.hexdigest()[:40]
