"""The atlas's simplified LSOA coverage, cached by content.

Projecting, snapping and ``coverage_simplify`` of the LSOA polygons, and projecting the result
back, is the longest part of rendering at national scale (33,755 LSOAs: over ten seconds) and
depends only on the polygons, the projections and the tolerances, so the results are cached
(:mod:`atlas.geometry_cache`), keyed by exactly those inputs and the GEOS and PROJ versions; a
cached result is the very same geometry.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa

from .geometry_cache import (
    cache_folder,
    geometries,
    geometry_key,
    read_cached,
    wkb_column,
    write_cached,
)

CACHE_VERSION = "2"  # bump when the simplification changes


def simplified_name(geoms: np.ndarray, key: str) -> str:
    """The name of the simplification of ``geoms`` with ``key`` in the cache: it identifies
    the result, so what is computed from it can be cached under it."""
    return "simplified-" + geometry_key(geoms, CACHE_VERSION, key)


def cached_simplify(
    geoms: np.ndarray,
    key: str,
    compute: Callable[[np.ndarray], tuple[np.ndarray, ...]],
    name: str | None = None,
) -> tuple[np.ndarray, ...]:
    """``compute(geoms)`` (one or more geometry arrays, each in the order of ``geoms``), from
    the cache when the same geometries and ``key`` (the CRS and tolerances) were simplified
    before (``name``: :func:`simplified_name`, when known)."""
    folder = cache_folder()
    name = name or simplified_name(geoms, key)
    table = read_cached(folder, name)
    if table is not None and table.num_rows == len(geoms):
        return tuple(geometries(table[c]) for c in table.column_names)
    out = compute(geoms)
    write_cached(folder, name, pa.table({f"wkb{k}": wkb_column(g) for k, g in enumerate(out)}))
    return out
