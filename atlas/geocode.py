"""Geocoding residence postcodes to LSOA and LA, with a match level (spec section 2).

``geocode`` is a pure, vectorised function of the postcodes and the directory: every postcode
ends in exactly one of ``MATCH_LEVELS``. ``assign_residence`` then applies the *Residence* rule:
the LA from the postcode, else the LA recorded on the latest assessment; ``OUTSIDE`` for an LA
outside the drop and ``UNKNOWN`` where no LA is known.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .geography import canonical_postcode

MATCH_LEVELS = ("full", "terminated", "partial", "nfa", "out_of_area", "invalid", "missing")
OUTSIDE = "OUTSIDE"
UNKNOWN = "UNKNOWN"

OUTWARD = r"[A-Z]{1,2}[0-9][A-Z0-9]?"
_UNIT_RE = rf"^{OUTWARD}[0-9][A-Z]{{2}}$"
_DISTRICT_RE = rf"^{OUTWARD}$"
_SECTOR_RE = rf"^({OUTWARD}) ([0-9])$"
NFA_WORDS = {"NFA", "NOFIXEDABODE", "NOFIXEDADDRESS", "HOMELESS"}
LA_CODE_RE = re.compile(r"^[EWSN]\d{8}$")


def normalise(raw: pd.Series) -> pd.DataFrame:
    """Classify and tidy raw postcodes: ``kind`` is unit, sector, district, nfa, missing or
    malformed; ``key`` the canonical form (``L8 7AB``, ``L8 7``, ``L8``).

    Fixes case and spacing, and the ``O``/``0`` and ``I``/``1`` slips in the inward code's digit.
    """
    text = raw.fillna("").astype(str).str.upper().str.strip()
    spaced = text.str.replace(r"\s+", " ", regex=True)
    compact = text.str.replace(r"[^A-Z0-9]", "", regex=True)
    digit = compact.str.slice(-3, -2).replace({"O": "0", "I": "1"})
    fixed = compact.str.slice(0, -3) + digit + compact.str.slice(-2)
    fixed = fixed.where(compact.str.len() >= 5, compact)
    kind = np.select(
        [compact == "",
         compact.isin(NFA_WORDS) | compact.str.startswith("ZZ99"),
         spaced.str.match(_SECTOR_RE),
         fixed.str.match(_UNIT_RE),
         compact.str.match(_DISTRICT_RE)],
        ["missing", "nfa", "sector", "unit", "district"], default="malformed")
    key = np.select([kind == "unit", kind == "sector", kind == "district"],
                    [canonical_postcode(fixed), spaced, compact], default="")
    return pd.DataFrame({"kind": kind, "key": key}, index=raw.index)


def geocode(postcodes: pd.Series, directory: pd.DataFrame, drop_las: set[str]) -> pd.DataFrame:
    """Match level, LA code and LSOA code of each postcode, on the postcodes' own index."""
    norm = normalise(postcodes)
    units = directory.set_index("postcode")
    hit = norm["key"].where(norm["kind"] == "unit").map(units["la_code"])
    lsoa = norm["key"].where(norm["kind"] == "unit").map(units["lsoa_code"])
    live = norm["key"].where(norm["kind"] == "unit").map(units["live"])
    partial_la, partial_known = _partial_la(norm, directory)
    is_unit = hit.notna()
    in_drop = hit.isin(drop_las)
    level = np.select(
        [norm["kind"] == "missing", norm["kind"] == "nfa",
         is_unit & ~in_drop, is_unit & (live == True), is_unit,  # noqa: E712
         norm["kind"].isin(["sector", "district"]) & partial_known],
        ["missing", "nfa", "out_of_area", "full", "terminated", "partial"], default="invalid")
    la = np.where(is_unit, hit, np.where(level == "partial", partial_la, None))
    return pd.DataFrame({
        "postcode": norm["key"].where(norm["key"] != ""),
        "match_level": level,
        "la_code": pd.Series(la, index=norm.index).replace("", None),
        "lsoa_code": lsoa.where(is_unit & in_drop).replace("", None),
    }, index=postcodes.index)


def _partial_la(norm: pd.DataFrame, directory: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """For districts and sectors: the LA when every live postcode in it lies in one LA."""
    live = directory[directory["live"]]
    district = live["postcode"].str.split(" ").str[0]
    sector = district + " " + live["postcode"].str.split(" ").str[1].str.slice(0, 1)
    areas = pd.concat([pd.DataFrame({"area": district, "la": live["la_code"]}),
                       pd.DataFrame({"area": sector, "la": live["la_code"]})])
    grouped = areas.groupby("area")["la"]
    single = grouped.first().where(grouped.nunique() == 1)
    partial = norm["kind"].isin(["sector", "district"])
    key = norm["key"].where(partial)
    return key.map(single), key.isin(single.index)


def assign_residence(people: pd.DataFrame, geocoded: pd.DataFrame,
                     la_names: dict[str, str], lsoa_la: dict[str, str]) -> pd.DataFrame:
    """Residence LA (a drop LA, ``OUTSIDE`` or ``UNKNOWN``) and LSOA (or None) per person.

    The postcode's LA is used where it gives one; otherwise the ``local_authority`` of the
    latest assessment (an ONS code, or a drop LA's name). An LSOA is kept only when it lies in
    the residence LA, so that every residence table adds up.
    """
    drop_las = set(la_names)
    by_name = {name.strip().lower(): code for code, name in la_names.items() if name}
    fallback = people["assessment_la"].fillna("").astype(str).str.strip()
    fallback_code = fallback.str.upper().where(fallback.str.upper().isin(drop_las),
                                               fallback.str.lower().map(by_name))
    fallback_code = fallback_code.where(
        fallback_code.notna(),
        np.where(fallback.str.upper().str.match(LA_CODE_RE.pattern), OUTSIDE, None))
    la = geocoded["la_code"].combine_first(fallback_code)
    la = la.where(la.isna() | la.isin(drop_las) | (la == OUTSIDE), OUTSIDE).fillna(UNKNOWN)
    lsoa = geocoded["lsoa_code"].where(geocoded["lsoa_code"].map(lsoa_la) == la)
    return pd.DataFrame({"residence_la": la, "residence_lsoa": lsoa}, index=people.index)


UK_BOUNDS = (49.8, 60.9, -8.7, 1.8)  # lat min, lat max, long min, long max


def place_sites(sites: pd.DataFrame, directory: pd.DataFrame,
                la_polygons: "gpd.GeoDataFrame") -> pd.DataFrame:
    """Each site's point and LA: its coordinates when given and inside the UK, else its
    postcode's; its LA as recorded, else its postcode's, else the LA polygon holding it.
    Sites that cannot be placed keep NaN coordinates with ``placed_by`` = ``unplaced``."""
    import geopandas as gpd

    out = sites.copy()
    lat = pd.to_numeric(out.get("latitude"), errors="coerce")
    lon = pd.to_numeric(out.get("longitude"), errors="coerce")
    lat_lo, lat_hi, lon_lo, lon_hi = UK_BOUNDS
    plausible = lat.between(lat_lo, lat_hi) & lon.between(lon_lo, lon_hi)
    coded = geocode(out["postcode"], directory, set())
    units = directory.set_index("postcode")
    pc_lat = coded["postcode"].map(units["lat"])
    pc_lon = coded["postcode"].map(units["long"])
    out["lat"] = lat.where(plausible, pc_lat)
    out["long"] = lon.where(plausible, pc_lon)
    out["placed_by"] = np.select([plausible, pc_lat.notna()], ["coordinates", "postcode"],
                                 default="unplaced")
    recorded = out["local_authority"].str.upper().where(
        out["local_authority"].str.upper().str.match(LA_CODE_RE.pattern))
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(out["long"], out["lat"]),
                              index=out.index, crs="EPSG:4326")
    hit = gpd.sjoin(points[~points.is_empty & out["lat"].notna()], la_polygons[["la_code", "geometry"]],
                    how="left", predicate="within")
    in_polygon = hit[~hit.index.duplicated()]["la_code"].reindex(out.index)
    out["la_code"] = recorded.combine_first(coded["la_code"]).combine_first(in_polygon)
    return out
