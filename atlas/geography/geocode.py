"""Geocoding residence postcodes to LSOA and LA, with a match level (spec section 2).

``geocode`` is a pure, vectorised function of the postcodes and the directory: every postcode
ends in exactly one of ``MATCH_LEVELS``. ``assign_residence`` then applies the *Residence* rule:
the LA from the postcode, else the LA recorded on the latest assessment; ``OUTSIDE`` for an LA
outside the drop and ``UNKNOWN`` where no LA is known.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .directory import base37, char_matrix, postcode_keys

if TYPE_CHECKING:
    import geopandas as gpd

MATCH_LEVELS = ("full", "terminated", "partial", "nfa", "out_of_area", "invalid", "missing")
OUTSIDE = "OUTSIDE"
UNKNOWN = "UNKNOWN"

OUTWARD = r"[A-Z]{1,2}[0-9][A-Z0-9]?"
_DISTRICT_RE = rf"^{OUTWARD}$"
_SECTOR_RE = rf"^{OUTWARD}\s+[0-9OI]$"
NFA_WORDS = ("NFA", "NOFIXEDABODE", "NOFIXEDADDRESS", "HOMELESS")
LA_CODE_RE = re.compile(r"^[EWSN]\d{8}$")


KINDS = np.array(["missing", "nfa", "sector", "unit", "district", "malformed"], dtype=object)
MISSING, NFA, SECTOR, UNIT, DISTRICT, MALFORMED = range(6)
_UNIT_SLIP_RE = rf"^{OUTWARD}[0-9OI][A-Z]{{2}}$"  # the inward digit may be an O or I slip
_FIX = np.arange(256, dtype=np.uint8)
_FIX[ord("O")], _FIX[ord("I")] = ord("0"), ord("1")


def normalise(raw: pd.Series) -> pd.DataFrame:
    """Classify and tidy raw postcodes: ``kind`` is unit, sector, district, nfa, missing or
    malformed; ``key`` the canonical form (``L8 7AB``, ``L8 7``, ``L8``), else "".

    Fixes case and spacing, and the ``O``/``0`` and ``I``/``1`` slips in the inward code's digit.
    """
    codes, uniques = _distinct(raw)
    kind, key, _ = _normalise_unique(uniques)
    key_obj = pc.fill_null(key, "").to_numpy(zero_copy_only=False).astype(object)
    return pd.DataFrame({"kind": KINDS[kind][codes], "key": key_obj[codes]}, index=raw.index)


def _distinct(raw: pd.Series) -> tuple[np.ndarray, pa.Array]:
    """Each distinct spelling once (extracts repeat postcodes a great deal), and where it is."""
    try:
        arr = pa.array(raw.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        arr = pa.array(raw.fillna("").astype(str).to_numpy(dtype=object), type=pa.string())
    encoded = pc.dictionary_encode(pc.fill_null(arr, ""))
    return encoded.indices.to_numpy(zero_copy_only=False), encoded.dictionary


def _normalise_unique(values: pa.Array) -> tuple[np.ndarray, pa.Array, np.ndarray]:
    """Per distinct spelling: kind code (``KINDS``), canonical key (null if none) and integer
    key (unit: its postcode key; sector and district: ``key // 37**2``, ``key // 37**3``)."""
    text = pc.utf8_upper(pc.utf8_trim_whitespace(values))
    # Dropping spaces is a fast literal replace; a regex is run only on the rare other junk.
    compact = pc.replace_substring(text, " ", "")
    dirty = pc.invert(pc.match_substring_regex(compact, r"^[A-Z0-9]*$"))
    if pc.any(dirty).as_py():
        cleaned = pc.replace_substring_regex(pc.filter(compact, dirty), r"[^A-Z0-9]", "")
        compact = pc.replace_with_mask(compact, dirty, cleaned)

    def test(arr: pa.Array) -> np.ndarray:
        return arr.to_numpy(zero_copy_only=False).astype(bool)

    kind = np.select(
        [
            test(pc.equal(compact, "")),
            test(pc.is_in(compact, pa.array(NFA_WORDS))) | test(pc.starts_with(compact, "ZZ99")),
            test(pc.match_substring_regex(text, _SECTOR_RE)),
            test(pc.match_substring_regex(compact, _UNIT_SLIP_RE)),
            test(pc.match_substring_regex(compact, _DISTRICT_RE)),
        ],
        [MISSING, NFA, SECTOR, UNIT, DISTRICT],
        default=MALFORMED,
    ).astype(np.int8)
    # Right-aligned characters: unit "L8 7AB" -> "  L87AB", sector "  L87", district "   L8".
    r = char_matrix(compact, 7).copy()
    unit, sector, district = kind == UNIT, kind == SECTOR, kind == DISTRICT
    r[unit, 4] = _FIX[r[unit, 4]]
    r[sector, 6] = _FIX[r[sector, 6]]
    ints = np.where(unit | sector | district, base37(r), -1)
    # Canonical text: a space before the inward code (unit) or the sector digit (sector).
    out = np.full((len(kind), 8), ord(" "), dtype=np.uint8)
    out[unit, :4], out[unit, 5:] = r[unit, :4], r[unit, 4:]
    out[sector, :6], out[sector, 7] = r[sector, :6], r[sector, 6]
    out[district, 1:] = r[district]
    fixed = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(8), len(kind), [None, pa.py_buffer(out.tobytes())]
    )
    key = pc.utf8_ltrim_whitespace(pc.cast(pc.cast(fixed, pa.binary()), pa.string()))
    key = pc.if_else(pc.equal(key, ""), pa.scalar(None, pa.string()), key)
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
    la_code, la_names = m["la_code"], m["la_names"]
    drop_code = np.append(np.asarray(pd.Index(la_names).isin(list(drop_las))), False)
    # Work on distinct spellings (``_u``), then spread them to every row with ``codes``.
    row = m["row_u"]
    found = row >= 0
    r = np.maximum(row, 0)
    unit_la = np.where(found, la_code[r], -1) if len(d) else np.full(len(row), -1)
    in_drop = found & drop_code[unit_la]
    live = found & (d["live"].to_numpy(dtype=bool)[r] if len(d) else False)
    kind = m["kind_u"]
    # A unit the directory gives no LA (NSPL: some long-terminated postcodes) is terminated
    # if dead; a live one with no LA is of no use, so invalid.
    has_la = found & (unit_la >= 0)
    level = np.select(  # indices into MATCH_LEVELS
        [
            kind == MISSING,
            kind == NFA,
            has_la & ~in_drop,
            live & has_la,
            found & ~live,
            m["known_u"],
        ],
        [6, 3, 4, 0, 1, 2],
        default=5,
    )
    la_idx = np.where(found, unit_la, np.where(level == 2, m["la_u"], -1))
    la_names_obj = np.append(np.asarray(la_names, dtype=object), None)  # type: ignore[call-overload]  # numpy stubs: None is a valid object
    lsoa_code, lsoa_names = _codes(d["lsoa_code"])
    lsoa_names_obj = np.append(np.asarray(lsoa_names, dtype=object), None)  # type: ignore[call-overload]  # numpy stubs: None is a valid object
    lsoa_idx = np.where(in_drop, lsoa_code[r] if len(d) else -1, -1)
    codes, index = m["codes"], postcodes.index
    return pd.DataFrame(
        {
            "postcode": pd.Series(
                pd.arrays.ArrowStringArray(pc.take(m["key_u"], codes)), index=index
            ),
            "match_level": pd.Series(
                np.asarray(MATCH_LEVELS, dtype=object)[level[codes]], index=index
            ),
            "la_code": pd.Series(la_names_obj[la_idx[codes]], index=index),
            "lsoa_code": pd.Series(lsoa_names_obj[lsoa_idx[codes]], index=index),
        },
        index=index,
    )


def _codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes (-1 for missing) and the distinct values; free for a categorical."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy(), values.cat.categories
    codes, uniques = pd.factorize(values.replace("", None))
    return codes, pd.Index(uniques)


def _keyed(directory: pd.DataFrame) -> pd.DataFrame:
    """The directory with an integer ``key``, sorted by it (a no-op for a prepared one)."""
    if "key" not in directory:
        compact = (
            directory["postcode"].astype(str).str.upper().str.replace(r"[^A-Z0-9]", "", regex=True)
        )
        directory = directory.assign(key=postcode_keys(compact.to_numpy(dtype=object)))
    keys = directory["key"].to_numpy()
    if len(keys) > 1 and not (keys[1:] >= keys[:-1]).all():
        directory = directory.sort_values("key", kind="stable")
    return directory


def _match(postcodes: pd.Series, directory: pd.DataFrame) -> dict:
    """Normalise each distinct spelling, then find each unit's directory row (-1 if none) and
    each partial's LA. Arrays ending ``_u`` are per distinct spelling; ``codes`` spreads them."""
    d = _keyed(directory)
    codes, uniques = _distinct(postcodes)
    kind_u, key_u, int_u = _normalise_unique(uniques)
    keys = d["key"].to_numpy()
    row_u = np.full(len(kind_u), -1, dtype=np.int64)
    unit = np.flatnonzero(kind_u == UNIT)
    if len(keys) and len(unit):
        order = unit[np.argsort(int_u[unit])]  # sorted needles search much faster
        pos = np.minimum(np.searchsorted(keys, int_u[order]), len(keys) - 1)
        row_u[order] = np.where(keys[pos] == int_u[order], pos, -1)
    la_code, la_names = _codes(d["la_code"])
    known_u, la_u = _partial_la(kind_u, int_u, keys, d["live"].to_numpy(dtype=bool), la_code)
    return {
        "directory": d,
        "codes": codes,
        "kind_u": kind_u,
        "key_u": key_u,
        "row_u": row_u,
        "known_u": known_u,
        "la_u": la_u,
        "la_code": la_code,
        "la_names": la_names,
    }


def _partial_la(
    kind: np.ndarray, ints: np.ndarray, keys: np.ndarray, live: np.ndarray, la_code: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For districts and sectors: known if in the directory; the LA (as a code, else -1) when
    every live postcode in it lies in one LA. Keys sorted are sorted by sector and district."""
    known = np.zeros(len(kind), dtype=bool)
    la = np.full(len(kind), -1, dtype=np.int64)
    for wanted, divisor in ((SECTOR, 37**2), (DISTRICT, 37**3)):
        ask = np.flatnonzero(kind == wanted)
        if not len(ask) or not len(keys):
            continue
        all_area = keys // divisor
        areas = all_area[np.r_[True, all_area[1:] != all_area[:-1]]]
        pos = np.minimum(np.searchsorted(areas, ints[ask]), len(areas) - 1)
        known[ask] = areas[pos] == ints[ask]
        live_area, live_la = all_area[live], la_code[live]
        if not len(live_area):
            continue
        starts = np.flatnonzero(np.r_[True, live_area[1:] != live_area[:-1]])
        lo = np.minimum.reduceat(live_la, starts)
        hi = np.maximum.reduceat(live_la, starts)
        single = np.where((lo == hi) & (lo >= 0), lo, -1)
        ids = live_area[starts]
        pos = np.minimum(np.searchsorted(ids, ints[ask]), len(ids) - 1)
        la[ask] = np.where(ids[pos] == ints[ask], single[pos], -1)
    return known, la


def assign_residence(
    people: pd.DataFrame, geocoded: pd.DataFrame, la_names: dict[str, str], lsoa_la: dict[str, str]
) -> pd.DataFrame:
    """Residence LA (a drop LA, ``OUTSIDE`` or ``UNKNOWN``) and LSOA (or None) per person.

    The postcode's LA is used where it gives one; otherwise the ``local_authority`` of the
    latest assessment (an ONS code, or a drop LA's name). An LSOA is kept only when it lies in
    the residence LA, so that every residence table adds up.
    """
    drop_las = set(la_names)
    by_name = {name.strip().lower(): code for code, name in la_names.items() if name}
    # the recorded LAs repeat a great deal: each distinct one is looked at once
    codes, recorded = pd.factorize(people["assessment_la"])
    fallback = pd.Series([*recorded, np.nan], dtype=object).fillna("").astype(str).str.strip()
    upper = fallback.str.upper()
    fallback_code = upper.where(upper.isin(drop_las), fallback.str.lower().map(by_name))
    fallback_code = fallback_code.where(
        fallback_code.notna(),
        np.where(upper.str.match(LA_CODE_RE.pattern), OUTSIDE, None),  # type: ignore[call-overload]  # numpy stubs: None is a valid object
    )
    fallback_code = pd.Series(fallback_code.to_numpy()[codes], index=people.index)
    la = geocoded["la_code"].combine_first(fallback_code)
    la = la.where(la.isna() | la.isin(drop_las) | (la == OUTSIDE), OUTSIDE).fillna(UNKNOWN)
    lsoa = geocoded["lsoa_code"].where(geocoded["lsoa_code"].map(lsoa_la) == la)
    return pd.DataFrame({"residence_la": la, "residence_lsoa": lsoa}, index=people.index)


UK_BOUNDS = (49.8, 60.9, -8.7, 1.8)  # lat min, lat max, long min, long max


def place_sites(
    sites: pd.DataFrame, directory: pd.DataFrame, la_polygons: gpd.GeoDataFrame
) -> pd.DataFrame:
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
    row_all, kind = m["row_u"][m["codes"]], m["kind_u"][m["codes"]]
    row = np.maximum(row_all, 0)
    found = row_all >= 0
    d = m["directory"]
    pc_lat = pd.Series(np.where(found, d["lat"].to_numpy(float)[row], np.nan), index=out.index)
    pc_lon = pd.Series(np.where(found, d["long"].to_numpy(float)[row], np.nan), index=out.index)
    pc_la = pd.Series(np.where(found, d["la_code"].to_numpy(object)[row], None), index=out.index)
    out["lat"] = lat.where(plausible, pc_lat)
    out["long"] = lon.where(plausible, pc_lon)
    out["placed_by"] = np.select(
        [plausible, pc_lat.notna()], ["coordinates", "postcode"], default="unplaced"
    )
    coords = np.where(given, "coordinates outside the UK", "no coordinates")
    postcode = np.select(
        [kind == MISSING, found & pc_lat.isna().to_numpy(), found, kind == UNIT],
        [
            "no postcode",
            "its postcode has no grid reference in the directory",
            "",
            "its postcode is not in the directory",
        ],
        default="its postcode is not a full unit postcode",
    )
    out["place_problem"] = np.where(
        out["placed_by"] == "unplaced", pd.Series(coords) + " and " + pd.Series(postcode), ""
    )
    recorded = (
        out["local_authority"].fillna("").astype(str).str.strip().str.upper()
        if "local_authority" in out
        else pd.Series("", index=out.index)
    )
    recorded = recorded.where(recorded.str.match(LA_CODE_RE.pattern))
    points = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(out["long"], out["lat"]), index=out.index, crs="EPSG:4326"
    )
    placed = out["lat"].notna() & out["long"].notna()
    hit = gpd.sjoin(
        points[placed],
        la_polygons[["la_code", "geometry"]].to_crs("EPSG:4326"),
        how="left",
        predicate="within",
    )
    in_polygon = hit[~hit.index.duplicated()]["la_code"].reindex(out.index)
    out["la_code"] = recorded.combine_first(pc_la).combine_first(in_polygon)
    return out


def unplaced_rejects(sites: pd.DataFrame) -> pd.DataFrame:
    """``file, line, reason`` rows for the sites that cannot be placed on the map."""
    bad = sites[sites["placed_by"] == "unplaced"]
    # the line names the site: a reason never quotes a value (spec section 5)
    reason = "the site cannot be placed on the map: " + bad["place_problem"]
    reason = reason + "; its activity is still counted"
    return pd.DataFrame(
        {"file": "sites.csv", "line": bad["line"].astype(int), "reason": reason}
    ).reset_index(drop=True)
