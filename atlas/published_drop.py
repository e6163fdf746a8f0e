"""A written drop read back for analysts: its tables as DataFrames, its areas and sites as
GeoDataFrames, its ledger, manifest and rejects (``atlas.open_drop``).

Everything comes from the drop's own files, never from the extract or the geography it was
built from: the CSV tables, ``tables/residence_lsoa.geojson`` (the LSOA shapes) and the page
data embedded in ``atlas.html`` (the MSOA and LA shapes, every level's rates, the site points),
decoded as the page script (``atlas.js``) decodes it.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import DropError
from .render.ring_text import ALPHABET as RING_ALPHABET
from .render.ring_text import ring_ints

if TYPE_CHECKING:
    import folium

WGS84 = "EPSG:4326"
TABLE_FOLDERS = ("tables", "reports/csv")
LEVELS = ("lsoa", "msoa", "la")
MEASURES = {"individuals": "n", "rate": "rate"}  # explore()'s names -> the page's
# columns that hold text whatever they look like (a code of digits stays a code)
TEXT_COLUMNS = {"category", "cohort", "dimension", "file", "period", "reason", "to_fix", "unit"}
TEXT_SUFFIXES = ("code", "name", "_type", "_label", "services")
_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")
ALPHABET = RING_ALPHABET.decode("ascii")  # the page's ring alphabet, as text
_PAGE_DATA = re.compile(
    r'<script type="application/json" id="atlas-data">(.*?)</script>', re.DOTALL
)


def read_table(path: Path) -> pd.DataFrame:
    """A published CSV with sensible dtypes: ``true``/``false`` as bool, whole numbers as
    nullable Int64, other numbers as Float64, codes, names and other text as strings; empty
    cells (suppressed or not applicable) as <NA>."""
    try:
        with warnings.catch_warnings():  # a row of another width: an error, not a warning
            warnings.simplefilter("error", pd.errors.ParserWarning)
            raw = pd.read_csv(
                io.BytesIO(path.read_bytes()),
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                index_col=False,
            )
    except FileNotFoundError:
        raise DropError(f"{path}: missing from the drop") from None
    except (ValueError, pd.errors.ParserWarning) as exc:  # pandas' errors, decoding included
        raise DropError(f"{path}: not a readable CSV table: {_problem(path, exc)}") from None
    return pd.DataFrame({name: _typed(name, raw[name]) for name in raw.columns})


def _problem(path: Path, exc: Exception) -> str:
    """The first line of a table with a wrong number of fields, else pandas' message."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = csv.reader(fh)
            width = len(next(rows, []))
            for row in rows:
                if len(row) != width:
                    return f"line {rows.line_num}: {len(row)} fields where the header has {width}"
    except (csv.Error, UnicodeDecodeError) as err:
        return " ".join(str(err).split())
    return " ".join(str(exc).split())


def _typed(name: str, text: pd.Series) -> pd.Series:
    present = text.dropna()
    if name in TEXT_COLUMNS or name.endswith(TEXT_SUFFIXES):
        return text.astype("string")
    if len(present) and present.isin(["true", "false"]).all():
        flags = text.map({"true": True, "false": False})
        return flags.astype(bool) if len(present) == len(text) else flags.astype("boolean")
    if present.str.fullmatch(_INTEGER).all():
        return pd.to_numeric(text).astype("Int64")  # every cell empty: Int64 too
    if present.str.fullmatch(_NUMBER).all():
        return pd.to_numeric(text).astype("Float64")
    return text.astype("string")


def page_data(path: Path) -> dict[str, Any]:
    """The data embedded in a drop's ``atlas.html`` (``atlas_data.page_data``, as published)."""
    page = path / "atlas.html"
    if not page.is_file():
        raise DropError(f"{path}: not a drop folder (no atlas.html)")
    found = _PAGE_DATA.search(page.read_text(encoding="utf-8", errors="replace"))
    if found is None:
        raise DropError(f'{page}: holds no atlas data (no <script id="atlas-data">)')
    try:
        return json.loads(found.group(1))
    except ValueError as exc:
        raise DropError(f"{page}: the atlas data is not valid JSON: {exc}") from None


def decode_shapes(shapes: list[Any], origin: list[int], scale: int) -> list[Any]:
    """Shapely (multi)polygons in WGS84 from the page's packed shapes (``encode_shapes``):
    per area, polygons of rings, each ring integer deltas from ``origin`` then from the
    previous point, in ``1 / scale`` degrees. An area with no ring left is None."""
    out: list[Any] = []
    for area in shapes:
        polygons = []
        for rings in area:
            coords = []
            for text in rings:
                xy = ring_ints(text).reshape(-1, 2)
                coords.append((np.cumsum(xy, axis=0) + np.asarray(origin)) / scale)
            polygons.append(shapely.Polygon(coords[0], coords[1:]))
        out.append(
            None
            if not polygons
            else polygons[0]
            if len(polygons) == 1
            else shapely.MultiPolygon(polygons)
        )
    return out


@dataclass(eq=False)
class Drop:
    """A published drop, read back from its files (see :func:`open_drop`).

    ``tables``: every CSV of ``tables/`` and ``reports/csv/`` by file name without ``.csv``;
    ``areas``: GeoDataFrames by level (``"lsoa"``, ``"msoa"`` when the drop has MSOAs,
    ``"la"``), read on first use; ``sites``: the sites on the map with their published
    activity; ``ledger``, ``manifest``: the JSON files; ``rejects``: ``rejects.csv``."""

    path: Path
    tables: dict[str, pd.DataFrame]
    ledger: dict[str, Any]
    manifest: dict[str, Any]
    rejects: pd.DataFrame
    page: dict[str, Any] = field(repr=False)

    def __repr__(self) -> str:
        return f"<Drop {self.path}: {len(self.tables)} tables, levels {', '.join(self.areas)}>"

    @functools.cached_property
    def areas(self) -> Mapping[str, gpd.GeoDataFrame]:
        """The published areas by level, each read when first asked for."""
        return _Areas(self)

    @functools.cached_property
    def sites(self) -> gpd.GeoDataFrame:
        """The sites placed on the atlas (points in WGS84) with their row of
        ``site_activity`` and the services the page lists."""
        return _sites(self.page, self.tables["site_activity"])

    @property
    def cohorts(self) -> dict[str, str]:
        """The drop's cohorts and their labels, in the drop's order (not the page's other
        layers, such as the deaths of a drop with ``[linkage]``: the report has them)."""
        return {code: label for code, label in self.page["cohorts"] if ":" not in code}

    @property
    def classification(self) -> str:
        """The class-break scheme named in the drop's recipe (its default when unnamed)."""
        from .recipe import Recipe

        content = self.manifest.get("recipe", {}).get("content", {})
        return str(content.get("atlas", {}).get("classification", Recipe.classification))

    def measures(self) -> dict[str, list[str]]:
        """For each level, the measures :meth:`explore` can map there."""
        out = {}
        for level in self.page["levels"]:
            values = level["values"].values()
            rate = any(v is not None for c in values for v in c["rate"])
            out[level["id"]] = ["individuals", "rate"] if rate else ["individuals"]
        return out

    def explore(
        self,
        cohort: str = "all",
        measure: str = "rate",
        level: str = "lsoa",
        *,
        tiles: str | None = "OpenStreetMap",
        sites: bool = True,
    ) -> folium.Map:
        """An interactive map of one published layer for a notebook, as the atlas draws it:
        the drop's classes and colours, suppressed areas greyed, tooltips, a legend and the
        sites. ``measure``: ``"individuals"`` or ``"rate"`` (per 1,000 residents)."""
        from .drop_map import explore_layer

        self._check_layer(cohort, measure, level)
        return explore_layer(
            self.areas[level],
            self.sites if sites else None,
            cohort=cohort,
            cohort_label=self.cohorts[cohort],
            measure=measure,
            level=level,
            classification=self.classification,
            threshold=int(self.page["threshold"]),
            tiles=tiles,
        )

    def _check_layer(self, cohort: str, measure: str, level: str) -> None:
        """One clear line for a cohort, measure or level the drop does not publish."""
        if cohort not in self.cohorts:
            raise DropError(f"unknown cohort {cohort!r}: the drop has {', '.join(self.cohorts)}")
        published = self.measures()
        if level not in published:
            raise DropError(f"unknown level {level!r}: the drop has {', '.join(published)}")
        if measure not in MEASURES:
            raise DropError(f"unknown measure {measure!r}: choose {' or '.join(MEASURES)}")
        if measure not in published[level]:
            combos = "; ".join(f"{lv}: {', '.join(ms)}" for lv, ms in published.items())
            raise DropError(f"the drop publishes no {measure} by {level}; it has {combos}")


def open_drop(path: str | Path) -> Drop:
    """Read the drop written to ``path`` (``ims-atlas build``'s output folder)."""
    path = Path(path)
    if not path.is_dir():
        raise DropError(f"{path}: no such drop folder")
    page = page_data(path)
    tables: dict[str, pd.DataFrame] = {}
    for folder in TABLE_FOLDERS:
        for table in sorted((path / folder).glob("*.csv")):
            if table.stem in tables:
                raise DropError(f"{table}: a second table named {table.stem!r}")
            tables[table.stem] = read_table(table)
    for name in ("residence_lsoa_cohorts", "residence_la_cohorts", "site_activity"):
        if name not in tables:
            raise DropError(f"{path}: not a drop folder (no tables/{name}.csv)")
    return Drop(
        path=path,
        tables=tables,
        ledger=_json(path / "ledger.json"),
        manifest=_json(path / "manifest.json"),
        rejects=read_table(path / "rejects.csv"),
        page=page,
    )


def _json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DropError(f"{path}: missing from the drop") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise DropError(f"{path}: not valid JSON ({exc})") from None


class _Areas(Mapping[str, gpd.GeoDataFrame]):
    """The drop's levels, each built on first access and kept."""

    def __init__(self, drop: Drop):
        self._drop = drop
        self._levels = [lv["id"] for lv in drop.page["levels"]]
        self._built: dict[str, gpd.GeoDataFrame] = {}

    def __getitem__(self, level: str) -> gpd.GeoDataFrame:
        if level not in self._levels:
            raise KeyError(level)
        if level not in self._built:
            self._built[level] = _areas(self._drop, level)
        return self._built[level].copy()

    def __iter__(self) -> Iterator[str]:
        return iter(self._levels)

    def __len__(self) -> int:
        return len(self._levels)


# a level's key columns, in the order of its cohort table
KEYS = {
    "lsoa": ["lsoa_code", "lsoa_name", "la_code"],
    "msoa": ["msoa_code", "msoa_name", "la_code"],
    "la": ["la_code", "la_name"],
}


def _areas(drop: Drop, level: str) -> gpd.GeoDataFrame:
    """One row per published area of ``level``: its codes and name, then per cohort the
    published individuals (<NA> where suppressed), whether suppressed, and the rate per 1,000
    with its 95% interval as the atlas publishes them; shapes in WGS84."""
    page = next(lv for lv in drop.page["levels"] if lv["id"] == level)
    code = KEYS[level][0]
    table = drop.tables[f"residence_{level}_cohorts"]
    table = table[table[code].isin(page["codes"])]  # not the residence LA table's total row
    keys = table[KEYS[level]].drop_duplicates(code).set_index(code)
    codes = pd.Index(page["codes"], dtype="string", name=code)
    out = keys.reindex(codes).reset_index()
    for cohort in drop.cohorts:
        rows = table[table["cohort"] == cohort].set_index(code).reindex(codes)
        rates = page["values"][cohort]
        out[f"individuals_{cohort}"] = rows["individuals"].array
        out[f"suppressed_{cohort}"] = rows["suppressed"].array
        for column, key in (("rate_per_1000", "rate"), ("rate_lower", "lo"), ("rate_upper", "hi")):
            tenths = pd.Series(rates[key], dtype="Float64")  # rates travel as whole tenths
            out[f"{column}_{cohort}"] = (tenths / 10).round(1).array
    if level == "lsoa":
        shapes = gpd.read_file(drop.path / "tables" / "residence_lsoa.geojson")
        geometry = shapes.set_index(shapes["lsoa_code"].astype(str))["geometry"]
        geometry = geometry.reindex(codes.astype(str)).to_numpy()
    else:
        geometry = decode_shapes(page["shapes"], drop.page["origin"], drop.page["scale"])
    return gpd.GeoDataFrame(out, geometry=list(geometry), crs=WGS84)


def _sites(page: dict[str, Any], activity: pd.DataFrame) -> gpd.GeoDataFrame:
    """The page's site points joined, in order, to their rows of ``site_activity``.

    The page lists the placed sites in order of site code without the code itself; each point
    is the next site of the table, in that order, with its name, type and NSP visits."""
    table = activity.sort_values("site_code", key=lambda s: s.astype(str)).reset_index(drop=True)
    rows, services = [], []
    k = 0
    for point in page["sites"]:
        while k < len(table) and not _same_site(table.iloc[k], point):
            k += 1
        if k == len(table):
            raise DropError(
                f"atlas.html: site {point['name']!r} is not in tables/site_activity.csv"
            )
        rows.append(k)
        services.append(point["services"])
        k += 1
    out = table.iloc[rows].reset_index(drop=True)
    out["services"] = pd.array(services, dtype="string")
    points = shapely.points([p["lng"] for p in page["sites"]], [p["lat"] for p in page["sites"]])
    return gpd.GeoDataFrame(out, geometry=list(points), crs=WGS84)


def _same_site(row: pd.Series, point: dict[str, Any]) -> bool:
    visits = row["nsp_visits"]
    return (
        # the CSV guards a name that starts like a spreadsheet formula with a quote
        row["site_name"] in (point["name"], "'" + point["name"])
        and row["site_type"] == point["type"]
        and (None if pd.isna(visits) else int(visits)) == point["visits"]
    )
