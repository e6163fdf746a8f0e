"""The MSOA level (optional): the ONS OA-LSOA-MSOA lookup, read as it comes, and MSOA polygons
dissolved from the LSOAs so that both levels share every edge.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from .errors import GeographyError
from .geography import Geography

log = logging.getLogger(__name__)

LSOA_RE = re.compile(r"^lsoa\d{2}cd$")
MSOA_RE = re.compile(r"^msoa\d{2}cd$")
MSOA_NAME_RE = re.compile(r"^msoa\d{2}nm$")


def read_lookup(path: Path, lsoa_codes: pd.Series) -> pd.DataFrame:
    """``lsoa_code, msoa_code, msoa_name`` for every LSOA of the drop, from an ONS lookup
    (one row per OA or per LSOA; columns such as LSOA11CD, MSOA11CD, MSOA11NM)."""
    header = pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns
    found = {}
    for key, pattern in (("lsoa_code", LSOA_RE), ("msoa_code", MSOA_RE),
                         ("msoa_name", MSOA_NAME_RE)):
        hit = next((c for c in header if pattern.match(c.strip().lower())), None)
        if hit is not None:
            found[hit] = key
    missing = [k for k in ("lsoa_code", "msoa_code") if k not in found.values()]
    if missing:
        raise GeographyError(f"{path}: not an ONS LSOA-MSOA lookup: no column for "
                             f"{', '.join(missing)} (expected names such as LSOA11CD, MSOA11CD)")
    table = pd.read_csv(path, usecols=list(found), dtype=str, keep_default_na=False,
                        encoding="utf-8-sig").rename(columns=found)
    table = table.apply(lambda s: s.str.strip())
    if "msoa_name" not in table:
        table["msoa_name"] = table["msoa_code"]
    table = table[table["lsoa_code"].isin(set(lsoa_codes))]
    pairs = table.drop_duplicates(["lsoa_code", "msoa_code"])
    split = pairs[pairs["lsoa_code"].duplicated(keep=False)]
    if len(split):
        first = split.iloc[0]["lsoa_code"]
        raise GeographyError(f"{path}: LSOA {first} lies in more than one MSOA "
                             f"({', '.join(split[split['lsoa_code'] == first]['msoa_code'])})")
    absent = sorted(set(lsoa_codes) - set(pairs["lsoa_code"]))
    if absent:
        raise GeographyError(f"{path}: {len(absent)} LSOA(s) of the drop are not in the lookup "
                             f"(e.g. {', '.join(absent[:5])}); is it the same LSOA vintage?")
    return pairs.sort_values("lsoa_code").reset_index(drop=True)


def msoa_of_lsoas(geo: Geography, lookup: pd.DataFrame) -> pd.DataFrame:
    """Each LSOA's MSOA and each MSOA's LA (empty when an MSOA straddles LAs)."""
    table = lookup.merge(pd.DataFrame(geo.lsoas[["lsoa_code", "la_code"]]), on="lsoa_code")
    las = table.groupby("msoa_code")["la_code"].agg(lambda s: s.iloc[0] if s.nunique() == 1
                                                     else "")
    straddling = sorted(las[las == ""].index)
    if straddling:
        log.warning("%d MSOA(s) straddle LAs (e.g. %s): their LA totals are not tied to them",
                    len(straddling), ", ".join(straddling[:3]))
    table["msoa_la_code"] = table["msoa_code"].map(las)
    return table


def msoa_layer(geo: Geography, lookup: pd.DataFrame,
               lsoas: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """MSOA polygons (union of their LSOAs, ``lsoas`` or geo.lsoas) with name, LA, population."""
    lsoas = geo.lsoas if lsoas is None else lsoas
    table = msoa_of_lsoas(geo, lookup).set_index("lsoa_code")
    frame = lsoas.assign(msoa_code=lsoas["lsoa_code"].map(table["msoa_code"]))
    geoms = frame.groupby("msoa_code", sort=True)["geometry"].agg(
        lambda s: shapely.coverage_union_all(s.values))
    names = table.drop_duplicates("msoa_code").set_index("msoa_code")
    out = gpd.GeoDataFrame({
        "msoa_code": geoms.index,
        "msoa_name": geoms.index.map(names["msoa_name"]),
        "la_code": geoms.index.map(names["msoa_la_code"]),
        "population": frame.groupby("msoa_code", sort=True)["population"].sum(min_count=1)
        .reindex(geoms.index).to_numpy(),
    }, geometry=list(geoms.to_numpy()), crs=lsoas.crs)
    return out.reset_index(drop=True)
