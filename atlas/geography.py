"""Prepared geography: the postcode directory, LSOA and LA polygons, and population.

Reads the ONS products as they come: NSPL/ONSPD postcode CSVs (columns found by their ONS
names), LSOA polygons in any format GDAL reads (WGS84 or British National Grid), and a
population CSV of ``area_code, population``. The LAs of a drop are those of the LSOAs given.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import geopandas as gpd
import pandas as pd
import shapely

from .errors import GeographyError

log = logging.getLogger(__name__)

WGS84 = "EPSG:4326"
BNG = "EPSG:27700"

# ONS column names, most preferred first (NSPL and ONSPD name the same things differently).
DIRECTORY_COLUMNS: dict[str, tuple[str, ...]] = {
    "postcode": ("pcds", "pcd", "pcd2", "pcd7", "pcd8"),
    "doterm": ("doterm",),
    "la_code": ("laua", "oslaua", "lad25cd", "lad24cd", "lad23cd", "lad22cd", "lad21cd",
                "lad20cd", "lad19cd", "ladcd"),
    "lsoa11": ("lsoa11", "lsoa11cd"),
    "lsoa21": ("lsoa21", "lsoa21cd"),
    "lat": ("lat",),
    "long": ("long", "lon"),
    "easting": ("oseast1m", "east1m"),
    "northing": ("osnrth1m", "north1m"),
}
LSOA_CODE_COLUMNS = ("lsoa11cd", "lsoa21cd", "lsoa_code", "lsoa11", "lsoa21", "code")
LSOA_NAME_COLUMNS = ("lsoa11nm", "lsoa21nm", "lsoa_name", "name")
LA_CODE_RE = re.compile(r"^lad\d{2}cd$|^la_code$|^laua$")
LA_NAME_RE = re.compile(r"^lad\d{2}nm$|^la_name$")


@dataclass
class Geography:
    """Everything geographic a drop needs, in WGS84, keyed by ONS codes."""

    directory: pd.DataFrame  # postcode (canonical "L8 7AB"), live, la_code, lsoa_code, lat, long
    lsoas: gpd.GeoDataFrame  # lsoa_code, lsoa_name, la_code, population, geometry
    las: gpd.GeoDataFrame  # la_code, la_name, population, geometry

    @property
    def la_codes(self) -> list[str]:
        return list(self.las["la_code"])


def load_geography(postcodes: Sequence[Path], lsoa_files: Sequence[Path], population: Path,
                   la_file: Path | None = None) -> Geography:
    """Read and join the directory, boundaries and population; check they agree."""
    lsoas = read_lsoa_boundaries(lsoa_files)
    directory = read_directory(postcodes, set(lsoas["lsoa_code"]))
    if "la_code" not in lsoas:
        lsoas["la_code"] = _lsoa_la_from_directory(lsoas, directory)
    las = _la_polygons(lsoas, la_file)
    _attach_population(lsoas, las, population)
    return Geography(directory, lsoas, las)


def canonical_postcode(compact: pd.Series) -> pd.Series:
    """``L87AB`` -> ``L8 7AB``: the outward code, one space, the three-character inward code."""
    return compact.str.slice(0, -3) + " " + compact.str.slice(-3)


def read_directory(paths: Sequence[Path], lsoa_codes: set[str] | None = None) -> pd.DataFrame:
    """Read only the needed columns of one or more NSPL/ONSPD CSVs, as compact strings."""
    frames = []
    for path in paths:
        header = pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns
        lower = {c.lower(): c for c in header}
        found = {}
        for key, names in DIRECTORY_COLUMNS.items():
            hit = next((lower[n] for n in names if n in lower), None)
            if hit is not None:
                found[key] = hit
        missing = [k for k in ("postcode", "la_code") if k not in found]
        if missing or not ({"lsoa11", "lsoa21"} & set(found)):
            need = missing + ([] if {"lsoa11", "lsoa21"} & set(found) else ["lsoa11/lsoa21"])
            raise GeographyError(f"{path}: not a postcode directory: no column for "
                                 f"{', '.join(need)} (expected ONS names such as pcds, laua, "
                                 "lsoa11)")
        frame = pd.read_csv(path, usecols=list(found.values()), dtype=str,
                            keep_default_na=False, encoding="utf-8-sig")
        frames.append(frame.rename(columns={v: k for k, v in found.items()}))
    d = pd.concat(frames, ignore_index=True)
    compact = d["postcode"].str.upper().str.replace(r"[^A-Z0-9]", "", regex=True)
    lsoa = _pick_lsoa_column(d, lsoa_codes)
    out = pd.DataFrame({
        "postcode": canonical_postcode(compact),
        "live": d["doterm"].str.strip() == "" if "doterm" in d else True,
        "la_code": d["la_code"].str.strip(),
        "lsoa_code": lsoa.str.strip(),
        "lat": pd.to_numeric(d.get("lat"), errors="coerce"),
        "long": pd.to_numeric(d.get("long"), errors="coerce"),
    })
    # NSPL marks postcodes with no grid reference with lat 99.999999.
    out.loc[out["lat"] > 90, ["lat", "long"]] = float("nan")
    out = out[compact.str.len() >= 5].drop_duplicates("postcode", keep="first")
    return out.sort_values("postcode").reset_index(drop=True)


def _pick_lsoa_column(d: pd.DataFrame, lsoa_codes: set[str] | None) -> pd.Series:
    """Use the LSOA vintage (2011 or 2021) that matches the boundaries best."""
    options = [c for c in ("lsoa11", "lsoa21") if c in d]
    if len(options) == 1 or not lsoa_codes:
        return d[options[0]]
    return max((d[c] for c in options), key=lambda s: s.isin(lsoa_codes).sum())


def read_lsoa_boundaries(paths: Sequence[Path]) -> gpd.GeoDataFrame:
    """LSOA polygons from any GDAL format, reprojected to WGS84 and repaired."""
    frames = []
    for path in paths:
        gdf = gpd.read_file(path)
        lower = {c.lower(): c for c in gdf.columns}
        code = next((lower[c] for c in LSOA_CODE_COLUMNS if c in lower), None)
        name = next((lower[c] for c in LSOA_NAME_COLUMNS if c in lower), None)
        if code is None:
            raise GeographyError(f"{path}: no LSOA code column (expected LSOA11CD or LSOA21CD; "
                                 f"found {', '.join(gdf.columns.drop('geometry'))})")
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
        log.warning("%d LSOA(s) appear in more than one boundary file; the first is kept",
                    int(dup.sum()))
        lsoas = lsoas[~dup]
    lsoas["geometry"] = shapely.make_valid(lsoas.geometry.values)
    return lsoas.sort_values("lsoa_code").reset_index(drop=True)


def _to_wgs84(gdf: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        minx, miny, maxx, maxy = gdf.total_bounds
        guess = WGS84 if -180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90 else BNG
        log.warning("%s has no CRS; assuming %s from its coordinates", path, guess)
        gdf = gdf.set_crs(guess)
    return gdf.to_crs(WGS84)


def _lsoa_la_from_directory(lsoas: gpd.GeoDataFrame, directory: pd.DataFrame) -> pd.Series:
    """Each LSOA's LA: the LA of most of its postcodes in the directory (live ones first)."""
    d = directory[directory["lsoa_code"].isin(lsoas["lsoa_code"])]
    counts = (d.assign(w=d["live"].astype(int) * 1000 + 1)
              .groupby(["lsoa_code", "la_code"])["w"].sum().reset_index()
              .sort_values(["lsoa_code", "w", "la_code"], ascending=[True, False, True]))
    la_of = counts.drop_duplicates("lsoa_code").set_index("lsoa_code")["la_code"]
    la = lsoas["lsoa_code"].map(la_of)
    if la.isna().any():
        missing = lsoas.loc[la.isna(), "lsoa_code"]
        raise GeographyError(f"{len(missing)} LSOA(s) have no postcode in the directory, so "
                             f"their LA is unknown (e.g. {', '.join(missing[:5])}); give "
                             "boundaries with an LAD code column or a fuller directory")
    return la


def _la_polygons(lsoas: gpd.GeoDataFrame, la_file: Path | None) -> gpd.GeoDataFrame:
    """LA polygons from la_file, else dissolved from the LSOAs; names from either."""
    names = (lsoas["lsoa_name"].str.replace(r"\s+\S+$", "", regex=True)
             .groupby(lsoas["la_code"]).agg(lambda s: s.mode().iloc[0]))
    if la_file is not None:
        gdf = _to_wgs84(gpd.read_file(la_file), la_file)
        code = next((c for c in gdf.columns if LA_CODE_RE.match(c.lower())), None)
        name = next((c for c in gdf.columns if LA_NAME_RE.match(c.lower())), None)
        if code is None:
            raise GeographyError(f"{la_file}: no LA code column (expected e.g. LAD21CD)")
        gdf = gdf.rename(columns={code: "la_code"})
        if name is not None:
            names = gdf.set_index("la_code")[name].combine_first(names)
        las = gdf[gdf["la_code"].isin(lsoas["la_code"])][["la_code", "geometry"]]
        las = gpd.GeoDataFrame(las, crs=WGS84)
        las["geometry"] = shapely.make_valid(las.geometry.values)
    else:
        las = lsoas[["la_code", "geometry"]].dissolve(by="la_code").reset_index()
    las["la_name"] = las["la_code"].map(names)
    return las[["la_code", "la_name", "geometry"]].sort_values("la_code").reset_index(drop=True)


def _attach_population(lsoas: gpd.GeoDataFrame, las: gpd.GeoDataFrame, path: Path) -> None:
    """LSOA and LA populations; an LA row missing is the sum of its LSOAs; none is an error."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    lower = {c.strip().lower(): c for c in table.columns}
    code = next((lower[c] for c in ("area_code", "code", "lsoa11_code", "lsoa11cd",
                                    "ltla19_code") if c in lower), None)
    value = next((lower[c] for c in ("population", "total_population", "all ages")
                  if c in lower), None)
    if code is None or value is None:
        raise GeographyError(f"{path}: expected columns area_code, population "
                             f"(found {', '.join(table.columns)})")
    pop = pd.to_numeric(table[value].str.replace(",", "", regex=False), errors="coerce")
    pop = pd.Series(pop.to_numpy(), index=table[code].str.strip()).dropna()
    pop = pop[~pop.index.duplicated()]
    lsoas["population"] = lsoas["lsoa_code"].map(pop)
    summed = lsoas.groupby("la_code")["population"].sum(min_count=1)
    own = las["la_code"].map(pop)
    las["population"] = own.where(own.notna(), las["la_code"].map(summed))
    missing = las.loc[las["population"].isna(), "la_code"]
    if len(missing):
        raise GeographyError(f"{path}: no population for LA(s) {', '.join(missing)} "
                             "(neither an LA row nor rows for its LSOAs)")
