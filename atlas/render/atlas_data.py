"""The atlas page's data: one shared, simplified, quantised geometry per level and compact value
arrays per layer, joined in the browser.

Receives only published (protected) values. The LSOA coverage is simplified once with shapely's
``coverage_simplify`` (neighbours keep shared edges: no gaps, no slivers); MSOAs and LAs are the
exact unions of the simplified LSOAs, so every level lines up. Coordinates are quantised to
``1 / SCALE`` degrees, delta-encoded per ring as TopoJSON does, and packed as text
(``pack_ints``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from ..counting.individuals import COHORT_LABELS, COHORT_ORDER
from ..counting.rates import poisson_ci, rate_per_1000, round_half_up
from ..counting.tally import TOTAL
from ..disclosure.suppress import Published
from ..geography.areas import BNG, WGS84, Geography
from ..geography.geometry_cache import cached_json, text_key
from ..geography.imd import Deprivation
from ..geography.simplify_cache import cached_simplify, simplified_name
from .atlas_years import add_years
from .classify import SCHEMES, class_breaks, separated_breaks, shown_breaks
from .ring_text import pack_ints
from .siting_layer import siting_data

if TYPE_CHECKING:
    from ..siting.publish import PublishedPlan

SIMPLIFY_M = 30.0
COARSE_M = 40.0  # MSOAs and LAs, simplified again as their own coverage
DISSOLVE_VERSION = "1"  # bump when the dissolve or its simplification changes
ENCODE_VERSION = "1"  # bump when encode_shapes changes
SNAP_M = 0.5
SCALE = 10_000  # integer units per degree: 1e-4 degrees, about 7 m east-west and 11 m north-south
MEASURES = (("n", "Individuals"), ("rate", "Rate per 1,000 residents"))


class Level(TypedDict):
    """One geography level of the page: areas in a fixed order and every layer's values."""

    id: str
    label: str
    codes: list[str]
    names: list[str]
    shapes: list[Any]
    values: dict[str, dict[str, list[Any]]]  # cohort -> n / rate, lo, hi in tenths
    breaks: dict[str, dict[str, list[float]]]  # cohort -> measure -> upper bounds (recipe's)
    # the other schemes the reader may switch to: scheme -> cohort -> measure -> upper bounds
    classes: dict[str, dict[str, dict[str, list[float]]]]
    # the years (``atlas_years.add_years``): populations, LA of each area, counts per year
    pop: NotRequired[str]
    la: NotRequired[list[int]]
    time: NotRequired[dict[str, list[str]]]
    tbreaks: NotRequired[list[Any]]


def simplified_lsoas(geo: Geography) -> gpd.GeoDataFrame:
    """The LSOA coverage in British National Grid, simplified with shared edges kept.

    Published boundaries often miss each other by millimetres (coordinates rounded per file);
    snapping to a half-metre grid first makes neighbours share their edges exactly, which
    ``coverage_simplify`` and the dissolves to MSOA and LA need. Computed once per geography
    (the page and the GeoJSON download both use it)."""
    return _simplified(geo)[0].copy()


def simplified_lsoas_wgs84(geo: Geography) -> gpd.GeoDataFrame:
    """:func:`simplified_lsoas` in WGS84 (projected once per geography)."""
    return _simplified(geo)[1].copy()


def _simplified(geo: Geography) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    cached = geo.__dict__.get("_simplified_lsoas")
    if cached is not None and cached[0] is geo.lsoas:
        return cached[1], cached[2]
    crs = geo.lsoas.crs

    def simplify(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        bng = gpd.GeoSeries(geoms, crs=crs).to_crs(BNG).values
        snapped = shapely.make_valid(shapely.set_precision(np.asarray(bng), SNAP_M))
        simple = shapely.coverage_simplify(snapped, SIMPLIFY_M)
        return simple, np.asarray(gpd.GeoSeries(simple, crs=BNG).to_crs(WGS84).values)

    simple, wgs = cached_simplify(
        np.asarray(geo.lsoas.geometry.values), _settings(geo), simplify, shapes_key(geo)
    )
    rest = geo.lsoas.drop(columns="geometry")
    out = (
        gpd.GeoDataFrame(rest, geometry=simple, crs=BNG),
        gpd.GeoDataFrame(rest, geometry=wgs, crs=WGS84),
    )
    geo.__dict__["_simplified_lsoas"] = (geo.lsoas, *out)
    return out


def _settings(geo: Geography) -> str:
    return f"{geo.lsoas.crs} -> {BNG} {SNAP_M} {SIMPLIFY_M} -> {WGS84}"


def shapes_key(geo: Geography) -> str:
    """What names the geography's simplified LSOA coverage (its cache entry): everything the
    page and the GeoJSON draw from it is cached under it, so a build whose LSOAs were drawn
    before loads no geometry at all."""
    cached = geo.__dict__.get("_shapes_key")
    if cached is not None and cached[0] is geo.lsoas:
        return cached[1]
    key = simplified_name(np.asarray(geo.lsoas.geometry.values), _settings(geo))
    geo.__dict__["_shapes_key"] = (geo.lsoas, key)
    return key


def dissolve(shapes: gpd.GeoDataFrame, key: pd.Series) -> gpd.GeoSeries:
    """Unions of coverage polygons by key (shared edges match, so no slivers appear), then
    simplified further as a coverage of their own (fewer, larger areas need less detail)."""
    geoms = shapes.geometry.groupby(key.to_numpy(), sort=True).agg(
        lambda s: shapely.coverage_union_all(s.values)
    )
    coarse = shapely.coverage_simplify(np.asarray(list(geoms.to_numpy()), dtype=object), COARSE_M)
    return gpd.GeoSeries(coarse, index=geoms.index, crs=shapes.crs)


def _lsoa_shapes(
    source: str | None, wgs84: Callable[[], gpd.GeoDataFrame]
) -> tuple[tuple[int, int], np.ndarray, list[Any]]:
    """The origin, the WGS84 bounds and the packed shapes of the LSOA level, cached under
    ``source`` (:func:`shapes_key`) when given."""

    def compute() -> dict[str, Any]:
        wgs = wgs84()
        origin = origin_of(wgs)
        return {
            "origin": list(origin),
            "bounds": [float(b) for b in wgs.total_bounds],
            "shapes": encode_shapes(wgs.geometry, origin),
        }

    out = (
        compute()
        if source is None
        else cached_json(
            "encoded-" + text_key(ENCODE_VERSION, source, "lsoa", str(SCALE)), compute
        )
    )
    return tuple(out["origin"]), np.array(out["bounds"], dtype=np.float64), out["shapes"]


def _level_shapes(
    source: str | None,
    level: str,
    key: pd.Series,
    origin: tuple[int, int],
    bng: Callable[[], gpd.GeoDataFrame],
) -> tuple[pd.Index, list[Any]]:
    """The areas (sorted keys) and packed shapes of a level dissolved from the LSOAs by
    ``key``, cached under ``source`` (:func:`shapes_key`) when given and the keys are text."""

    def compute() -> dict[str, Any]:
        geoms = dissolve(bng(), key)
        return {"index": list(geoms.index), "shapes": encode_shapes(geoms, origin)}

    values = key.to_numpy(dtype=object)
    missing = pd.isna(values)
    if source is None or not all(isinstance(v, str) for v in values[~missing]):
        out = compute()
    else:
        keys = "\0".join(np.where(missing, "\1", values).tolist())
        out = cached_json(
            "encoded-"
            + text_key(
                ENCODE_VERSION,
                DISSOLVE_VERSION,
                source,
                level,
                str(COARSE_M),
                str(SCALE),
                str(origin),
                keys,
            ),
            compute,
        )
    return pd.Index(out["index"], dtype=object), out["shapes"]


def encode_shapes(geoms: gpd.GeoSeries, origin: tuple[int, int]) -> list[list[list[str]]]:
    """Per area: polygons -> rings -> [dx, dy, dx, dy, ...] integer deltas from ``origin``
    (first point) or the previous point, packed as text (``pack_ints``). Points that quantise
    onto their predecessor are dropped (neighbours drop the same ones); rings left with under 3
    points are dropped."""
    wgs = geoms.to_crs(WGS84).values
    parts, area_of = shapely.get_parts(wgs, return_index=True)
    rings, part_of = shapely.get_rings(parts, return_index=True)
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    q = np.rint(coords * SCALE).astype(np.int64)
    last = np.r_[ring_of[1:] != ring_of[:-1], True]  # the closing point repeats the first
    first = np.r_[True, ring_of[1:] != ring_of[:-1]]
    delta = np.diff(q, axis=0, prepend=q[:1])
    delta[first] = q[first] - np.asarray(origin)
    keep = ~last & (first | (delta != 0).any(axis=1))
    q_ring = ring_of[keep]
    text, n_chars = pack_ints(delta[keep].ravel())
    sizes = np.bincount(q_ring, minlength=len(rings))
    ring_chars = np.bincount(np.repeat(q_ring, 2), weights=n_chars, minlength=len(rings)).astype(
        np.int64
    )
    ends = np.cumsum(ring_chars)
    packed = text.decode("ascii")
    out: list[list[list[str]]] = [[] for _ in range(len(wgs))]
    current: dict[int, list[str]] = {}
    is_exterior = np.r_[True, part_of[1:] != part_of[:-1]]
    for r in range(len(rings)):
        p = int(part_of[r])
        if is_exterior[r]:
            if sizes[r] < 3:
                current.pop(p, None)
                continue
            current[p] = []
            out[int(area_of[p])].append(current[p])
        if sizes[r] >= 3 and p in current:
            current[p].append(packed[ends[r] - ring_chars[r] : ends[r]])
    return out


def origin_of(shapes: gpd.GeoDataFrame) -> tuple[int, int]:
    minx, miny, _, _ = shapes.to_crs(WGS84).total_bounds
    return int(np.floor(minx * SCALE)), int(np.floor(miny * SCALE))


def _rates(individuals: pd.Series, population: pd.Series) -> pd.DataFrame:
    """Rate per 1,000 and interval as one-decimal numbers; missing where the count is."""
    r = rate_per_1000(individuals.astype(float), population)
    return r.apply(lambda s: round_half_up(s, 1))  # as format_fixed(s, 1) prints them


def _as_list(values: pd.Series, tenths: bool = False) -> list[Any]:
    """Integers (rates as whole tenths: 3.2 -> 32, shorter than 3.2 in JSON); None if missing."""
    arr = values.to_numpy(dtype=float, na_value=np.nan)
    arr = np.rint(arr * 10) if tenths else arr
    missing = np.isnan(arr)
    out = np.where(missing, 0, arr).astype(np.int64).astype(object)
    out[missing] = None
    return out.tolist()


def level_values(
    table: pd.DataFrame,
    key: str,
    codes: pd.Series,
    population: pd.Series,
    scheme: str,
    separate: bool = False,
) -> tuple[dict[str, dict[str, list[Any]]], dict[str, dict[str, list[float]]]]:
    """Every cohort's published counts, rates and class breaks (``scheme``), in the order of
    ``codes``; ``separate``: classes that never set apart areas whose intervals overlap
    (:func:`layer_breaks`)."""
    wide = table[table["cohort"].isin(COHORT_ORDER)].pivot(
        index=key, columns="cohort", values="individuals"
    )
    wide = wide.reindex(index=pd.Index(codes), columns=list(COHORT_ORDER))
    # every cohort's rates at once: the codes repeated cohort after cohort
    counts = pd.Series(wide.to_numpy(dtype=float, na_value=np.nan).ravel(order="F"))
    rates = _rates(counts, pd.Series(np.tile(population.to_numpy(), len(COHORT_ORDER))))
    values = {}
    for k, cohort in enumerate(COHORT_ORDER):
        part = slice(k * len(wide), (k + 1) * len(wide))
        n, r = counts.iloc[part], rates.iloc[part]
        values[cohort] = {
            "n": _as_list(n),
            "rate": _as_list(r["rate_per_1000"], tenths=True),
            "lo": _as_list(r["rate_lower"], tenths=True),
            "hi": _as_list(r["rate_upper"], tenths=True),
        }
    return values, layer_breaks(values, scheme, separate)


def layer_breaks(
    values: dict[str, dict[str, list[Any]]], scheme: str, separate: bool = False
) -> dict[str, dict[str, list[float]]]:
    """Each cohort's class bounds for counts and rates, from the published values only (as the
    page holds them), down to their published precision (:func:`classify.shown_breaks`).

    ``separate`` (few areas): two areas whose 95% intervals overlap are never more than one
    class apart (:func:`classify.separated_breaks`); a rate's interval is the published one, a
    count's its exact Poisson (Byar's from 10) interval, as for the rates."""
    out: dict[str, dict[str, list[float]]] = {}
    for cohort, layer in values.items():
        n = np.array([np.nan if v is None else v for v in layer["n"]], dtype=float)
        rate, lo, hi = (
            np.array([np.nan if v is None else v / 10 for v in layer[m]], dtype=float)
            for m in ("rate", "lo", "hi")
        )
        if separate:
            n_lo, n_hi = poisson_ci(np.nan_to_num(n))
            bounds = {
                "n": separated_breaks(n, n_lo, n_hi, scheme),
                "rate": separated_breaks(rate, lo, hi, scheme),
            }
        else:
            bounds = {"n": class_breaks(n, scheme), "rate": class_breaks(rate, scheme)}
        out[cohort] = {
            "n": shown_breaks(bounds["n"], 1.0),
            "rate": shown_breaks(bounds["rate"], 0.1),
        }
    return out


SEPARATED_LEVELS = ("la",)  # few areas: classes never split overlapping intervals far apart


def page_data(
    published: Published,
    geo: Geography,
    sites: pd.DataFrame,
    *,
    msoa_of: pd.DataFrame | None,
    classification: str,
    shapes: gpd.GeoDataFrame | None = None,
    siting: PublishedPlan | None = None,
    partial: dict[str, str] | None = None,
    deprivation: Deprivation | None = None,
) -> dict[str, Any]:
    """Everything the page script needs, as plain JSON-able data (``siting``: the NSP siting
    overlays, in the order of the LSOA level, when the drop has a plan). ``shapes``: LSOA
    shapes in British National Grid to draw instead of the geography's simplified ones.
    ``partial``: why each trend year is covered only in part (``atlas_years.add_years``);
    ``deprivation``: the IMD decile of each LSOA, in that order, for the context layer."""
    if shapes is None:  # the simplified LSOAs have the columns of geo.lsoas
        frame, source = geo.lsoas, shapes_key(geo)
        origin, bounds, lsoa_shapes = _lsoa_shapes(source, lambda: simplified_lsoas_wgs84(geo))
        bng: Callable[[], gpd.GeoDataFrame] = functools.partial(simplified_lsoas, geo)
    else:
        frame, source = shapes, None
        origin, bounds, lsoa_shapes = _lsoa_shapes(None, lambda: shapes.to_crs(WGS84))
        bng = lambda: shapes  # noqa: E731
    levels: list[Level] = []
    populations: dict[str, pd.Series] = {}

    def add(
        level_id: str,
        label: str,
        codes: pd.Series,
        names: pd.Series,
        packed: list[Any],
        table: pd.DataFrame,
        key: str,
        population: pd.Series,
    ) -> None:
        separate = level_id in SEPARATED_LEVELS
        values, breaks = level_values(table, key, codes, population, classification, separate)
        populations[level_id] = population
        levels.append(
            Level(
                id=level_id,
                label=label,
                codes=list(codes),
                names=list(names),
                shapes=packed,
                values=values,
                breaks=breaks,
                classes={
                    other: layer_breaks(values, other, separate)
                    for other in SCHEMES
                    if other != classification
                },
            )
        )

    add(
        "lsoa",
        "LSOA",
        frame["lsoa_code"],
        frame["lsoa_name"],
        lsoa_shapes,
        published.residence_lsoa,
        "lsoa_code",
        frame["population"],
    )
    if msoa_of is not None and published.residence_msoa is not None:
        link = msoa_of.set_index("lsoa_code")
        msoa_key = frame["lsoa_code"].map(link["msoa_code"])
        index, packed = _level_shapes(source, "msoa", msoa_key, origin, bng)
        names = link.drop_duplicates("msoa_code").set_index("msoa_code")["msoa_name"]
        pops = frame["population"].groupby(msoa_key.to_numpy()).sum(min_count=1)
        add(
            "msoa",
            "MSOA",
            index.to_series(),
            index.map(names).to_series(),
            packed,
            published.residence_msoa,
            "msoa_code",
            pops.reindex(index),
        )
    index, packed = _level_shapes(source, "la", frame["la_code"], origin, bng)
    las = geo.las.set_index("la_code").reindex(index)
    la_table = published.residence_la[published.residence_la["la_code"] != TOTAL]
    add(
        "la",
        "Local authority",
        index.to_series(),
        las["la_name"],
        packed,
        la_table,
        "la_code",
        las["population"],
    )
    minx, miny, maxx, maxy = bounds
    parents = {"lsoa": pd.Index(index).get_indexer(frame["la_code"]).tolist()}
    if msoa_of is not None and any(lv["id"] == "msoa" for lv in levels):
        msoa_la = msoa_of.drop_duplicates("msoa_code").set_index("msoa_code")["msoa_la_code"]
        msoa_codes = next(lv["codes"] for lv in levels if lv["id"] == "msoa")
        parents["msoa"] = pd.Index(index).get_indexer(msoa_la.reindex(msoa_codes)).tolist()
    context = {} if deprivation is None else {"imd": imd_layer(deprivation, frame["lsoa_code"])}
    plan: dict[str, Any] | None = None
    if siting is not None:
        plan = dict(siting_data(siting, frame["lsoa_code"], classification))
        if siting.weighted:  # the audit weights the published demand alike
            plan["weights"] = "imd"
    data = {
        **context,
        "threshold": published.threshold,
        "scale": SCALE,
        "origin": list(origin),
        "bounds": [[round(miny, 4), round(minx, 4)], [round(maxy, 4), round(maxx, 4)]],
        "scheme": SCHEMES[classification].label,
        "schemes": [[classification, SCHEMES[classification].label]]
        + [[k, v.label] for k, v in SCHEMES.items() if k != classification],
        "cohorts": [[c, COHORT_LABELS[c]] for c in COHORT_ORDER],
        "measures": [list(m) for m in MEASURES],
        "levels": levels,
        "sites": site_points(published, sites),
        "districts": postcode_districts(geo),
        "siting": plan,
    }
    add_years(data, published, populations, parents, partial or {}, level_values, classification)
    return data


def imd_layer(deprivation: Deprivation, lsoa_codes: pd.Series) -> dict[str, Any]:
    """The deprivation context layer: each LSOA's IMD decile (null: none), in the order of
    the LSOA level, with the index's name and credit. Public data, no count of anyone."""
    deciles = lsoa_codes.map(deprivation.deciles)
    return {
        "label": deprivation.label,
        "credit": deprivation.credit,
        "deciles": [None if pd.isna(d) else int(d) for d in deciles],
    }


def site_points(published: Published, sites: pd.DataFrame) -> list[dict[str, Any]]:
    """Placed sites with their published activity (individuals as protected)."""
    activity = published.site_activity.set_index("site_code")
    placed = sites[sites["lat"].notna()].sort_values("site_code")
    act = activity.reindex(placed["site_code"])
    small = f"fewer than {published.threshold}"
    people = (
        act["individuals"]
        .astype("Int64")
        .astype(str)
        .where(~act["suppressed"].astype(bool), small)
    )
    return [
        {
            "lat": round(float(lat), 5),
            "lng": round(float(lng), 5),
            "name": str(name),
            "type": str(kind),
            "services": str(services or ""),
            "visits": None if pd.isna(visits) else int(visits),  # blank: withheld
            "people": str(p),
        }
        for lat, lng, name, kind, services, visits, p in zip(
            placed["lat"],
            placed["long"],
            placed["site_name"],
            placed["site_type"],
            placed["services"].fillna(""),
            act["nsp_visits"],
            people,
        )
    ]


def postcode_districts(geo: Geography) -> list[list[Any]]:
    """Postcode districts with live postcodes in the drop's LAs, and their extent (S, W, N, E)."""
    d = geo.directory
    if "key" not in d:
        return _districts_by_text(
            d[d["live"].astype(bool) & d["la_code"].isin(set(geo.la_codes)) & d["lat"].notna()]
        )
    lat, lon = d["lat"].to_numpy(dtype=float), d["long"].to_numpy(dtype=float)
    keep = np.flatnonzero(
        d["live"].to_numpy(dtype=bool)
        & ~np.isnan(lat)
        & d["la_code"].isin(set(geo.la_codes)).to_numpy()
    )
    # a postcode key's outward code (its district) is the key over 37**3 (directory.postcode_keys)
    district = d["key"].to_numpy()[keep] // 37**3
    order = np.argsort(district, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(district[order]) != 0]) if len(order) else order
    rows = keep[order]
    box = (
        np.round(
            np.column_stack(
                [
                    np.fmin.reduceat(lat[rows], starts),
                    np.fmin.reduceat(lon[rows], starts),
                    np.fmax.reduceat(lat[rows], starts),
                    np.fmax.reduceat(lon[rows], starts),
                ]
            ),
            4,
        )
        if len(rows)
        else np.zeros((0, 4))
    )
    postcodes = pa.array(d["postcode"].iloc[rows[starts]].to_numpy(dtype=object), type=pa.string())
    names = pc.list_element(pc.split_pattern(postcodes, " ", max_splits=1), 0).to_pylist()
    by_name = sorted(range(len(names)), key=names.__getitem__)
    return [[names[k], *map(float, box[k])] for k in by_name]


def _districts_by_text(d: pd.DataFrame) -> list[list[Any]]:
    postcodes = pa.array(d["postcode"].to_numpy(dtype=object), type=pa.string())
    district = pc.list_element(pc.split_pattern(postcodes, " ", max_splits=1), 0)
    district = district.to_numpy(zero_copy_only=False)
    box = (
        d.groupby(district)
        .agg(s=("lat", "min"), w=("long", "min"), n=("lat", "max"), e=("long", "max"))
        .round(4)
    )
    return [[code, *map(float, row)] for code, row in zip(box.index, box.to_numpy())]


ON_DEMAND_ZOOM = 10  # at LSOA level, the LAs in view load from this zoom in


def chunk_name(la_code: str) -> str:
    """The drop path of an LA's LSOA script (anything but letters, digits, - and _ replaced)."""
    return "atlas/lsoa-" + re.sub(r"[^A-Za-z0-9_-]", "_", la_code) + ".js"


def split_lsoas(data: dict[str, Any], lsoa_la: pd.Series) -> dict[str, dict[str, Any]]:
    """Move the LSOA shapes out of ``data`` into one chunk per LA (``lsoa_la``: each LSOA's LA
    code, in the order of the LSOA level). The page keeps every LSOA's code, name, values and
    class breaks (search, legend and list need them) and learns where each LA's chunk is;
    returns the chunks by file path: ``{"la": code, "index": [LSOA positions], "shapes": ...}``."""
    lsoa = next(lv for lv in data["levels"] if lv["id"] == "lsoa")
    la_codes = next(lv for lv in data["levels"] if lv["id"] == "la")["codes"]
    k_of = pd.Index(la_codes).get_indexer(lsoa_la.to_numpy())
    order = np.argsort(k_of, kind="stable")
    bounds = np.searchsorted(k_of[order], np.arange(len(la_codes) + 1))
    files = [chunk_name(code) for code in la_codes]
    if len(set(files)) < len(files):
        raise ValueError("two local authority codes give the same LSOA script name")
    chunks = {}
    for k, code in enumerate(la_codes):
        index = order[bounds[k] : bounds[k + 1]].tolist()
        chunks[files[k]] = {
            "la": code,
            "index": index,
            "shapes": [lsoa["shapes"][i] for i in index],
        }
    lsoa["shapes"] = []
    data["lazy"] = {"files": files, "la_of": k_of.tolist(), "zoom": ON_DEMAND_ZOOM}
    return chunks
