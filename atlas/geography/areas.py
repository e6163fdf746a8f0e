"""Prepared geography: the postcode directory, LSOA, LA and MSOA polygons, and population.

Reads the ONS products as they come: NSPL/ONSPD postcode CSVs (:mod:`atlas.directory`), LSOA
polygons in any format GDAL reads (WGS84 or British National Grid; 2011 or 2021 codes found by
their ONS names), an optional OA-LSOA-MSOA lookup (MSOAs are dissolved from the LSOAs), and a
population CSV of ``area_code, population``. The LAs of a drop are those of the LSOAs given.
Polygons are kept in WGS84 and repaired; areas are computed in EPSG:27700, never in degrees.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import shapely
from pyogrio.errors import CRSError, DataLayerError, DataSourceError, FieldError, GeometryError

from ..errors import GeographyError
from .directory import _source_hashes, canonical_postcode, load_directory, read_directory  # noqa: F401
from .geometry_cache import (
    ENGINES,
    cache_folder,
    geometries,
    geometry_key,
    read_cached,
    wkb_column,
    write_cached,
)
from .la_dissolve import dissolve_las

log = logging.getLogger(__name__)

WGS84 = "EPSG:4326"
BNG = "EPSG:27700"

LSOA_CODE_COLUMNS = ("lsoa21cd", "lsoa11cd", "lsoa_code", "lsoa21", "lsoa11", "code")
LSOA_NAME_COLUMNS = ("lsoa21nm", "lsoa11nm", "lsoa_name", "name")
LA_CODE_RE = re.compile(r"^lad\d{2}cd$|^la_code$|^laua$")
LA_NAME_RE = re.compile(r"^lad\d{2}nm$|^la_name$")
LOOKUP_LSOA_RE = re.compile(r"^lsoa(\d{2})cd$")
AREA_VERSION = "1"  # bump when the area computation changes
BOUNDARY_VERSION = "1"  # bump when reading the LSOA boundaries changes


def gdal_version() -> str:
    """The pyogrio (and so the GDAL it bundles) that reads the boundary files; from its
    metadata, as importing it only for this costs more than a cached reading."""
    try:
        return "pyogrio " + metadata.version("pyogrio")
    except metadata.PackageNotFoundError:
        return "pyogrio unknown"


def _empty_msoas() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"msoa_code": [], "msoa_name": [], "la_code": [], "population": [], "area_km2": []},
        geometry=[],
        crs=WGS84,
    )


@dataclass
class Geography:
    """Everything geographic a drop needs, in WGS84, keyed by ONS codes."""

    # key (see atlas.directory.postcode_keys), postcode ("L8 7AB"), live, la_code and
    # lsoa_code (categorical), lat, long (WGS84); sorted by key.
    directory: pd.DataFrame
    lsoas: gpd.GeoDataFrame  # lsoa_code, lsoa_name, la_code, population, area_km2, geometry
    las: gpd.GeoDataFrame  # la_code, la_name, population, area_km2, geometry
    # With a recipe ``lookup``: msoa_code, msoa_name, la_code, population, area_km2, geometry
    # (dissolved from the LSOAs); empty otherwise.
    msoas: gpd.GeoDataFrame = field(default_factory=_empty_msoas)
    # lsoa_code -> msoa_code for every LSOA of the drop (empty without a lookup).
    lsoa_msoa: pd.Series = field(default_factory=lambda: pd.Series(dtype=object))

    @property
    def la_codes(self) -> list[str]:
        return list(self.las["la_code"])


def load_geography(
    postcodes: Sequence[Path],
    lsoa_files: Sequence[Path],
    population: Path,
    la_file: Path | None = None,
    lookup: Path | None = None,
    cache: Path | bool | None = True,
) -> Geography:
    """Read and join the directory, boundaries, lookup and population; check they agree.

    ``cache`` is passed to :func:`atlas.directory.load_directory` (True: the user cache),
    :func:`atlas.la_dissolve.dissolve_las` and :func:`area_km2`.
    """
    lsoas = read_lsoa_boundaries(lsoa_files, cache)
    directory = load_directory(postcodes, set(lsoas["lsoa_code"]), cache=cache)
    if "la_code" not in lsoas:
        lsoas["la_code"] = _lsoa_la_from_directory(lsoas, directory)
    las = _la_polygons(lsoas, la_file, cache)
    _attach_population(lsoas, las, population)
    if lookup is not None:
        lsoa_msoa, msoas = read_msoas(lookup, lsoas)
    else:
        lsoa_msoa, msoas = pd.Series(dtype=object), _empty_msoas()
    for frame in (lsoas, las, msoas):
        frame["area_km2"] = area_km2(frame, cache)
    return Geography(directory, lsoas, las, msoas, lsoa_msoa)


def area_km2(frame: gpd.GeoDataFrame, cache: Path | bool | None = False) -> pd.Series:
    """Each polygon's area in square kilometres, measured in British National Grid (cached by
    content, :mod:`atlas.geometry_cache`, unless ``cache`` is False: projecting is slow)."""
    if frame.empty:
        return pd.Series(dtype=float, index=frame.index)
    folder = cache_folder(cache)
    if folder is None:
        return frame.geometry.to_crs(BNG).area / 1e6
    name = "areas-" + geometry_key(frame.geometry.values, AREA_VERSION, str(frame.crs), BNG)
    table = read_cached(folder, name)
    if table is not None and table.num_rows == len(frame):
        return pd.Series(table["km2"].to_numpy(), index=frame.index)
    area = frame.geometry.to_crs(BNG).area / 1e6
    write_cached(folder, name, pa.table({"km2": pa.array(area.to_numpy(dtype=float))}))
    return area


def repair(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    """Valid polygons: ``make_valid`` keeping only the polygonal parts (no stray lines)."""
    values = geoms.values
    bad = ~shapely.is_valid(values)
    if bad.any():
        log.info("repairing %d invalid polygon(s)", int(bad.sum()))
        fixed = shapely.make_valid(values[bad], method="structure", keep_collapsed=False)
        values = values.copy()
        values[bad] = fixed
    return gpd.GeoSeries(values, index=geoms.index, crs=geoms.crs)


def read_lsoa_boundaries(
    paths: Sequence[Path], cache: Path | bool | None = False
) -> gpd.GeoDataFrame:
    """LSOA polygons from any GDAL format, reprojected to WGS84 and repaired; from the cache
    (``cache`` as for :func:`atlas.directory.load_directory`) when the same files were read
    before, their messages logged again."""
    folder = cache_folder(cache)
    if folder is None:
        return _read_lsoa_boundaries(paths)
    digest = hashlib.sha256("\0".join((BOUNDARY_VERSION, ENGINES, gdal_version(), "")).encode())
    for path, sha in zip(paths, _source_hashes(paths, folder)):
        digest.update(f"{path}\0{sha}\0".encode())
    name = f"lsoas-{digest.hexdigest()[:40]}"
    table = read_cached(folder, name)
    if table is not None:
        return _replayed(table)
    with _recorded() as records, warnings.catch_warnings(record=True) as caught:
        lsoas = _read_lsoa_boundaries(paths)
    for w in caught:  # passed on; a reading that warns is not cached (its warnings would be lost)
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if not caught and all(
        pd.api.types.infer_dtype(lsoas[c]) == "string" for c in lsoas.columns if c != "geometry"
    ):
        write_cached(folder, name, _recordable(lsoas, records))
    return lsoas


def _read_lsoa_boundaries(paths: Sequence[Path]) -> gpd.GeoDataFrame:
    frames = []
    for path in paths:
        gdf = _read_boundaries(path)
        lower = {c.lower(): c for c in gdf.columns}
        code = next((lower[c] for c in LSOA_CODE_COLUMNS if c in lower), None)
        name = next((lower[c] for c in LSOA_NAME_COLUMNS if c in lower), None)
        if code is None:
            raise GeographyError(
                f"{path}: no LSOA code column (expected LSOA11CD or LSOA21CD; "
                f"found {', '.join(gdf.columns.drop('geometry'))})"
            )
        cols = {code: "lsoa_code"}
        if name is not None:
            cols[name] = "lsoa_name"
        la = next((c for c in gdf.columns if LA_CODE_RE.match(c.lower())), None)
        if la is not None:
            cols[la] = "la_code"
        gdf = _to_wgs84(gdf, path)[[*cols, "geometry"]].rename(columns=cols)
        frames.append(gdf)
    lsoas = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=WGS84)
    if "lsoa_name" not in lsoas:
        lsoas["lsoa_name"] = lsoas["lsoa_code"]
    dup = lsoas["lsoa_code"].duplicated()
    if dup.any():
        log.warning(
            "%d LSOA(s) appear in more than one boundary file; the first is kept", int(dup.sum())
        )
        lsoas = lsoas[~dup]
    lsoas["geometry"] = repair(lsoas.geometry)
    return lsoas.sort_values("lsoa_code").reset_index(drop=True)


@contextmanager
def _recorded() -> Iterator[list[tuple[int, str]]]:
    """Collect this module's log messages while reading, whatever the logging level (a cached
    reading says them again), then log them as usual."""
    kept: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            kept.append(record)

    saved = log.level, log.propagate, log.handlers
    log.setLevel(logging.DEBUG)
    log.propagate, log.handlers = False, [Keep()]
    records: list[tuple[int, str]] = []
    try:
        yield records
    finally:
        log.setLevel(saved[0])
        log.propagate, log.handlers = saved[1], saved[2]
        for record in kept:
            records.append((record.levelno, record.getMessage()))
            if log.isEnabledFor(record.levelno):
                log.handle(record)


def _recordable(frame: gpd.GeoDataFrame, records: list[tuple[int, str]]) -> pa.Table:
    """The frame (text columns and its geometry as WKB) with the messages of its reading."""
    columns = {
        c: (
            wkb_column(frame.geometry.values)
            if c == "geometry"
            else pa.array(frame[c].tolist(), type=pa.string())
        )
        for c in frame.columns
    }
    return pa.table(columns).replace_schema_metadata({"messages": json.dumps(records)})


def _replayed(table: pa.Table) -> gpd.GeoDataFrame:
    """The frame a cached reading gave, its messages logged again."""
    for level, message in json.loads(table.schema.metadata[b"messages"]):
        log.log(level, "%s", message)
    data = {
        c: (geometries(table[c]) if c == "geometry" else table[c].to_numpy(zero_copy_only=False))
        for c in table.column_names
    }
    return gpd.GeoDataFrame(data, geometry="geometry", crs=WGS84)


def _read_boundaries(path: Path) -> gpd.GeoDataFrame:
    """A boundary file as GDAL reads it; GeographyError (one line) when it cannot."""
    try:
        return gpd.read_file(path)
    except (DataSourceError, DataLayerError, FieldError, GeometryError, CRSError) as exc:
        problem = str(exc).replace(str(path), "").split(";")[0].strip(" '.:")
        raise GeographyError(
            f"{path}: cannot be read as boundaries ({problem}); give a GeoJSON, GeoPackage or "
            "Shapefile"
        ) from None


def _to_wgs84(gdf: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    minx, miny, maxx, maxy = gdf.total_bounds
    lon_lat = gdf.empty or (minx >= -180 and maxx <= 180 and miny >= -90 and maxy <= 90)
    if gdf.crs is None:
        guess = WGS84 if lon_lat else BNG
        log.warning("%s has no CRS; assuming %s from its coordinates", path, guess)
        gdf = gdf.set_crs(guess)
    elif gdf.crs.is_geographic and not lon_lat:
        raise GeographyError(
            f"{path}: coordinates up to {maxx:.0f}, {maxy:.0f} are not longitude and latitude, "
            f"though the file is read as {gdf.crs.to_string()} (a GeoJSON is always WGS84); "
            "reproject it to WGS84, or give a GeoPackage or Shapefile with its CRS"
        )
    return gdf.to_crs(WGS84)


def _lsoa_la_from_directory(lsoas: gpd.GeoDataFrame, directory: pd.DataFrame) -> pd.Series:
    """Each LSOA's LA: the LA of most of its postcodes in the directory (live ones first)."""
    d = directory[directory["lsoa_code"].isin(lsoas["lsoa_code"])]
    counts = (
        d.assign(w=d["live"].astype(int) * 1000 + 1)
        .groupby(["lsoa_code", "la_code"], observed=True)["w"]
        .sum()
        .reset_index()
        .sort_values(["lsoa_code", "w", "la_code"], ascending=[True, False, True])
    )
    la_of = counts.drop_duplicates("lsoa_code").set_index("lsoa_code")["la_code"].astype(object)
    la_of.index = la_of.index.astype(object)
    la = lsoas["lsoa_code"].map(la_of)
    if la.isna().any():
        missing = lsoas.loc[la.isna(), "lsoa_code"]
        raise GeographyError(
            f"{len(missing)} LSOA(s) have no postcode in the directory, so "
            f"their LA is unknown (e.g. {', '.join(missing[:5])}); give "
            "boundaries with an LAD code column or a fuller directory"
        )
    return la


def _la_polygons(
    lsoas: gpd.GeoDataFrame, la_file: Path | None, cache: Path | bool | None = True
) -> gpd.GeoDataFrame:
    """LA polygons from la_file, else dissolved from the LSOAs; names from either."""
    names = (
        lsoas["lsoa_name"]
        .str.replace(r"\s+\S+$", "", regex=True)
        .groupby(lsoas["la_code"])
        .agg(lambda s: s.mode().iloc[0])
    )
    if la_file is not None:
        gdf = _to_wgs84(_read_boundaries(la_file), la_file)
        code = next((c for c in gdf.columns if LA_CODE_RE.match(c.lower())), None)
        name = next((c for c in gdf.columns if LA_NAME_RE.match(c.lower())), None)
        if code is None:
            raise GeographyError(f"{la_file}: no LA code column (expected e.g. LAD21CD)")
        gdf = gdf.rename(columns={code: "la_code"})
        if name is not None:
            names = gdf.set_index("la_code")[name].combine_first(names)
        las = gdf[gdf["la_code"].isin(lsoas["la_code"])][["la_code", "geometry"]]
        las = gpd.GeoDataFrame(las, crs=WGS84)
        las["geometry"] = repair(las.geometry)
    else:
        las = dissolve_las(lsoas, cache)
    las["la_name"] = las["la_code"].map(names)
    return las[["la_code", "la_name", "geometry"]].sort_values("la_code").reset_index(drop=True)


def _attach_population(lsoas: gpd.GeoDataFrame, las: gpd.GeoDataFrame, path: Path) -> None:
    """LSOA and LA populations; an LA row missing is the sum of its LSOAs; none is an error."""
    pop = read_population(path)
    lsoas["population"] = lsoas["lsoa_code"].map(pop)
    summed = lsoas.groupby("la_code")["population"].sum(min_count=1)
    own = las["la_code"].map(pop)
    las["population"] = own.where(own.notna(), las["la_code"].map(summed))
    missing = las.loc[las["population"].isna(), "la_code"]
    if len(missing):
        raise GeographyError(
            f"{path}: no population for LA(s) {', '.join(missing)} "
            "(neither an LA row nor rows for its LSOAs)"
        )


# Population files as published: our ``area_code, population``; ONS small-area estimates
# (SAPE: ``LSOA Code`` ... ``All Ages``; from mid-2021 ``LSOA 2021 Code`` ... ``Total``); the
# ONS mid-year estimates for LAs (``Code, Name, Geography, All ages``); SAPE21DT11
# (``Code, Name, Mid-2018 population``); and the same tables re-published with snake_case names
# (``lsoa11_code``, ``total_population``). Names are compared lower-cased, with runs of spaces,
# underscores and hyphens as one space. An area column is an LSOA one before an LA one: an LSOA
# table also names each LSOA's LA.
_AREA_COLUMN = re.compile(
    r"^(?:area code|code|(?:lsoa|lsoa ?\d{2}|lsoa \d{4}) (?:code|cd)|lsoa\d{2}cd)$"
)
_LA_COLUMN = re.compile(
    r"^(?:(?:la|lad|ltla|utla)(?: ?\d{2}| \d{4})? (?:code|cd)|(?:lad|ltla)\d{2}cd"
    r"|la code \(\d{4} boundaries\))$"
)
_POPULATION_COLUMN = re.compile(
    r"^(?:population|total population|all ages|total|persons|mid \d{4} population"
    r"|population \d{4}|mid \d{4})$"
)
_AREA_CODE = re.compile(r"^[EWSN]\d{8}$")  # an ONS area code: a row of the table
_HEADER_SEARCH_LINES = 30  # ONS tables put a title and notes above the header


def _column_key(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", name.strip().lower()).strip()


def _population_header(path: Path) -> tuple[int, int, int]:
    """(header line index, area column, population column) of a population CSV."""
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        head = [row for _, row in zip(range(_HEADER_SEARCH_LINES), csv.reader(fh))]
    for skip, row in enumerate(head):
        keys = [_column_key(c) for c in row]
        area = next((i for i, k in enumerate(keys) if _AREA_COLUMN.match(k)), None)
        if area is None:
            area = next((i for i, k in enumerate(keys) if _LA_COLUMN.match(k)), None)
        value = next((i for i, k in enumerate(keys) if _POPULATION_COLUMN.match(k)), None)
        if area is not None and value is not None:
            return skip, area, value
    found = ", ".join(head[0]) if head else "nothing"
    raise GeographyError(
        f"{path}: expected an area code column (area_code, LSOA Code, Code, ...) and a "
        f"population column (population, All Ages, Total, ...) in its first "
        f"{_HEADER_SEARCH_LINES} lines (the first line holds {found})"
    )


def read_population(path: Path) -> pd.Series:
    """Population by area code (LSOAs and/or LAs) from a population CSV as published.

    The header is the first of the file's first lines with an area code and a population
    column (title rows above it are skipped); thousands separators are allowed.
    """
    path = Path(path)
    skip, area, value = _population_header(path)
    table = pd.read_csv(
        path,
        dtype=str,
        keep_default_na=False,
        encoding="utf-8-sig",
        encoding_errors="replace",
        skiprows=skip,
        usecols=[area, value],
        skip_blank_lines=False,  # so that row i is line skip + 2 + i
    )
    # read_csv keeps the file's column order, whatever the order of usecols
    codes, values = table.iloc[:, int(value < area)].str.strip(), table.iloc[:, int(area < value)]
    pop = pd.to_numeric(values.str.replace(",", "", regex=False).str.strip(), errors="coerce")
    unread = codes.str.match(_AREA_CODE.pattern) & pop.isna()
    if unread.any():
        first = int(unread.to_numpy().argmax())
        raise GeographyError(
            f"{path} line {skip + 2 + first}: the population of an area is not a number "
            f"({int(unread.sum())} row(s)); write each as digits, e.g. 1520"
        )
    pop = pd.Series(pop.to_numpy(), index=codes.to_numpy()).dropna()
    return pop[~pop.index.duplicated()]


def read_msoas(path: Path, lsoas: gpd.GeoDataFrame) -> tuple[pd.Series, gpd.GeoDataFrame]:
    """The LSOA -> MSOA mapping from an ONS lookup, and MSOA polygons dissolved from the LSOAs.

    The lookup's vintage (``LSOA11CD``/``MSOA11CD`` or ``LSOA21CD``/``MSOA21CD``) is the one
    that matches the boundaries; every LSOA of the drop must be in it.
    """
    try:
        header = pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise GeographyError(f"{path}: cannot read the lookup ({exc})") from None
    lower = {c.strip().lower(): c for c in header}
    codes = set(lsoas["lsoa_code"])
    best: tuple[int, pd.DataFrame] | None = None
    for name in lower:
        m = LOOKUP_LSOA_RE.match(name)
        year = m and m.group(1)
        if not year or f"msoa{year}cd" not in lower:
            continue
        cols = {"lsoa_code": lower[name], "msoa_code": lower[f"msoa{year}cd"]}
        if f"msoa{year}nm" in lower:
            cols["msoa_name"] = lower[f"msoa{year}nm"]
        table = pd.read_csv(
            path,
            usecols=list(cols.values()),
            dtype=str,
            keep_default_na=False,
            encoding="utf-8-sig",
        ).rename(columns={v: k for k, v in cols.items()})
        hits = int(table["lsoa_code"].str.strip().isin(codes).sum())
        if best is None or hits > best[0]:
            best = (hits, table)
    if best is None:
        raise GeographyError(
            f"{path}: not an OA-LSOA-MSOA lookup: expected columns such as "
            f"LSOA11CD and MSOA11CD (found {', '.join(header)})"
        )
    table = best[1].apply(lambda s: s.str.strip())
    table = table.drop_duplicates("lsoa_code")
    if "msoa_name" not in table:
        table["msoa_name"] = table["msoa_code"]
    mapping = table.set_index("lsoa_code")["msoa_code"]
    msoa_of = lsoas["lsoa_code"].map(mapping)
    if msoa_of.isna().any():
        missing = lsoas.loc[msoa_of.isna(), "lsoa_code"]
        raise GeographyError(
            f"{path}: no MSOA for {len(missing)} of the {len(lsoas)} LSOA(s) (e.g. "
            f"{', '.join(missing[:5])}); is the lookup the same vintage (2011 or 2021) as the "
            "boundaries?"
        )
    names = table.drop_duplicates("msoa_code").set_index("msoa_code")["msoa_name"]
    parts = gpd.GeoDataFrame(
        {"msoa_code": msoa_of, "la_code": lsoas["la_code"], "population": lsoas.get("population")},
        geometry=lsoas.geometry,
        crs=lsoas.crs,
    )
    msoas = (
        parts[["msoa_code", "la_code", "geometry"]]
        .dissolve(by="msoa_code", aggfunc="first")
        .reset_index()
    )
    msoas["population"] = msoas["msoa_code"].map(
        parts.groupby("msoa_code")["population"].sum(min_count=1)
    )
    split = parts.groupby("msoa_code")["la_code"].nunique()
    if (split > 1).any():
        log.warning(
            "%d MSOA(s) span more than one LA; each is given the LA of its first LSOA",
            int((split > 1).sum()),
        )
    msoas["msoa_name"] = msoas["msoa_code"].map(names)
    msoas["geometry"] = repair(msoas.geometry)
    lsoa_msoa = pd.Series(
        msoa_of.to_numpy(), index=lsoas["lsoa_code"].to_numpy(), name="msoa_code"
    )
    return lsoa_msoa, msoas[["msoa_code", "msoa_name", "la_code", "population", "geometry"]]


def msoa_table(geo: Geography) -> pd.DataFrame | None:
    """Each LSOA's MSOA and LA, and each MSOA's LA (``msoa_la_code``, empty where an MSOA
    straddles LAs, so its LA total is not tied to it); None when the recipe has no lookup."""
    if geo.lsoa_msoa.empty:
        return None
    table = pd.DataFrame(
        {
            "lsoa_code": geo.lsoas["lsoa_code"].astype(str),
            "la_code": geo.lsoas["la_code"].astype(str),
        }
    )
    table["msoa_code"] = table["lsoa_code"].map(geo.lsoa_msoa).astype(str)
    table["msoa_name"] = table["msoa_code"].map(geo.msoas.set_index("msoa_code")["msoa_name"])
    by_msoa = table.groupby("msoa_code")["la_code"]
    las = by_msoa.first().where(by_msoa.nunique() == 1, "")
    straddling = sorted(las[las == ""].index)
    if straddling:
        log.warning(
            "%d MSOA(s) straddle LAs (e.g. %s): their LA totals are not tied to them",
            len(straddling),
            ", ".join(straddling[:3]),
        )
    table["msoa_la_code"] = table["msoa_code"].map(las)
    return table.sort_values("lsoa_code").reset_index(drop=True)
