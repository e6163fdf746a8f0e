"""The ONS postcode directory (NSPL or ONSPD) as published, read fast and cached.

Reads one national CSV or several area files, of any release: the columns are found by their
ONS names (NSPL and ONSPD name the same things differently) and only those are read. Every
postcode gets an integer ``key`` (see :func:`postcode_keys`) so that matching millions of
postcodes is a sorted-array search, not a string hash join. The prepared directory is cached
as Parquet, keyed by the SHA-256 of the source files, so the next build loads it in seconds.

Cache location: ``$IMS_ATLAS_CACHE`` if set, else ``$XDG_CACHE_HOME/ims-atlas``, else
``~/.cache/ims-atlas``. A cache that cannot be written is only warned about.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .errors import GeographyError

log = logging.getLogger(__name__)

CACHE_VERSION = "1"  # bump when the prepared layout changes

# ONS column names, most preferred first; ``lad..cd`` of any year is found by pattern.
DIRECTORY_COLUMNS: dict[str, tuple[str, ...]] = {
    "postcode": ("pcds", "pcd", "pcd2", "pcd7", "pcd8"),
    "doterm": ("doterm",),
    "la_code": ("laua", "oslaua", "ladcd", "lad_code"),
    "lsoa11": ("lsoa11", "lsoa11cd"),
    "lsoa21": ("lsoa21", "lsoa21cd"),
    "lat": ("lat", "latitude"),
    "long": ("long", "lon", "longitude"),
    "easting": ("oseast1m", "east1m"),
    "northing": ("osnrth1m", "north1m"),
}
_LAD_RE = re.compile(r"^lad\d{2}cd$")

# Postcode keys: characters 0-9 -> 1..10, A-Z -> 11..36, padding -> 0; base 37.
_CHAR_VALUE = np.zeros(128, dtype=np.int64)
_CHAR_VALUE[ord("0"):ord("9") + 1] = np.arange(1, 11)
_CHAR_VALUE[ord("A"):ord("Z") + 1] = np.arange(11, 37)
_INWARD = 37 ** 3
UNIT_RE = r"^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$"


def _base37(text: np.ndarray, width: int) -> np.ndarray:
    """Left-aligned strings of at most ``width`` ASCII characters as base-37 integers."""
    codes = np.asarray(text, dtype=f"U{width}").view(np.uint32).reshape(-1, width)
    values = _CHAR_VALUE[np.minimum(codes, 127)]
    return values @ (37 ** np.arange(width - 1, -1, -1, dtype=np.int64))


def postcode_keys(compact: pd.Series | np.ndarray) -> np.ndarray:
    """Integer key of each compact unit postcode (``L87AB``): outward * 37**3 + inward.

    The outward code (2-4 characters) and the inward code (3) are encoded separately, so
    ``key // 37**2`` is the postcode's sector and ``key // 37**3`` its district.
    """
    s = pd.Series(compact, dtype=object)
    if s.empty:
        return np.zeros(0, dtype=np.int64)
    outward = s.str.slice(0, -3).to_numpy(dtype=object)
    inward = s.str.slice(-3).to_numpy(dtype=object)
    return _base37(outward, 4) * _INWARD + _base37(inward, 3)


def outward_keys(outward: pd.Series) -> np.ndarray:
    """District key of each outward code (``L8``): the same as ``postcode_key // 37**3``."""
    return _base37(outward.to_numpy(dtype=object), 4)


def sector_keys(outward: pd.Series, digit: pd.Series) -> np.ndarray:
    """Sector key of each outward code and inward digit: ``postcode_key // 37**2``."""
    return outward_keys(outward) * 37 + _base37(digit.to_numpy(dtype=object), 1)


def canonical_postcode(compact: pd.Series) -> pd.Series:
    """``L87AB`` -> ``L8 7AB``: the outward code, one space, the three-character inward code."""
    return compact.str.slice(0, -3) + " " + compact.str.slice(-3)


# --- reading -------------------------------------------------------------------------------

def cache_dir() -> Path:
    """Where prepared directories are cached (see the module docstring)."""
    if os.environ.get("IMS_ATLAS_CACHE"):
        return Path(os.environ["IMS_ATLAS_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ims-atlas"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def load_directory(paths: Sequence[Path], lsoa_codes: set[str] | None = None,
                   cache: Path | None | bool = True) -> pd.DataFrame:
    """The prepared directory of the NSPL/ONSPD file(s), from the cache when it is current.

    ``cache``: True for :func:`cache_dir`, a folder, or False for no cache. Columns:
    ``key``, ``postcode`` (``L8 7AB``), ``live``, ``la_code``, ``lsoa_code`` (the vintage,
    2011 or 2021, that matches ``lsoa_codes`` best), ``lat``, ``long``; sorted by ``key``.
    """
    folder = cache_dir() if cache is True else (Path(cache) if cache else None)
    prepared = None
    if folder is not None:
        digest = hashlib.sha256(CACHE_VERSION.encode())
        for path in paths:
            digest.update(file_sha256(path).encode())
        target = folder / f"directory-{digest.hexdigest()[:40]}.parquet"
        if target.is_file():
            try:
                prepared = pd.read_parquet(target)
            except Exception as exc:  # a damaged cache is rebuilt, never trusted
                log.warning("ignoring unreadable cache %s (%s)", target, exc)
        if prepared is None:
            prepared = prepare_directory(paths)
            _write_cache(prepared, target)
    else:
        prepared = prepare_directory(paths)
    return _pick_lsoa(prepared, lsoa_codes)


def read_directory(paths: Sequence[Path], lsoa_codes: set[str] | None = None) -> pd.DataFrame:
    """The directory read straight from the CSV file(s), with no cache."""
    return load_directory(paths, lsoa_codes, cache=False)


def _write_cache(prepared: pd.DataFrame, target: Path) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".directory-", suffix=".tmp", dir=target.parent)
        os.close(fd)
        prepared.to_parquet(tmp, index=False, compression="zstd")
        os.replace(tmp, target)
        log.info("cached the prepared postcode directory in %s", target)
    except OSError as exc:
        log.warning("could not cache the postcode directory in %s (%s); the next build will "
                    "read the CSV again", target.parent, exc)


def prepare_directory(paths: Sequence[Path]) -> pd.DataFrame:
    """Read the needed columns of every file and prepare them (the cached layout)."""
    if not paths:
        raise GeographyError("no postcode directory file given")
    frames = [_read_one(Path(p)) for p in paths]
    d = pd.concat(frames, ignore_index=True)
    # One row per postcode: a live row wins over a terminated one, then the first file.
    d = d.sort_values(["key", "live"], ascending=[True, False], kind="stable")
    dup = d["key"].duplicated()
    if dup.any():
        log.info("%d postcode(s) appear more than once in the directory files; the first live "
                 "row is kept", int(dup.sum()))
        d = d[~dup]
    return d.reset_index(drop=True)


def _columns(path: Path) -> dict[str, str]:
    """Our name -> the file's column, found by ONS names; raise if the file is not a directory."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            header = next(csv.reader(fh), [])
    except (OSError, UnicodeDecodeError) as exc:
        raise GeographyError(f"{path}: cannot read the postcode directory ({exc})") from None
    lower = {c.strip().lower(): c for c in header}
    found = {}
    for key, names in DIRECTORY_COLUMNS.items():
        hit = next((lower[n] for n in names if n in lower), None)
        if hit is None and key == "la_code":
            hit = next((lower[c] for c in sorted(lower, reverse=True) if _LAD_RE.match(c)), None)
        if hit is not None:
            found[key] = hit
    need = [k for k in ("postcode", "la_code") if k not in found]
    if not {"lsoa11", "lsoa21"} & set(found):
        need.append("lsoa11/lsoa21")
    if need:
        raise GeographyError(
            f"{path}: not a postcode directory: no column for {', '.join(need)} (expected ONS "
            "names: pcds or pcd; laua, oslaua or ladNNcd; lsoa11 or lsoa21)")
    return found


def _read_one(path: Path) -> pd.DataFrame:
    found = _columns(path)
    try:
        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                include_columns=list(found.values()),
                column_types={c: pa.string() for c in found.values()},
                strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, OSError) as exc:
        raise GeographyError(f"{path}: cannot read the postcode directory: {exc}") from None
    col = {k: table.column(v) for k, v in found.items()}
    compact = pc.replace_substring_regex(pc.utf8_upper(col["postcode"]), r"[^A-Z0-9]", "")
    ok = pc.match_substring_regex(compact, UNIT_RE).to_numpy(zero_copy_only=False)
    if not ok.all():
        bad = np.flatnonzero(~ok)
        log.warning("%s: %d row(s) have no usable unit postcode and are skipped (first at line "
                    "%d)", path, len(bad), bad[0] + 2)
    compact_np = compact.to_numpy(zero_copy_only=False)[ok]
    keys = postcode_keys(compact_np)
    out = pd.DataFrame({"key": keys})
    out["postcode"] = canonical_postcode(pd.Series(compact_np, dtype=object))
    if "doterm" in col:
        out["live"] = (pc.utf8_length(pc.utf8_trim_whitespace(col["doterm"]))
                       .to_numpy(zero_copy_only=False)[ok] == 0)
    else:
        out["live"] = True
    for name in ("la_code", "lsoa11", "lsoa21"):
        if name in col:
            values = pc.utf8_trim_whitespace(col[name]).to_numpy(zero_copy_only=False)[ok]
            out[name] = pd.Series(values, dtype=object).replace("", None)
    lat, lon = _coordinates(col, ok, path)
    out["lat"], out["long"] = lat, lon
    return out


def _number(column: pa.ChunkedArray, ok: np.ndarray) -> np.ndarray:
    text = pd.Series(column.to_numpy(zero_copy_only=False)[ok], dtype=object)
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)


def _coordinates(col: dict[str, pa.ChunkedArray], ok: np.ndarray,
                 path: Path) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 lat/long: the file's own, else converted from the British National Grid."""
    n = int(ok.sum())
    if "lat" in col and "long" in col:
        lat, lon = _number(col["lat"], ok), _number(col["long"], ok)
        no_grid = ~(np.abs(lat) <= 90)  # NSPL/ONSPD write 99.999999 for "no grid reference"
    elif "easting" in col and "northing" in col:
        from pyproj import Transformer

        east, north = _number(col["easting"], ok), _number(col["northing"], ok)
        no_grid = ~((east > 0) & (north > 0) & (north < 1_300_000))
        lon, lat = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True).transform(
            np.where(no_grid, np.nan, east), np.where(no_grid, np.nan, north))
    else:
        log.warning("%s has no lat/long or oseast1m/osnrth1m columns: sites cannot be placed "
                    "at their postcodes", path)
        return np.full(n, np.nan), np.full(n, np.nan)
    lat = np.where(no_grid, np.nan, lat)
    lon = np.where(no_grid, np.nan, lon)
    return lat, lon


def _pick_lsoa(prepared: pd.DataFrame, lsoa_codes: set[str] | None) -> pd.DataFrame:
    """Keep the LSOA vintage (2011 or 2021) that matches the boundaries best, as lsoa_code."""
    options = [c for c in ("lsoa11", "lsoa21") if c in prepared and prepared[c].notna().any()]
    options = options or [c for c in ("lsoa11", "lsoa21") if c in prepared]
    if len(options) > 1 and lsoa_codes:
        codes = pd.Index(list(lsoa_codes))
        options.sort(key=lambda c: -codes.isin(prepared[c].dropna().unique()).sum())
    out = prepared.drop(columns=[c for c in ("lsoa11", "lsoa21") if c in prepared])
    out.insert(4, "lsoa_code", prepared[options[0]])
    return out
