"""The atlas's simplified LSOA coverage, cached by content.

Snapping and ``coverage_simplify`` of the LSOA polygons is the longest part of rendering at
national scale (33,755 LSOAs: over ten seconds) and depends only on the polygons, their CRS and
the tolerances, so the result is cached beside the prepared postcode directory
(:func:`atlas.directory.cache_dir`) as WKB, keyed by the SHA-256 of exactly those inputs; WKB
keeps every coordinate bit for bit, so a cached result is the very same geometry.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from .directory import cache_dir

log = logging.getLogger(__name__)

CACHE_VERSION = "1"  # bump when the simplification changes


def cached_simplify(geoms: np.ndarray, key: str,
                    compute: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``compute(geoms)``, from the cache when the same geometries and ``key`` (the CRS and
    tolerances) were simplified before."""
    wkb = shapely.to_wkb(geoms)
    digest = hashlib.sha256(f"{CACHE_VERSION}\0{key}\0".encode())
    digest.update(np.fromiter(map(len, wkb), dtype=np.int64, count=len(wkb)).tobytes())
    digest.update(b"".join(wkb))
    target = cache_dir() / f"simplified-{digest.hexdigest()[:40]}.parquet"
    if target.is_file():
        try:
            cached = shapely.from_wkb(pq.read_table(target)["wkb"].to_numpy(zero_copy_only=False))
            if len(cached) == len(geoms):
                return cached
        except Exception as exc:  # a damaged cache is rebuilt, never trusted
            log.warning("ignoring unreadable cache %s (%s)", target, exc)
    out = compute(geoms)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{target.name}.{os.getpid()}"
        pq.write_table(pa.table({"wkb": pa.array(shapely.to_wkb(out))}), tmp)
        os.replace(tmp, target)
    except OSError as exc:
        log.warning("could not cache the simplified LSOAs in %s (%s)", target, exc)
    return out
