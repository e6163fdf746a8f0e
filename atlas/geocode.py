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
import pyarrow as pa
import pyarrow.compute as pc

from .directory import UNIT_RE, _base37, postcode_keys

MATCH_LEVELS = ("full", "terminated", "partial", "nfa", "out_of_area", "invalid", "missing")
OUTSIDE = "OUTSIDE"
UNKNOWN = "UNKNOWN"

OUTWARD = r"[A-Z]{1,2}[0-9][A-Z0-9]?"
_DISTRICT_RE = rf"^{OUTWARD}$"
_SECTOR_RE = rf"^{OUTWARD} [0-9OI]$"
NFA_WORDS = ("NFA", "NOFIXEDABODE", "NOFIXEDADDRESS", "HOMELESS")
LA_CODE_RE = re.compile(r"^[EWSN]\d{8}$")


def normalise(raw: pd.Series) -> pd.DataFrame:
    """Classify and tidy raw postcodes: ``kind`` is unit, sector, district, nfa, missing or
    malformed; ``key`` the canonical form (``L8 7AB``, ``L8 7``, ``L8``), else "".

    Fixes case and spacing, and the ``O``/``0`` and ``I``/``1`` slips in the inward code's digit.
    Each distinct spelling is worked out once (extracts repeat postcodes a great deal).
    """
    codes, uniques = pd.factorize(raw.fillna("").astype(str), use_na_sentinel=False)
    kind, key, _ = _normalise_unique(uniques)
    return pd.DataFrame({"kind": kind[codes], "key": key[codes]}, index=raw.index)


def _normalise_unique(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """kind, canonical key and integer key (unit: postcode key; sector/district: area key)."""
    text = pc.utf8_upper(pc.utf8_trim_whitespace(pa.array(values, type=pa.string())))
    spaced = pc.replace_substring_regex(text, r"\s+", " ")
    compact = pc.replace_substring_regex(text, r"[^A-Z0-9]", "")
    digit = pc.replace_substring(pc.replace_substring(
        pc.utf8_slice_codeunits(compact, -3, -2), "O", "0"), "I", "1")
    long_enough = pc.greater_equal(pc.utf8_length(compact), 5)
    fixed = pc.if_else(long_enough, pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(compact, 0, -3), digit, pc.utf8_slice_codeunits(compact, -2), ""),
        compact)

    def np_bool(arr: pa.Array) -> np.ndarray:
        return arr.to_numpy(zero_copy_only=False).astype(bool)

    c = compact.to_numpy(zero_copy_only=False)
    kind = np.select(
        [c == "",
         np.isin(c, NFA_WORDS) | np_bool(pc.starts_with(compact, "ZZ99")),
         np_bool(pc.match_substring_regex(spaced, _SECTOR_RE)),
         np_bool(pc.match_substring_regex(fixed, UNIT_RE)),
         np_bool(pc.match_substring_regex(compact, _DISTRICT_RE))],
        ["missing", "nfa", "sector", "unit", "district"], default="malformed").astype(object)
    f = fixed.to_numpy(zero_copy_only=False)
    outward = np.where(kind == "sector", pd.Series(spaced.to_numpy(zero_copy_only=False),
                                                   dtype=object).str.split(" ").str[0], c)
    unit, sector, district = kind == "unit", kind == "sector", kind == "district"
    key = np.full(len(c), "", dtype=object)
    key[unit] = pd.Series(f[unit], dtype=object).str.slice(0, -3).to_numpy(object) + " " + \
        pd.Series(f[unit], dtype=object).str.slice(-3).to_numpy(object)
    sector_digit = pd.Series(c[sector], dtype=object).str.slice(-1).replace(
        {"O": "0", "I": "1"}).to_numpy(object)
    key[sector] = outward[sector] + " " + sector_digit
    key[district] = c[district]
    ints = np.full(len(c), -1, dtype=np.int64)
    ints[unit] = postcode_keys(f[unit])
    ints[sector] = _base37(outward[sector], 4) * 37 + _base37(sector_digit, 1)
    ints[district] = _base37(c[district], 4)
    return kind, key, ints


def geocode(postcodes: pd.Series, directory: pd.DataFrame, drop_las: set[str]) -> pd.DataFrame:
    """Match level, LA code and LSOA code of each postcode, on the postcodes' own index.

    A pure function of the postcodes and the directory (as :mod:`atlas.directory` prepares it;
    a frame without ``key`` gets one from its ``postcode`` column). Columns: ``postcode`` (the
    canonical form, or None), ``match_level`` (one of ``MATCH_LEVELS``), ``la_code``,
    ``lsoa_code`` (only for a unit postcode in a drop LA).
    """
    m = _match(postcodes, directory)
    d = m["directory"]
    row = m["row"]
    found = row >= 0
    la_all = d["la_code"].to_numpy(dtype=object)
    unit_la = np.where(found, la_all[np.maximum(row, 0)], None)
    unit_live = found & d["live"].to_numpy(dtype=bool)[np.maximum(row, 0)]
    in_drop = found & pd.Series(unit_la).isin(drop_las).to_numpy()
    kind = m["kind"]
    level = np.select(
        [kind == "missing", kind == "nfa", found & ~in_drop, unit_live, found,
         m["partial_known"]],
        ["missing", "nfa", "out_of_area", "full", "terminated", "partial"], default="invalid")
    la = np.where(found, unit_la, np.where(level == "partial", m["partial_la"], None))
    lsoa_all = d["lsoa_code"].to_numpy(dtype=object)
    lsoa = np.where(in_drop, lsoa_all[np.maximum(row, 0)], None)
    key = m["key"]
    return pd.DataFrame({
        "postcode": pd.Series(key, index=postcodes.index).replace("", None),
        "match_level": level,
        "la_code": pd.Series(la, index=postcodes.index, dtype=object).replace("", None),
        "lsoa_code": pd.Series(lsoa, index=postcodes.index, dtype=object).replace("", None),
    }, index=postcodes.index)


def _keyed(directory: pd.DataFrame) -> pd.DataFrame:
    """The directory with an integer ``key``, sorted by it (a no-op for a prepared one)."""
    if "key" not in directory:
        compact = directory["postcode"].astype(str).str.upper().str.replace(
            r"[^A-Z0-9]", "", regex=True)
        directory = directory.assign(key=postcode_keys(compact))
    keys = directory["key"].to_numpy()
    if len(keys) > 1 and not (keys[1:] >= keys[:-1]).all():
        directory = directory.sort_values("key", kind="stable")
    return directory


def _match(postcodes: pd.Series, directory: pd.DataFrame) -> dict[str, np.ndarray]:
    """Normalise, then find each unit's directory row (-1 if none) and each partial's LA."""
    d = _keyed(directory)
    codes, uniques = pd.factorize(postcodes.fillna("").astype(str), use_na_sentinel=False)
    kind_u, key_u, int_u = _normalise_unique(uniques)
    keys = d["key"].to_numpy()
    row_u = np.full(len(uniques), -1, dtype=np.int64)
    unit = kind_u == "unit"
    if len(keys) and unit.any():
        pos = np.minimum(np.searchsorted(keys, int_u[unit]), len(keys) - 1)
        row_u[unit] = np.where(keys[pos] == int_u[unit], pos, -1)
    known_u, la_u = _partial_la(kind_u, int_u, d)
    return {"directory": d, "kind": kind_u[codes], "key": key_u[codes], "row": row_u[codes],
            "partial_known": known_u[codes], "partial_la": la_u[codes]}


def _partial_la(kind: np.ndarray, ints: np.ndarray,
                d: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """For districts and sectors: known if in the directory; the LA when every live postcode
    in it lies in one LA. Postcodes sorted by key are sorted by sector and district too."""
    known = np.zeros(len(kind), dtype=bool)
    la = np.full(len(kind), None, dtype=object)
    la_code, la_names = pd.factorize(d["la_code"])
    keys, live = d["key"].to_numpy(), d["live"].to_numpy(dtype=bool)
    for name, divisor in (("sector", 37 ** 2), ("district", 37 ** 3)):
        ask = kind == name
        if not ask.any() or not len(keys):
            continue
        all_area = keys // divisor
        areas = all_area[np.r_[True, all_area[1:] != all_area[:-1]]]
        pos = np.minimum(np.searchsorted(areas, ints[ask]), len(areas) - 1)
        known[ask] = areas[pos] == ints[ask]
        live_area, live_la = keys[live] // divisor, la_code[live]
        if not len(live_area):
            continue
        starts = np.flatnonzero(np.r_[True, live_area[1:] != live_area[:-1]])
        lo = np.minimum.reduceat(live_la, starts)
        hi = np.maximum.reduceat(live_la, starts)
        single = np.where((lo == hi) & (lo >= 0), lo, -1)
        ids = live_area[starts]
        pos = np.minimum(np.searchsorted(ids, ints[ask]), len(ids) - 1)
        hit = (ids[pos] == ints[ask]) & (single[pos] >= 0)
        names = np.asarray(la_names, dtype=object)
        la[np.flatnonzero(ask)[hit]] = names[single[pos][hit]]
    return known, la


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

    Sites that cannot be placed keep NaN coordinates with ``placed_by`` = ``unplaced`` and a
    ``place_problem`` saying why (never 0,0; see :func:`unplaced_rejects`).
    """
    import geopandas as gpd

    out = sites.copy()
    lat = pd.to_numeric(out.get("latitude"), errors="coerce")
    lon = pd.to_numeric(out.get("longitude"), errors="coerce")
    lat_lo, lat_hi, lon_lo, lon_hi = UK_BOUNDS
    given = lat.notna() | lon.notna()
    plausible = lat.between(lat_lo, lat_hi) & lon.between(lon_lo, lon_hi)
    m = _match(out["postcode"], directory)
    row = np.maximum(m["row"], 0)
    found = m["row"] >= 0
    d = m["directory"]
    pc_lat = pd.Series(np.where(found, d["lat"].to_numpy(float)[row], np.nan), index=out.index)
    pc_lon = pd.Series(np.where(found, d["long"].to_numpy(float)[row], np.nan), index=out.index)
    pc_la = pd.Series(np.where(found, d["la_code"].to_numpy(object)[row], None), index=out.index)
    out["lat"] = lat.where(plausible, pc_lat)
    out["long"] = lon.where(plausible, pc_lon)
    out["placed_by"] = np.select([plausible, pc_lat.notna()], ["coordinates", "postcode"],
                                 default="unplaced")
    coords = np.where(given, "coordinates outside the UK", "no coordinates")
    postcode = np.select(
        [m["kind"] == "missing", found & pc_lat.isna().to_numpy(), found,
         m["kind"] == "unit"],
        ["no postcode", "its postcode has no grid reference in the directory", "",
         "its postcode is not in the directory"],
        default="its postcode is not a full unit postcode")
    out["place_problem"] = np.where(out["placed_by"] == "unplaced",
                                    pd.Series(coords) + " and " + pd.Series(postcode), "")
    recorded = out["local_authority"].fillna("").astype(str).str.strip().str.upper() \
        if "local_authority" in out else pd.Series("", index=out.index)
    recorded = recorded.where(recorded.str.match(LA_CODE_RE.pattern))
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(out["long"], out["lat"]),
                              index=out.index, crs="EPSG:4326")
    placed = out["lat"].notna() & out["long"].notna()
    hit = gpd.sjoin(points[placed], la_polygons[["la_code", "geometry"]].to_crs("EPSG:4326"),
                    how="left", predicate="within")
    in_polygon = hit[~hit.index.duplicated()]["la_code"].reindex(out.index)
    out["la_code"] = recorded.combine_first(pc_la).combine_first(in_polygon)
    return out


def unplaced_rejects(sites: pd.DataFrame) -> pd.DataFrame:
    """``file, line, reason`` rows for the sites that cannot be placed on the map."""
    bad = sites[sites["placed_by"] == "unplaced"]
    reason = ("site " + bad["site_code"].astype(str) + " cannot be placed on the map: "
              + bad["place_problem"] + "; its activity is still counted")
    return pd.DataFrame({"file": "sites.csv", "line": bad["line"].astype(int),
                         "reason": reason}).reset_index(drop=True)
