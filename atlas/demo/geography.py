"""A small, deterministic and clearly FICTIONAL geography for demos and tests.

The places made here do not exist. The region lies at sea in the Irish Sea (around 53.70N,
3.80W) so that any basemap shows at once that it is not a real place; the postcode area ``ZX``
and the ONS-style codes ``E069…``, ``E019…``, ``E029…`` and ``E009…`` are not in use.

What is made, all from one seeded random generator:

* about 200 LSOAs: Voronoi cells of seeded points in British National Grid, denser in the
  town at the centre, clipped to an irregular outline, so that they tile the region with no
  gaps or overlaps;
* 4 contiguous local authorities (LAs): a town in the centre and three rural LAs around it;
* MSOAs of 4-6 contiguous LSOAs, and 4-6 output areas (codes only) per LSOA;
* a postcode directory in the ONS NSPL column layout: 12 districts ``ZX1``-``ZX12`` of which
  two straddle two LAs, ~5% terminated postcodes, and postcodes of a fifth LA (``Farholme``)
  just beyond the edge of the region for which no boundaries are shipped;
* a population per LSOA and per LA.

``python -m atlas.demo.geography boundaries/demo`` regenerates the bundled files; running it
twice gives byte-identical files.
"""

from __future__ import annotations

import argparse
import csv
import heapq
import io
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import permutations
from pathlib import Path
from typing import TypeGuard

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPoint, Polygon
from shapely.geometry.base import BaseGeometry

log = logging.getLogger(__name__)

__all__ = ["make_demo_geography"]

# --- the fixed facts of the fictional world ------------------------------------------------

CENTRE_LONLAT = (-3.80, 53.70)  # at sea in the Irish Sea
HALF_WIDTH_M = 15_000.0  # east-west extent ~30 km
HALF_HEIGHT_M = 12_500.0  # north-south extent ~25 km

# LA code -> name. None of these is (or sounds like the name of) a real English LA.
TOWN_LA = ("E06900001", "Haverlow")
RING_LAS = (  # code, name, compass bearing (degrees) the LA should lie towards
    ("E06900002", "Northmere", 0.0),
    ("E06900003", "Easterholm", 115.0),
    ("E06900004", "Southbridge-on-Fen", 235.0),
)
OUTSIDE_LA = ("E06900009", "Farholme")  # postcodes only: outside the drop
OUTSIDE_BEARINGS = (35.0, 95.0)  # Farholme lies just beyond the north-east edge

TARGET_LSOAS = 200
TOWN_SHARE = 0.23  # of the LSOAs, in the town LA at the centre
RING_SHARES = (0.37, 0.34, 0.29)  # of the rest, for the ring LAs (so LA sizes differ)
LA_SIZE_RANGE = (40, 60)
MSOA_SIZE_RANGE = (4, 6)
DISTRICTS_PER_LA = 3
STRADDLING_DISTRICTS = 2

POSTCODE_AREA = "ZX"  # no real UK postcode area; ZZ is the pseudo-postcode area
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # real inward codes never use C I K M O V
LIVE_PER_LSOA = (25, 40)
TERMINATED_SHARE = 0.05
OUTSIDE_POSTCODES = 300
OUTSIDE_LSOAS = 10
OUTSIDE_DISTRICTS = (20, 21, 22)
POSTCODE_MARGIN_M = 5.0  # postcode points lie at least this far inside their LSOA

COUNTRY_ENGLAND = "E92000001"
NSPL_COLUMNS = [
    "pcd",
    "pcd2",
    "pcds",
    "dointr",
    "doterm",
    "usertype",
    "oseast1m",
    "osnrth1m",
    "osgrdind",
    "oa11",
    "cty",
    "ced",
    "laua",
    "ward",
    "hlthau",
    "nhser",
    "ctry",
    "rgn",
    "pcon",
    "eer",
    "teclec",
    "ttwa",
    "pct",
    "itl",
    "park",
    "lsoa11",
    "msoa11",
    "wz11",
    "ccg",
    "bua11",
    "buasd11",
    "ru11ind",
    "oac11",
    "lat",
    "long",
    "lep1",
    "lep2",
    "pfa",
    "imd",
    "calncv",
    "stp",
]
LOOKUP_COLUMNS = ["OA11CD", "LSOA11CD", "LSOA11NM", "MSOA11CD", "MSOA11NM", "LAD17CD", "LAD17NM"]

_TO_WGS84 = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
_TO_BNG = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)


# --- the in-memory geography ----------------------------------------------------------------


@dataclass
class _Lsoa:
    cell: int  # index of the Voronoi cell
    geom: Polygon  # EPSG:27700
    la: int  # 0 = town, 1..3 = ring LAs
    code: str = ""
    name: str = ""
    msoa_code: str = ""
    msoa_name: str = ""
    oas: list[str] = field(default_factory=list)
    population: int = 0


@dataclass
class _Postcode:
    outward: str
    inward: str
    easting: int
    northing: int
    lsoa: str
    msoa: str
    la: str
    dointr: str
    doterm: str = ""

    @property
    def pcds(self) -> str:
        return f"{self.outward} {self.inward}"


@dataclass
class _Demo:
    la_codes: list[str]
    la_names: list[str]
    lsoas: list[_Lsoa]  # sorted by code
    lsoa_wgs84: list[Polygon]  # same order, rounded to 6 decimals
    la_wgs84: list[Polygon]  # same order as la_codes
    postcodes: list[_Postcode]  # sorted by pcds
    straddling: dict[str, list[str]]  # district -> LA codes, for districts in two LAs


# --- public API -------------------------------------------------------------------------------


def make_demo_geography(out_dir: Path, seed: int = 2017) -> dict[str, int]:
    """Write the fictional demo geography into out_dir; return counts (las, lsoas, postcodes...).

    Everything is computed in memory first, then the six files are written: ``lsoa.geojson``,
    ``la.geojson``, ``postcodes.csv``, ``population.csv``, ``lookup.csv`` and ``README.md``.
    The same seed always gives the same bytes.
    """
    demo = _build(np.random.default_rng(seed))
    counts = _counts(demo)
    files = {
        "lsoa.geojson": _lsoa_geojson(demo),
        "la.geojson": _la_geojson(demo),
        "postcodes.csv": _postcodes_csv(demo),
        "population.csv": _population_csv(demo),
        "lookup.csv": _lookup_csv(demo),
        "README.md": _readme(demo, counts, seed),
    }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out_dir / name).write_bytes(text.encode("utf-8"))
    return counts


# --- building ---------------------------------------------------------------------------------


def _build(rng: np.random.Generator) -> _Demo:
    cx, cy = _TO_BNG.transform(*CENTRE_LONLAT)
    centre = np.array([round(cx), round(cy)], dtype=float)
    outline = _outline(rng, centre)
    points = _seed_points(rng, outline, centre)
    cells = _voronoi_cells(points, outline)
    adjacency = _adjacency(cells)
    la_of_cell = _assign_las(cells, adjacency, centre)
    la_codes = [TOWN_LA[0]] + [code for code, _, _ in RING_LAS]
    la_names = [TOWN_LA[1]] + [name for _, name, _ in RING_LAS]
    lsoas = _name_lsoas(cells, adjacency, la_of_cell, la_codes, la_names)
    _add_output_areas(lsoas, rng)
    _add_population(lsoas, centre, rng)
    lsoa_wgs84 = [_to_wgs84(lsoa.geom) for lsoa in lsoas]
    la_wgs84 = [
        _dissolve([g for g, lsoa in zip(lsoa_wgs84, lsoas) if lsoa.la == i])
        for i in range(len(la_codes))
    ]
    postcodes, straddling = _postcodes(lsoas, adjacency, la_codes, rng)
    postcodes += _outside_postcodes(outline, centre, rng)
    postcodes.sort(key=lambda p: p.pcds)
    if len({p.pcds for p in postcodes}) != len(postcodes):
        raise RuntimeError("demo geography: duplicate postcodes generated")
    return _Demo(la_codes, la_names, lsoas, lsoa_wgs84, la_wgs84, postcodes, straddling)


def _outline(rng: np.random.Generator, centre: np.ndarray) -> Polygon:
    """An irregular, coast-like outline: an ellipse wobbled by a few random harmonics."""
    theta = np.linspace(0.0, 2.0 * math.pi, 360, endpoint=False)
    radius = np.ones_like(theta)
    for k in range(3, 40):
        amplitude = rng.uniform(0.3, 1.0) * (0.2 / k if k < 12 else 0.01)
        radius += amplitude * np.cos(k * theta + rng.uniform(0, 2 * math.pi))
    radius += rng.normal(0.0, 0.003, theta.size)  # a little roughness
    x = centre[0] + HALF_WIDTH_M * radius * np.cos(theta)
    y = centre[1] + HALF_HEIGHT_M * radius * np.sin(theta)
    outline = Polygon(np.round(np.column_stack([x, y])))
    if not outline.is_valid:
        raise RuntimeError("demo geography: the outline is not a valid polygon")
    return outline


def _spacing(xy: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Least distance between LSOA seed points: small in the town, large at the rural edge."""
    r = np.hypot((xy[..., 0] - centre[0]) / HALF_WIDTH_M, (xy[..., 1] - centre[1]) / HALF_HEIGHT_M)
    return 450.0 + 1900.0 * np.clip(r, 0.0, 1.2) ** 1.3


def _seed_points(rng: np.random.Generator, outline: Polygon, centre: np.ndarray) -> np.ndarray:
    """Dart throwing with a spacing that grows outwards, scaled until ~TARGET_LSOAS points."""
    minx, miny, maxx, maxy = outline.bounds
    candidates = rng.uniform((minx, miny), (maxx, maxy), size=(30_000, 2))
    candidates = candidates[
        shapely.contains_xy(outline.buffer(-150.0), candidates[:, 0], candidates[:, 1])
    ]
    spacing = _spacing(candidates, centre)
    scale, points = 1.0, np.empty((0, 2))
    for _ in range(40):
        points = _dart_throw(candidates, spacing * scale)
        if abs(len(points) - TARGET_LSOAS) <= 3:
            return np.round(points)
        scale *= math.sqrt(len(points) / TARGET_LSOAS)
    raise RuntimeError(
        f"demo geography: could not place ~{TARGET_LSOAS} LSOA seeds ({len(points)})"
    )


def _dart_throw(candidates: np.ndarray, spacing: np.ndarray) -> np.ndarray:
    accepted = np.empty((len(candidates), 2))
    n = 0
    for xy, d in zip(candidates, spacing):
        if n == 0 or np.min(np.hypot(*(accepted[:n] - xy).T)) >= d:
            accepted[n] = xy
            n += 1
    return accepted[:n]


def _voronoi_cells(points: np.ndarray, outline: Polygon) -> list[Polygon]:
    """Voronoi cells clipped to the outline, snapped to a 1 m grid; stray pieces are merged."""
    regions = shapely.voronoi_polygons(
        MultiPoint(points), extend_to=outline.buffer(5000.0), ordered=True
    )
    cells = [_snap(cell.intersection(outline)) for cell in regions.geoms]
    # A cell cut by a bay of the outline may fall in pieces: keep the piece holding its seed
    # and give every other piece to the neighbour it shares the longest border with.
    strays: list[Polygon] = []
    for i, cell in enumerate(cells):
        if cell.geom_type != "Polygon":
            parts = list(getattr(cell, "geoms", []))
            parts = [p for p in parts if p.geom_type == "Polygon"]
            keep = max(parts, key=lambda p: (p.distance(shapely.Point(points[i])) == 0, p.area))
            cells[i] = keep
            strays += [p for p in parts if p is not keep]
    for piece in strays:
        border = [piece.boundary.intersection(c.boundary).length for c in cells]
        j = int(np.argmax(border))
        cells[j] = _snap(cells[j].union(piece))
    for cell in cells:
        if cell.geom_type != "Polygon" or not cell.is_valid or cell.is_empty:
            raise RuntimeError("demo geography: a Voronoi cell is not a single valid polygon")
    return cells


def _snap(geom: BaseGeometry) -> BaseGeometry:
    """Snap to a 1 m grid, then drop the grid from the result (GEOS would keep applying it)."""
    return shapely.set_precision(shapely.set_precision(geom, 1.0), 0.0)


def _adjacency(cells: list[Polygon]) -> list[set[int]]:
    """Cells sharing a border of at least 1 m (touching at a corner does not count)."""
    tree = shapely.STRtree(cells)
    adjacency: list[set[int]] = [set() for _ in cells]
    for i, j in zip(*tree.query(cells, predicate="intersects")):
        if i < j and cells[i].boundary.intersection(cells[j].boundary).length >= 1.0:
            adjacency[i].add(int(j))
            adjacency[j].add(int(i))
    return adjacency


def _centroids(cells: list[Polygon]) -> np.ndarray:
    return np.array([[c.centroid.x, c.centroid.y] for c in cells])


def _bearing(xy: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Compass bearing in degrees (0 = north, clockwise) of points seen from the centre."""
    return np.degrees(np.arctan2(xy[..., 0] - centre[0], xy[..., 1] - centre[1])) % 360.0


def _assign_las(cells: list[Polygon], adjacency: list[set[int]], centre: np.ndarray) -> list[int]:
    """The town: cells grown outwards from the centre; the ring split into three contiguous LAs."""
    n = len(cells)
    pos = _centroids(cells)
    dist = np.hypot(*(pos - centre).T)
    n_town = round(TOWN_SHARE * n)
    start = int(np.argmin(dist))
    town, heap = {start}, [(dist[j], j) for j in adjacency[start]]
    heapq.heapify(heap)
    while len(town) < n_town:
        _, j = heapq.heappop(heap)
        if j not in town:
            town.add(j)
            for k in adjacency[j]:
                if k not in town:
                    heapq.heappush(heap, (dist[k], k))
    ring = [i for i in range(n) if i not in town]
    n_ring = len(ring)
    targets = [round(share * n_ring) for share in RING_SHARES]
    targets[0] += n_ring - sum(targets)
    bearings = _bearing(pos, centre)
    for attempt in range(24):
        seeds = []
        for _, _, bearing in RING_LAS:
            want = (bearing + 5.0 * attempt) % 360.0
            off = np.abs((bearings[ring] - want + 180.0) % 360.0 - 180.0)
            seeds.append(ring[int(np.argmin(off))])
        groups = _grow(ring, adjacency, pos, seeds, targets)
        if groups and all(LA_SIZE_RANGE[0] <= len(g) <= LA_SIZE_RANGE[1] for g in groups):
            break
    else:
        raise RuntimeError("demo geography: could not split the ring into three contiguous LAs")
    if not LA_SIZE_RANGE[0] <= n_town <= LA_SIZE_RANGE[1]:
        raise RuntimeError(f"demo geography: the town has {n_town} LSOAs")
    la_of_cell = [0] * n
    # Name each ring group after the compass direction it lies in best.
    group_bearing = [float(_bearing(pos[g].mean(axis=0), centre)) for g in groups]
    wanted = [b for _, _, b in RING_LAS]

    def misfit(order: tuple[int, ...]) -> float:
        return sum(
            abs((group_bearing[g] - wanted[k] + 180.0) % 360.0 - 180.0)
            for k, g in enumerate(order)
        )

    best = min(permutations(range(len(groups))), key=misfit)
    for k, g in enumerate(best):
        for i in groups[g]:
            la_of_cell[i] = k + 1
    return la_of_cell


def _grow(
    nodes: list[int],
    adjacency: list[set[int]],
    pos: np.ndarray,
    seeds: list[int],
    targets: list[int],
) -> list[list[int]] | None:
    """Grow contiguous groups from seeds, the group furthest below its target first.

    Each group takes the free neighbour nearest its centroid, so groups stay compact. Returns
    None when the seeds coincide or some node cannot be reached.
    """
    if len(set(seeds)) != len(seeds):
        return None
    free = set(nodes) - set(seeds)
    groups = [[s] for s in seeds]
    while free:
        frontiers = [sorted({j for i in g for j in adjacency[i] if j in free}) for g in groups]
        open_groups = [k for k, f in enumerate(frontiers) if f]
        if not open_groups:
            return None
        k = min(open_groups, key=lambda k: (len(groups[k]) / targets[k], k))
        c = pos[groups[k]].mean(axis=0)
        j = min(frontiers[k], key=lambda j: (float(np.hypot(*(pos[j] - c))), j))
        groups[k].append(j)
        free.discard(j)
    return groups


def _farthest_first(nodes: list[int], pos: np.ndarray, m: int, first: int) -> list[int]:
    seeds = [first]
    while len(seeds) < m:
        d = np.min(
            np.hypot(*(pos[nodes][:, None, :] - pos[seeds][None, :, :]).transpose(2, 0, 1)), axis=1
        )
        seeds.append(nodes[int(np.argmax(d))])
    return seeds


def _partition(
    nodes: list[int],
    adjacency: list[set[int]],
    pos: np.ndarray,
    group_counts: list[int],
    size_range: tuple[int, int],
) -> list[list[int]]:
    """Split connected nodes into contiguous groups of near-equal size within size_range.

    Tries each number of groups in turn: first balanced growth from far-apart seeds (compact
    groups), then peeling groups off the edge one at a time (never strands a node).
    """
    n = len(nodes)
    mean = pos[nodes].mean(axis=0)
    order = sorted(nodes, key=lambda i: (-float(np.hypot(*(pos[i] - mean))), i))

    def fits(groups: list[list[int]] | None) -> TypeGuard[list[list[int]]]:
        return bool(groups and all(size_range[0] <= len(g) <= size_range[1] for g in groups))

    for m in group_counts:
        targets = [n // m + (1 if k < n % m else 0) for k in range(m)]
        for first in order:
            groups = _grow(nodes, adjacency, pos, _farthest_first(nodes, pos, m, first), targets)
            if fits(groups):
                return groups
        groups = _peel(nodes, adjacency, pos, targets)
        if fits(groups):
            return groups
    raise RuntimeError(
        f"demo geography: cannot split {n} areas into {group_counts} contiguous groups"
    )


def _peel(
    nodes: list[int],
    adjacency: list[set[int]],
    pos: np.ndarray,
    targets: list[int],
) -> list[list[int]] | None:
    """Take groups off the edge one by one, keeping what is left connected where possible."""
    free = set(nodes)

    def free_neighbours(i: int) -> int:
        return sum(1 for j in adjacency[i] if j in free)

    def splits(i: int) -> bool:
        rest = sorted(free - {i})
        return bool(rest) and not _connected(rest, adjacency)

    groups = []
    for target in targets:
        if not free:
            return None
        start = min(free, key=lambda i: (splits(i), free_neighbours(i), -pos[i][1], pos[i][0], i))
        group = [start]
        free.discard(start)
        while len(group) < target:
            frontier = sorted({j for i in group for j in adjacency[i] if j in free})
            if not frontier:
                return None
            c = pos[group].mean(axis=0)
            j = min(
                frontier,
                key=lambda j: (splits(j), free_neighbours(j), float(np.hypot(*(pos[j] - c))), j),
            )
            group.append(j)
            free.discard(j)
        groups.append(group)
    return None if free else groups


def _north_to_south(groups: list[list[int]], pos: np.ndarray) -> list[list[int]]:
    """Order groups as ONS numbers areas: roughly from north to south, then west to east."""

    def key(g: list[int]) -> tuple[float, float]:
        x, y = pos[g].mean(axis=0)
        return (-round(y / 1000.0), x)

    return sorted(groups, key=key)


def _name_lsoas(
    cells: list[Polygon],
    adjacency: list[set[int]],
    la_of_cell: list[int],
    la_codes: list[str],
    la_names: list[str],
) -> list[_Lsoa]:
    """Group each LA's cells into MSOAs, then give codes and ONS-style names in that order."""
    pos = _centroids(cells)
    lsoas: list[_Lsoa] = []
    msoa_serial = 0
    for la in range(len(la_codes)):
        nodes = [i for i, a in enumerate(la_of_cell) if a == la]
        low, high = MSOA_SIZE_RANGE
        counts: Sequence[int] = range(math.ceil(len(nodes) / high), len(nodes) // low + 1)
        counts = sorted(counts, key=lambda m: (abs(len(nodes) / m - 5.0), m))
        groups = _north_to_south(_partition(nodes, adjacency, pos, counts, MSOA_SIZE_RANGE), pos)
        for number, group in enumerate(groups, start=1):
            msoa_serial += 1
            msoa_code = f"E02{900000 + msoa_serial:06d}"
            msoa_name = f"{la_names[la]} {number:03d}"
            members = sorted(group, key=lambda i: (-pos[i][1], pos[i][0]))
            for letter, i in zip("ABCDEFGH", members):
                lsoa = _Lsoa(
                    cell=i, geom=cells[i], la=la, msoa_code=msoa_code, msoa_name=msoa_name
                )
                lsoa.code = f"E01{900000 + len(lsoas) + 1:06d}"
                lsoa.name = f"{msoa_name}{letter}"
                lsoas.append(lsoa)
    return lsoas


def _add_output_areas(lsoas: list[_Lsoa], rng: np.random.Generator) -> None:
    serial = 0
    for lsoa in lsoas:
        for _ in range(int(rng.integers(4, 7))):
            serial += 1
            lsoa.oas.append(f"E00{900000 + serial:06d}")


def _add_population(lsoas: list[_Lsoa], centre: np.ndarray, rng: np.random.Generator) -> None:
    """1,000-3,000 residents per LSOA, more in the dense town centre."""
    for lsoa in lsoas:
        c = lsoa.geom.centroid
        r = math.hypot((c.x - centre[0]) / HALF_WIDTH_M, (c.y - centre[1]) / HALF_HEIGHT_M)
        mean = 1350.0 + 1100.0 * math.exp(-((r / 0.3) ** 2))
        lsoa.population = int(np.clip(round(mean + rng.normal(0.0, 180.0)), 1000, 3000))


def _to_wgs84(geom: BaseGeometry) -> BaseGeometry:
    """EPSG:27700 -> EPSG:4326, rounded to 6 decimals (~0.1 m), exterior rings anticlockwise."""

    def project(xy: np.ndarray) -> np.ndarray:
        lon, lat = _TO_WGS84.transform(xy[:, 0], xy[:, 1])
        return np.round(np.column_stack([lon, lat]), 6)

    out = shapely.orient_polygons(shapely.remove_repeated_points(shapely.transform(geom, project)))
    if not out.is_valid:
        raise RuntimeError("demo geography: a polygon became invalid when projected")
    return out


def _dissolve(polygons: list[Polygon]) -> Polygon:
    la = shapely.orient_polygons(shapely.coverage_union_all(polygons))
    if la.geom_type != "Polygon":
        raise RuntimeError("demo geography: an LA is not contiguous")
    return la


# --- postcodes --------------------------------------------------------------------------------


def _postcodes(
    lsoas: list[_Lsoa],
    adjacency: list[set[int]],
    la_codes: list[str],
    rng: np.random.Generator,
) -> tuple[list[_Postcode], dict[str, list[str]]]:
    """Districts of whole MSOAs, three per LA, two of them reaching into a neighbouring LA."""
    by_cell = {lsoa.cell: lsoa for lsoa in lsoas}
    msoa_codes = sorted({lsoa.msoa_code for lsoa in lsoas})
    msoa_index = {code: k for k, code in enumerate(msoa_codes)}
    members: list[list[_Lsoa]] = [[] for _ in msoa_codes]
    for lsoa in lsoas:
        members[msoa_index[lsoa.msoa_code]].append(lsoa)
    msoa_la = [m[0].la for m in members]
    msoa_pos = np.array(
        [np.mean([[l.geom.centroid.x, l.geom.centroid.y] for l in m], axis=0) for m in members]
    )
    msoa_adj: list[set[int]] = [set() for _ in msoa_codes]
    for lsoa in lsoas:
        for j in adjacency[lsoa.cell]:
            a, b = msoa_index[lsoa.msoa_code], msoa_index[by_cell[j].msoa_code]
            if a != b:
                msoa_adj[a].add(b)
    # Districts: contiguous groups of MSOAs inside each LA, numbered town first, north to south.
    districts: list[list[int]] = []
    for la in range(len(la_codes)):
        nodes = [k for k in range(len(msoa_codes)) if msoa_la[k] == la]
        groups = _partition(nodes, msoa_adj, msoa_pos, [DISTRICTS_PER_LA], (2, len(nodes)))
        districts += _north_to_south(groups, msoa_pos)
    district_of = {k: d for d, group in enumerate(districts) for k in group}
    district_la = [msoa_la[g[0]] for g in districts]
    # Two districts each take one bordering MSOA of another LA from a district that can spare it.
    straddling: dict[int, int] = {}  # district -> MSOA taken over
    donors: set[int] = set()
    for d in range(len(districts)):
        if len(straddling) == STRADDLING_DISTRICTS:
            break
        taken_las = {msoa_la[k] for k in straddling.values()} | {
            district_la[x] for x in straddling
        }
        for k in sorted({k for m in districts[d] for k in msoa_adj[m]}):
            donor = district_of[k]
            rest = [x for x in districts[donor] if x != k]
            if (
                msoa_la[k] != district_la[d]
                and district_la[d] not in taken_las
                and donor not in straddling
                and donor not in donors
                and d not in donors
                and len(rest) >= 2
                and _connected(rest, msoa_adj)
            ):
                straddling[d] = k
                donors.add(donor)
                break
    if len(straddling) != STRADDLING_DISTRICTS:
        raise RuntimeError("demo geography: could not make districts straddle LAs")
    for d, k in straddling.items():
        districts[district_of[k]].remove(k)
        districts[d].append(k)
    # Sectors: runs of ~3 neighbouring LSOAs along a nearest-neighbour path through the district.
    postcodes: list[_Postcode] = []
    for d, group in enumerate(districts):
        outward = f"{POSTCODE_AREA}{d + 1}"
        district_lsoas = [lsoa for k in group for lsoa in members[k]]
        path = _nearest_neighbour_path(district_lsoas)
        size = max(3, math.ceil(len(path) / 9))
        for s in range(0, len(path), size):
            sector = str(s // size + 1)
            postcodes += _sector_postcodes(outward, sector, path[s : s + size], la_codes, rng)
    straddle_names = {
        f"{POSTCODE_AREA}{d + 1}": sorted({la_codes[district_la[d]], la_codes[msoa_la[k]]})
        for d, k in straddling.items()
    }
    return postcodes, straddle_names


def _connected(nodes: list[int], adjacency: list[set[int]]) -> bool:
    seen, stack = {nodes[0]}, [nodes[0]]
    while stack:
        for j in adjacency[stack.pop()]:
            if j in nodes and j not in seen:
                seen.add(j)
                stack.append(j)
    return len(seen) == len(nodes)


def _nearest_neighbour_path(lsoas: list[_Lsoa]) -> list[_Lsoa]:
    left = sorted(lsoas, key=lambda l: l.code)
    current = max(left, key=lambda l: (l.geom.centroid.y - l.geom.centroid.x, l.code))
    path = [current]
    left.remove(current)
    while left:
        c = current.geom.centroid
        current = min(left, key=lambda l: (l.geom.centroid.distance(c), l.code))
        path.append(current)
        left.remove(current)
    return path


def _sample_points(geom: Polygon, n: int, rng: np.random.Generator) -> np.ndarray:
    """n integer-metre points at least POSTCODE_MARGIN_M inside geom."""
    inner = geom.buffer(-POSTCODE_MARGIN_M)
    minx, miny, maxx, maxy = inner.bounds
    found: list[np.ndarray] = []
    total = 0
    while total < n:
        xy = np.round(rng.uniform((minx, miny), (maxx, maxy), size=(4 * n, 2)))
        xy = xy[shapely.contains_xy(inner, xy[:, 0], xy[:, 1])]
        found.append(xy)
        total += len(xy)
    return np.concatenate(found)[:n]


def _dates(n: int, rng: np.random.Generator, terminated: bool) -> list[tuple[str, str]]:
    """(dointr, doterm) pairs: most postcodes date from the 1980 directory, as in the NSPL."""
    out = []
    for _ in range(n):
        if rng.random() < 0.7:
            start = (1980, 1)
        else:
            start = (int(rng.integers(1981, 2017)), int(rng.integers(1, 13)))
        end = ""
        if terminated:
            year = int(rng.integers(max(start[0] + 1, 1995), 2020))
            end = f"{year}{int(rng.integers(1, 13)):02d}"
        out.append((f"{start[0]}{start[1]:02d}", end))
    return out


def _unit_codes(sector: str, n: int, rng: np.random.Generator) -> list[str]:
    """n inward codes of a sector in allocation order, with the odd gap as in real sectors."""
    pairs = [a + b for a in INWARD_LETTERS for b in INWARD_LETTERS]
    if n > len(pairs):
        raise RuntimeError(f"demo geography: {n} postcodes do not fit in one sector")
    max_skip = min(2, (len(pairs) - n) // max(n, 1))
    codes, i = [], 0
    for _ in range(n):
        codes.append(sector + pairs[i])
        i += 1 + int(rng.integers(0, max_skip + 1))
    return codes


def _sector_postcodes(
    outward: str,
    sector: str,
    lsoas: list[_Lsoa],
    la_codes: list[str],
    rng: np.random.Generator,
) -> list[_Postcode]:
    units: list[tuple[float, int, int, _Lsoa, bool]] = []
    for lsoa in lsoas:
        n_live = int(rng.integers(LIVE_PER_LSOA[0], LIVE_PER_LSOA[1] + 1))
        n_term = int(rng.binomial(n_live, TERMINATED_SHARE))
        xy = _sample_points(lsoa.geom, n_live + n_term, rng)
        flags = [False] * n_live + [True] * n_term
        for (x, y), term in zip(xy, rng.permutation(flags)):
            units.append((-y, int(x), int(y), lsoa, bool(term)))
    units.sort(key=lambda u: (u[0], u[1]))  # allocated north to south
    codes = _unit_codes(sector, len(units), rng)
    out = []
    for (_, x, y, lsoa, term), inward in zip(units, codes):
        dointr, doterm = _dates(1, rng, term)[0]
        out.append(
            _Postcode(
                outward, inward, x, y, lsoa.code, lsoa.msoa_code, la_codes[lsoa.la], dointr, doterm
            )
        )
    return out


def _outside_postcodes(
    outline: Polygon, centre: np.ndarray, rng: np.random.Generator
) -> list[_Postcode]:
    """Farholme: postcodes in a band just beyond the region's edge, with no boundaries shipped."""
    band = outline.buffer(3500.0).difference(outline.buffer(300.0))
    lo, hi = OUTSIDE_BEARINGS
    reach = 3.0 * max(HALF_WIDTH_M, HALF_HEIGHT_M)
    fan = [centre.tolist()] + [
        [
            centre[0] + reach * math.sin(math.radians(b)),
            centre[1] + reach * math.cos(math.radians(b)),
        ]
        for b in np.linspace(lo, hi, 16)
    ]
    area = band.intersection(Polygon(fan))
    xy = _sample_points(area, OUTSIDE_POSTCODES, rng)
    xy = xy[np.lexsort((xy[:, 1], xy[:, 0], _bearing(xy, centre)))]  # in bearing order
    per_lsoa = math.ceil(OUTSIDE_POSTCODES / OUTSIDE_LSOAS)
    per_district = math.ceil(OUTSIDE_POSTCODES / len(OUTSIDE_DISTRICTS))
    out = []
    for start in range(0, OUTSIDE_POSTCODES, per_lsoa):
        chunk = xy[start : start + per_lsoa]
        number = start // per_lsoa + 1
        lsoa = f"E01{909000 + number:06d}"
        msoa = f"E02{909000 + (number - 1) // 5 + 1:06d}"
        district = OUTSIDE_DISTRICTS[start // per_district]
        sector = str((start % per_district) // per_lsoa + 1)
        chunk = chunk[np.lexsort((chunk[:, 0], -chunk[:, 1]))]
        codes = _unit_codes(sector, len(chunk), rng)
        for (x, y), inward in zip(chunk, codes):
            dointr, _ = _dates(1, rng, False)[0]
            outward = f"{POSTCODE_AREA}{district}"
            out.append(
                _Postcode(outward, inward, int(x), int(y), lsoa, msoa, OUTSIDE_LA[0], dointr)
            )
    return out


# --- writing ----------------------------------------------------------------------------------


def _feature_collection(features: list[tuple[dict[str, str], Polygon]]) -> str:
    """GeoJSON (RFC 7946, WGS84) with one feature per line, written the same way every time."""
    lines = []
    for properties, polygon in features:
        rings = [polygon.exterior, *polygon.interiors]
        coordinates = [[[float(x), float(y)] for x, y in ring.coords] for ring in rings]
        feature = {
            "type": "Feature",
            "properties": properties,
            "geometry": {"type": "Polygon", "coordinates": coordinates},
        }
        lines.append(json.dumps(feature, separators=(",", ":"), ensure_ascii=False))
    return '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"


def _lsoa_geojson(demo: _Demo) -> str:
    return _feature_collection(
        [
            ({"LSOA11CD": l.code, "LSOA11NM": l.name}, g)
            for l, g in zip(demo.lsoas, demo.lsoa_wgs84)
        ]
    )


def _la_geojson(demo: _Demo) -> str:
    return _feature_collection(
        [
            ({"LAD11CD": c, "LAD11NM": n}, g)
            for c, n, g in zip(demo.la_codes, demo.la_names, demo.la_wgs84)
        ]
    )


def _csv(header: list[str], rows: Sequence[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _postcodes_csv(demo: _Demo) -> str:
    rows = []
    for p in demo.postcodes:
        lon, lat = _TO_WGS84.transform(p.easting, p.northing)
        values = {
            "pcd": p.outward.ljust(4) + p.inward,
            "pcd2": p.outward.ljust(4) + " " + p.inward,
            "pcds": p.pcds,
            "dointr": p.dointr,
            "doterm": p.doterm,
            "usertype": 0,
            "oseast1m": p.easting,
            "osnrth1m": p.northing,
            "osgrdind": 1,
            "laua": p.la,
            "ctry": COUNTRY_ENGLAND,
            "lsoa11": p.lsoa,
            "msoa11": p.msoa,
            "lat": f"{lat:.6f}",
            "long": f"{lon:.6f}",
        }
        rows.append([values.get(column, "") for column in NSPL_COLUMNS])
    return _csv(NSPL_COLUMNS, rows)


def _population_csv(demo: _Demo) -> str:
    rows: list[list[object]] = [[l.code, l.population] for l in demo.lsoas]
    for la, code in enumerate(demo.la_codes):
        rows.append([code, sum(l.population for l in demo.lsoas if l.la == la)])
    return _csv(["area_code", "population"], rows)


def _lookup_csv(demo: _Demo) -> str:
    rows = [
        [oa, l.code, l.name, l.msoa_code, l.msoa_name, demo.la_codes[l.la], demo.la_names[l.la]]
        for l in demo.lsoas
        for oa in l.oas
    ]
    return _csv(LOOKUP_COLUMNS, sorted(rows))


def _counts(demo: _Demo) -> dict[str, int]:
    inside = [p for p in demo.postcodes if p.la != OUTSIDE_LA[0]]
    counts = {
        "las": len(demo.la_codes),
        "lsoas": len(demo.lsoas),
        "msoas": len({l.msoa_code for l in demo.lsoas}),
        "oas": sum(len(l.oas) for l in demo.lsoas),
        "postcodes": len(demo.postcodes),
        "postcodes_live": sum(1 for p in inside if not p.doterm),
        "postcodes_terminated": sum(1 for p in inside if p.doterm),
        "postcodes_outside": len(demo.postcodes) - len(inside),
        "districts": len({p.outward for p in demo.postcodes}),
        "population": sum(l.population for l in demo.lsoas),
    }
    for la, code in enumerate(demo.la_codes):
        counts[f"lsoas_{code}"] = sum(1 for l in demo.lsoas if l.la == la)
    return counts


def _readme(demo: _Demo, counts: dict[str, int], seed: int) -> str:
    la_lines = "\n".join(
        f"| `{code}` | {name} | {counts[f'lsoas_{code}']} |"
        for code, name in zip(demo.la_codes, demo.la_names)
    )
    straddle = " and ".join(f"`{d}` ({' and '.join(las)})" for d, las in demo.straddling.items())
    return f"""# Demo geography — FICTIONAL

Everything in this folder is **invented**. The places, names, boundaries, postcodes and
population figures describe no real place and no real people. The region is drawn at sea in
the Irish Sea (around 53.70N, 3.80W) so that any basemap shows at once that it is not real.
The codes do not exist in any ONS product: the postcode area `ZX` is not a UK postcode area,
and the area codes `E069…` (LAs), `E019…` (LSOAs), `E029…` (MSOAs) and `E009…` (output areas)
are not in use.

The files are made by

    python -m atlas.demo.geography boundaries/demo

from `atlas/demo/geography.py`, seeded (seed {seed}) and deterministic: running it again gives
byte-identical files. Do not edit them by hand; change the generator and rerun it.

## Local authorities

| code | name | LSOAs |
|---|---|---|
{la_lines}

`{OUTSIDE_LA[0]}` {OUTSIDE_LA[1]} is a fifth LA just beyond the north-east edge of the
region. It has postcodes in `postcodes.csv` (districts `ZX20`–`ZX22`) but no boundaries or
population here: a drop built from these files treats it as outside the area.

## Files

- `lsoa.geojson` — {counts["lsoas"]} LSOAs, one Polygon each, WGS84 (EPSG:4326), coordinates to 6
  decimals; properties `LSOA11CD`, `LSOA11NM` as in the ONS files. Names are `<LA name> 001A`:
  the LA name, a space, the 3-digit MSOA number and a letter. The LSOAs are Voronoi cells,
  small in the town of {demo.la_names[0]} at the centre and large at the rural edge; they tile
  the region with no gaps or overlaps.
- `la.geojson` — the {counts["las"]} LAs dissolved from the LSOAs; properties `LAD11CD`, `LAD11NM`.
- `postcodes.csv` — a postcode directory in the ONS NSPL column layout (41 columns, header
  as in the NSPL). Filled: `pcd` (7 characters: outward code left-justified in 4, then the
  inward code), `pcd2` (8 characters), `pcds` (standard form), `dointr` (YYYYMM), `doterm`
  (YYYYMM if terminated, else blank), `usertype` 0, `oseast1m`/`osnrth1m` (British National
  Grid metres), `osgrdind` 1, `laua`, `ctry` (`{COUNTRY_ENGLAND}`), `lsoa11`, `msoa11`, `lat`,
  `long` (WGS84, 6 decimals). The other columns are empty. Rows are sorted by `pcds`.
  - {counts["postcodes_live"]} live and {counts["postcodes_terminated"]} terminated postcodes lie
    inside the LSOAs, each point inside the LSOA given in `lsoa11`;
  - {counts["postcodes_outside"]} postcodes are in {OUTSIDE_LA[1]} (`{OUTSIDE_LA[0]}`), outside the region;
  - districts `ZX1`–`ZX12` each lie in one LA, except {straddle}, which straddle two LAs,
    so a partial postcode such as `{next(iter(demo.straddling))}` gives no single LA;
    sectors (such as `ZX5 3`) mostly lie in one LA.
- `population.csv` — `area_code,population`: one row per LSOA (sorted by code), then one per LA
  (the sum of its LSOAs). Total {counts["population"]:,}.
- `lookup.csv` — an ONS-style OA11 to LSOA11 to MSOA11 to LAD17 lookup with the columns
  `{",".join(LOOKUP_COLUMNS)}`: {counts["oas"]} output areas (codes
  only: no boundaries), 4–6 per LSOA, in {counts["msoas"]} MSOAs of 4–6 neighbouring LSOAs
  (names `<LA name> 001`).
- `README.md` — this file.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m atlas.demo.geography",
        description="Write the fictional demo geography (boundaries, postcodes, population).",
    )
    parser.add_argument("out_dir", type=Path, help="folder to write into, e.g. boundaries/demo")
    parser.add_argument("--seed", type=int, default=2017, help="random seed (default 2017)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    counts = make_demo_geography(args.out_dir, seed=args.seed)
    log.info("wrote the fictional demo geography to %s: %s", args.out_dir, counts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
