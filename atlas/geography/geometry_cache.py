"""Results computed from polygons, cached by content beside the prepared postcode directory.

Dissolves, simplifications, projections and areas depend only on the polygons (as WKB, which
keeps every coordinate bit for bit), a few settings and the GEOS and PROJ versions that compute
them; each result is cached as an Arrow file in :func:`atlas.directory.cache_dir`, named by the
SHA-256 of exactly those, so a cached result is the very one a fresh computation gives. A cache
that cannot be read is rebuilt, never trusted; one that cannot be written is only warned about.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyproj
import shapely

from .directory import cache_dir

log = logging.getLogger(__name__)

ENGINES = f"GEOS {shapely.geos_version_string} PROJ {pyproj.proj_version_str}"


@overload
def cache_folder(cache: Literal[True] = True) -> Path: ...
@overload
def cache_folder(cache: Path | bool | None) -> Path | None: ...
def cache_folder(cache: Path | bool | None = True) -> Path | None:
    """True: :func:`atlas.directory.cache_dir`; a folder; False or None: no cache."""
    return cache_dir() if cache is True else (Path(cache) if cache else None)


def geometry_key(geoms: np.ndarray, *settings: str) -> str:
    """SHA-256 (40 hex digits) of the polygons' WKB, the settings and the engines' versions."""
    wkb = shapely.to_wkb(np.asarray(geoms))
    digest = hashlib.sha256("\0".join((ENGINES, *settings, "")).encode())
    digest.update(np.fromiter(map(len, wkb), dtype=np.int64, count=len(wkb)).tobytes())
    digest.update(b"".join(wkb))
    return digest.hexdigest()[:40]


def read_cached(folder: Path, name: str) -> pa.Table | None:
    """The cached table ``name`` in ``folder``, or None when absent or unreadable."""
    target = folder / f"{name}.arrow"
    if not target.is_file():
        return None
    try:  # read whole, not mapped: a file replaced later cannot pull the data from under us
        return feather.read_table(target, memory_map=False)
    except Exception as exc:  # a damaged cache is rebuilt, never trusted
        log.warning("ignoring unreadable cache %s (%s)", target, exc)
        return None


def write_cached(folder: Path, name: str, table: pa.Table) -> None:
    """Cache ``table`` as ``name`` in ``folder`` (atomically; only warned about on failure)."""
    target = folder / f"{name}.arrow"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{target.name}.{os.getpid()}"
        feather.write_feather(table, tmp, compression="lz4")
        os.replace(tmp, target)
    except OSError as exc:
        log.warning("could not cache %s in %s (%s)", name, folder, exc)


def text_key(*parts: str) -> str:
    """SHA-256 (40 hex digits) of text parts (e.g. another result's name and settings)."""
    return hashlib.sha256("\0".join((*parts, "")).encode()).hexdigest()[:40]


def cached_json(name: str, compute: Callable[[], Any]) -> Any:
    """``compute()`` (a JSON value), from the cache (:func:`cache_folder`) when computed
    before under ``name``."""
    folder = cache_folder()
    target = folder / f"{name}.json"
    if target.is_file():
        try:
            return json.loads(target.read_bytes())
        except Exception as exc:  # a damaged cache is rebuilt, never trusted
            log.warning("ignoring unreadable cache %s (%s)", target, exc)
    value = compute()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{target.name}.{os.getpid()}"
        tmp.write_text(json.dumps(value, separators=(",", ":")))
        os.replace(tmp, target)
    except OSError as exc:
        log.warning("could not cache %s in %s (%s)", name, folder, exc)
    return value


def cached_table(name: str, compute: Callable[[], pa.Table | None]) -> pa.Table | None:
    """``compute()`` (a table, or None: nothing to cache), from the cache
    (:func:`cache_folder`) when computed before under ``name``."""
    folder = cache_folder()
    table = read_cached(folder, name)
    if table is None:
        table = compute()
        if table is not None:
            write_cached(folder, name, table)
    return table


def wkb_column(geoms: np.ndarray) -> pa.Array:
    return pa.array(shapely.to_wkb(np.asarray(geoms)), type=pa.binary())


def geometries(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return shapely.from_wkb(column.to_numpy(zero_copy_only=False))
