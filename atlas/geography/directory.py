"""The ONS postcode directory (NSPL or ONSPD) as published, read fast and cached.

Reads one national CSV or several area files, of any release: the columns are found by their
ONS names (NSPL and ONSPD name the same things differently) and only those are read. Every
postcode gets an integer ``key`` (see :func:`postcode_keys`) so that matching millions of
postcodes is a sorted-array search, not a string hash join. The prepared directory is cached
as an Arrow file, keyed by the SHA-256 of the source files, so the next build loads it in a
fraction of a second.

Cache location: ``$IMS_ATLAS_CACHE`` if set, else ``$XDG_CACHE_HOME/ims-atlas``, else
``~/.cache/ims-atlas``. A cache that cannot be written is only warned about.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.feather as feather

from ..errors import GeographyError

log = logging.getLogger(__name__)

CACHE_VERSION = "3"  # bump when the prepared layout changes

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
_CHAR_VALUE[ord("0") : ord("9") + 1] = np.arange(1, 11)
_CHAR_VALUE[ord("A") : ord("Z") + 1] = np.arange(11, 37)
_INWARD = 37**3
UNIT_RE = r"^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$"


def char_matrix(text: pa.Array | pa.ChunkedArray, width: int = 7) -> np.ndarray:
    """ASCII strings of at most ``width`` characters, right-aligned (space-padded on the left),
    as an (n, width) uint8 matrix. Longer strings come out blank."""
    arr = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    if len(arr) == 0:
        return np.zeros((0, width), dtype=np.uint8)
    arr = pc.fill_null(arr, "")
    arr = pc.if_else(pc.greater(pc.binary_length(arr), width), "", arr)
    fixed = pc.cast(pc.utf8_lpad(arr, width, " "), pa.binary(width))
    raw = np.frombuffer(fixed.buffers()[1], dtype=np.uint8)
    return raw[fixed.offset * width : (fixed.offset + len(fixed)) * width].reshape(-1, width)


def base37(matrix: np.ndarray) -> np.ndarray:
    """Rows of a character matrix as base-37 integers (padding 0, 0-9 1..10, A-Z 11..36)."""
    values = _CHAR_VALUE[np.minimum(matrix, 127)]
    return values @ (37 ** np.arange(matrix.shape[1] - 1, -1, -1, dtype=np.int64))


def postcode_keys(compact: pa.Array | np.ndarray | pd.Series) -> np.ndarray:
    """Integer key of each compact unit postcode (``L87AB``): its seven characters
    right-aligned, in base 37.

    So ``key // 37**3`` encodes the outward code alone (the district) and ``key // 37**2``
    the outward code and the inward digit (the sector).
    """
    arr = (
        compact
        if isinstance(compact, (pa.Array, pa.ChunkedArray))
        else pa.array(np.asarray(compact, dtype=object), type=pa.string())
    )
    return base37(char_matrix(arr, 7))


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


def load_directory(
    paths: Sequence[Path], lsoa_codes: set[str] | None = None, cache: Path | bool | None = True
) -> pd.DataFrame:
    """The prepared directory of the NSPL/ONSPD file(s), from the cache when it is current.

    ``cache``: True for :func:`cache_dir`, a folder, or False for no cache. Columns:
    ``key``, ``postcode`` (``L8 7AB``), ``live``, ``la_code``, ``lsoa_code`` (the vintage,
    2011 or 2021, that matches ``lsoa_codes`` best), ``lat``, ``long``; sorted by ``key``.
    """
    folder = cache_dir() if cache is True else (Path(cache) if cache else None)
    if folder is None:
        return _pick_lsoa(prepare_directory(paths), lsoa_codes)
    digest = hashlib.sha256(CACHE_VERSION.encode())
    for sha in _source_hashes(paths, folder):
        digest.update(sha.encode())
    target = folder / f"directory-{digest.hexdigest()[:40]}.arrow"
    table = None
    if target.is_file():
        try:
            table = feather.read_table(target, memory_map=False)
        except Exception as exc:  # a damaged cache is rebuilt, never trusted
            log.warning("ignoring unreadable cache %s (%s)", target, exc)
    if table is None:
        prepared = prepare_directory(paths)
        _write_cache(prepared, target)
        return _pick_lsoa(prepared, lsoa_codes)
    vintages = [c for c in ("lsoa11", "lsoa21") if c in table.column_names]
    keep = _best_vintage({c: table[c] for c in vintages}, lsoa_codes)
    columns = [c for c in table.column_names if c not in vintages or c == keep]
    out = table.select(columns).to_pandas(
        types_mapper={
            pa.string(): pd.StringDtype("pyarrow"),
            pa.large_string(): pd.StringDtype("pyarrow"),
        }.get,
        ignore_metadata=True,
    )
    return out.rename(columns={keep: "lsoa_code"})


def _source_hashes(paths: Sequence[Path], folder: Path) -> list[str]:
    """SHA-256 of each file. A file whose size and modification time are unchanged since it
    was last hashed is not read again (as ``git`` and ``make`` do): hashing the 1 GB national
    file would take most of a cached load."""
    index_path = folder / "hashes.json"
    try:
        index = json.loads(index_path.read_text())
    except (OSError, ValueError):
        index = {}
    out, changed = [], False
    for path in paths:
        st = Path(path).stat()
        name, stamp = str(Path(path).resolve()), [st.st_size, st.st_mtime_ns]
        entry = index.get(name)
        if not entry or entry[:2] != stamp:
            entry, changed = [*stamp, file_sha256(Path(path))], True
            index[name] = entry
        out.append(entry[2])
    if changed:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f".hashes-{os.getpid()}.json"
            tmp.write_text(json.dumps(index, indent=0, sort_keys=True))
            os.replace(tmp, index_path)
        except OSError:
            pass  # only a speed-up
    return out


def read_directory(paths: Sequence[Path], lsoa_codes: set[str] | None = None) -> pd.DataFrame:
    """The directory read straight from the CSV file(s), with no cache."""
    return load_directory(paths, lsoa_codes, cache=False)


def _write_cache(prepared: pd.DataFrame, target: Path) -> None:
    """Cache the prepared directory as an uncompressed Arrow file (read back in a fraction of
    the time Parquet takes: the national directory has 2.7 million rows)."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".directory-", suffix=".tmp", dir=target.parent)
        os.close(fd)
        feather.write_feather(prepared, tmp, compression="uncompressed")
        os.replace(tmp, target)
        log.info("cached the prepared postcode directory in %s", target)
    except OSError as exc:
        log.warning(
            "could not cache the postcode directory in %s (%s); the next build will "
            "read the CSV again",
            target.parent,
            exc,
        )


def prepare_directory(paths: Sequence[Path]) -> pd.DataFrame:
    """Read the needed columns of every file and prepare them (the cached layout)."""
    if not paths:
        raise GeographyError("no postcode directory file given")
    frames = [_read_one(Path(p)) for p in paths]
    d = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    # One row per postcode: a live row wins over a terminated one, then the first file.
    keys = d["key"].to_numpy()
    order = np.lexsort((~d["live"].to_numpy(dtype=bool), keys))
    keys = keys[order]
    first = np.r_[True, keys[1:] != keys[:-1]]
    if not first.all():
        log.info(
            "%d postcode(s) appear more than once in the directory files; the first live "
            "row is kept",
            int((~first).sum()),
        )
    d = d.take(order[first]).reset_index(drop=True)
    for name in ("la_code", "lsoa11", "lsoa21"):  # categories sorted, however many files
        if name in d:
            if not isinstance(d[name].dtype, pd.CategoricalDtype):
                d[name] = d[name].astype("category")
            d[name] = d[name].cat.reorder_categories(sorted(d[name].cat.categories))
    return d


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
            "names: pcds or pcd; laua, oslaua or ladNNcd; lsoa11 or lsoa21)"
        )
    return found


def _read_one(path: Path) -> pd.DataFrame:
    found = _columns(path)
    try:
        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                include_columns=list(found.values()),
                column_types={c: pa.string() for c in found.values()},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, OSError) as exc:
        raise GeographyError(f"{path}: cannot read the postcode directory: {exc}") from None
    compact = pc.replace_substring(pc.utf8_upper(table.column(found["postcode"])), " ", "")
    dirty = pc.invert(pc.match_substring_regex(compact, r"^[A-Z0-9]*$"))
    if pc.any(dirty).as_py():
        compact = pc.replace_with_mask(
            compact, dirty, pc.replace_substring_regex(pc.filter(compact, dirty), r"[^A-Z0-9]", "")
        )
    ok = pc.match_substring_regex(compact, UNIT_RE)
    if not pc.all(ok).as_py():
        bad = np.flatnonzero(~ok.to_numpy(zero_copy_only=False))
        log.warning(
            "%s: %d row(s) have no usable unit postcode and are skipped (first at line %d)",
            path,
            len(bad),
            bad[0] + 2,
        )
        table, compact = table.filter(ok), pc.filter(compact, ok)
    compact = compact.combine_chunks()
    col = {k: table.column(v) for k, v in found.items()}
    out = pd.DataFrame({"key": postcode_keys(compact)})
    out["postcode"] = pd.Series(
        pc.binary_join_element_wise(
            pc.utf8_slice_codeunits(compact, 0, -3), pc.utf8_slice_codeunits(compact, -3, 99), " "
        ),
        dtype=pd.StringDtype("pyarrow"),
    )
    if "doterm" in col:
        out["live"] = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(col["doterm"])), 0).to_numpy(
            zero_copy_only=False
        )
    else:
        out["live"] = True
    for name in ("la_code", "lsoa11", "lsoa21"):  # few distinct codes: categorical
        if name in col:
            out[name] = _blank_to_null(col[name]).dictionary_encode().combine_chunks().to_pandas()
    out["lat"], out["long"] = _coordinates(col, path)
    return out


def _blank_to_null(column: pa.ChunkedArray) -> pa.ChunkedArray:
    trimmed = pc.utf8_trim_whitespace(column)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


def _number(column: pa.ChunkedArray) -> np.ndarray:
    """Numbers from text; blanks and anything unreadable become NaN."""
    text = _blank_to_null(column)
    try:
        return pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False).astype(float)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pd.to_numeric(
            pd.Series(text.to_numpy(zero_copy_only=False), dtype=object), errors="coerce"
        ).to_numpy(dtype=float)


def _coordinates(col: dict[str, pa.ChunkedArray], path: Path) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 lat/long: the file's own, else converted from the British National Grid."""
    n = len(col["postcode"])
    if "lat" in col and "long" in col:
        lat, lon = _number(col["lat"]), _number(col["long"])
        no_grid = ~(np.abs(lat) <= 90)  # NSPL/ONSPD write 99.999999 for "no grid reference"
    elif "easting" in col and "northing" in col:
        from pyproj import Transformer

        east, north = _number(col["easting"]), _number(col["northing"])
        no_grid = ~((east > 0) & (north > 0) & (north < 1_300_000))
        lon, lat = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True).transform(
            np.where(no_grid, np.nan, east), np.where(no_grid, np.nan, north)
        )
    else:
        log.warning(
            "%s has no lat/long or oseast1m/osnrth1m columns: sites cannot be placed "
            "at their postcodes",
            path,
        )
        return np.full(n, np.nan), np.full(n, np.nan)
    lat = np.where(no_grid, np.nan, lat)
    lon = np.where(no_grid, np.nan, lon)
    return lat, lon


def _pick_lsoa(prepared: pd.DataFrame, lsoa_codes: set[str] | None) -> pd.DataFrame:
    """Keep the LSOA vintage (2011 or 2021) that matches the boundaries best, as lsoa_code."""
    vintages = [c for c in ("lsoa11", "lsoa21") if c in prepared]
    keep = _best_vintage(
        {c: pa.array(prepared[c], from_pandas=True) for c in vintages}, lsoa_codes
    )
    out = prepared.drop(columns=vintages)
    out.insert(4, "lsoa_code", prepared[keep])
    return out


def _best_vintage(
    columns: dict[str, pa.Array | pa.ChunkedArray], lsoa_codes: set[str] | None
) -> str:
    """The LSOA column to keep: of those with any code, the one holding the most of
    ``lsoa_codes`` (the first on a tie)."""
    options = [c for c, col in columns.items() if col.null_count < len(col)]
    options = options or list(columns)
    if len(options) > 1 and lsoa_codes:

        def held(c: str) -> int:
            values = pc.unique(columns[c]).drop_null()
            if isinstance(values.type, pa.DictionaryType):
                values = values.dictionary_decode()
            return len(set(lsoa_codes) & set(values.to_pylist()))

        options.sort(key=lambda c: -held(c))
    return options[0]
