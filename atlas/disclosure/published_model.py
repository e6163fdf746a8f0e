"""The model of what a drop publishes, rebuilt from its files alone (issue 13, point 7).

Beside the four spec tables (read by :mod:`.audit`), a drop shows counts of individuals in the
MSOA table, the report CSVs, the ledger, the LSOA GeoJSON and the atlas page. Each is read back
here as *cells* named as ``counting.report_counts`` and ``suppress._register`` name them, with
the groups, activity bounds, "at most" pairs and floors the build declared, so that the audit
attacks them together (the whole model at once); and every place a cell is shown becomes a
*reading* (cell, text as published, place), so that two places showing one cell must agree.

A number about individuals that the model does not know (a property, key or figure with no
cell behind it) is a *problem*, named by file and place. Figures that are functions of cells
(shares, rates per person, percentages) are recomputed from the cells and compared.
"""

from __future__ import annotations

import csv
import functools
import html
import io
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..counting.cohort_description import (
    DESCRIPTION_COLUMNS,
    ELSEWHERE,
    KINDS,
    cact_id,
    cohort_activity_relations,
    describe,
)
from ..counting.deprivation import NAME as DEPRIVATION
from ..counting.deprivation import deprivation_groups, imd_id, imd_weights
from ..counting.individuals import ALL, COHORT_ORDER, COHORTS
from ..counting.inequality import (
    RATE_COLUMNS,
    SII_COLUMNS,
    SII_PLACES,
    decile_table,
    sii_table,
)
from ..counting.periods import parse_period
from ..counting.rates import half_up
from ..counting.report_counts import (
    BOUNDED,
    FREE_TEXT,
    QUARTERS,
    ActivityBound,
    CellSet,
    activity_id,
    activity_relations,
    seen_id,
    svc_id,
)
from ..counting.tally import TOTAL
from ..counting.wellbeing import MEANS as WB_MEANS
from ..counting.wellbeing import MEASURES as WB_MEASURES
from ..counting.wellbeing import wb_id, wellbeing_relations
from ..linkage.deaths import MEASURES as DEATH_MEASURES
from ..linkage.deaths import death_id
from ..linkage.treatment import MEASURES as TREATMENT_MEASURES
from ..linkage.treatment import only_id, treat_id
from .page_years import read_years

REPORT_CSV = "reports/csv/"
LSOA_GEOJSON = "tables/residence_lsoa.geojson"
MSOA_TABLE = "tables/residence_msoa_cohorts.csv"
ATLAS_PAGE = "atlas.html"
IMD_DECILES, IMD_SII = "monitoring_imd.csv", "monitoring_imd_sii.csv"  # ([geography] imd)
_PAGE_DATA = re.compile(
    r'<script type="application/json" id="atlas-data">(.*?)</script>', re.DOTALL
)
_CHUNK = re.compile(r"^atlasLsoas\((.*)\);\n?$", re.DOTALL)
_PROPERTIES = re.compile(r'"properties":\s*(\{[^{}]*\})')
_FEATURE = re.compile(r'"type":\s*"Feature"(?!Collection)')
_NUMBER_TOKEN = re.compile(r"\d[\d,]*(?:\.\d+)?%?")
RATES = ("rate_per_1000", "rate_lower", "rate_upper")
LEVEL_PREFIX = {"lsoa": "lsoa", "msoa": "msoa", "la": "la"}
PAGE_MEASURES = {"n", "rate", "lo", "hi"}
# what the page data holds (``render.atlas_data.page_data``): anything else is unknown
PAGE_KEYS = {
    "threshold",
    "scale",
    "origin",
    "bounds",
    "scheme",
    "cohorts",
    "measures",
    "levels",
    "sites",
    "districts",
    "siting",
    "lazy",
    "schemes",
    "postcodes",
    "years",
    "imd",  # the deprivation context layer: each LSOA's IMD decile (public, no count)
}
LEVEL_KEYS = {"id", "label", "codes", "names", "shapes", "values", "breaks", "classes"}
LEVEL_KEYS |= {"pop", "la", "time", "tbreaks"}  # the years (``page_years``)
# the atlas's postcode index (``render.postcode_index``): the directory's postcodes, no cell
POSTCODE_INDEX = re.compile(r"^atlas/postcodes-([A-Z]{1,2})\.js$")
_POSTCODE_CALL = re.compile(r"^atlasPostcodes\((.*)\);\n?$", re.DOTALL)
_DISTRICT = re.compile(r"^[A-Z]{1,2}[0-9][0-9A-Z]?$")
_INWARDS = re.compile(r"^(?:[0-9][A-Z]{2})*$")


@dataclass
class Reading:
    """One place a cell is shown: its id, the text published there ("" when withheld)."""

    cell: str
    text: str
    place: str


@dataclass
class Derived:
    """A published figure that is a function of two cells: ``share`` (100 a / b) or ``per``
    (a / b), to ``places`` decimals, withheld (blank) where either cell is or b is 0."""

    place: str
    column: str
    text: str
    kind: str
    a: str
    b: str
    places: int = 1
    least: int = 0  # withheld where b is under this (a mean over too few people)


@dataclass
class FileModel:
    """The cells, relations and readings of the files beyond the spec tables."""

    sets: list[CellSet] = field(default_factory=list)
    readings: list[Reading] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    derived: list[Derived] = field(default_factory=list)
    period: str = ""  # the drop's financial year, as the cohort summary gives it
    lsoa_deciles: dict[str, int] | None = None  # the atlas's IMD decile per LSOA (imd layer)


class _Files:
    """The drop's files (path -> bytes), read as tables on demand."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self._lines: dict[str, tuple[bytes, set[bytes]]] = {}
        self._numbers: dict[str, set[str]] = {}
        self._every_number: set[str] | None = None
        # a report table's verdict (cells, unpublished numbers) by its sources and HTML
        self.checked: dict[tuple[tuple[str, ...] | None, str], tuple[int, list]] = {}
        self.cohort_totals: dict[str, dict[str, object]] | None = None  # _cohort_totals

    def lines(self, path: str) -> tuple[bytes, set[bytes]]:
        """A CSV file's header line and the set of its other lines (read once: an area file
        is compared with every LA pack's)."""
        if path not in self._lines:
            head, _, body = self.files[path].partition(b"\n")
            self._lines[path] = (head, set(body.split(b"\n")) - {b""})
        return self._lines[path]

    def numbers(self, path: str) -> set[str]:
        """Every number a CSV file publishes (:func:`_numbers`; nothing when there is no such
        file), read once: an area file is checked against every report page and LA pack."""
        if path not in self._numbers:
            self._numbers[path] = _numbers(self.files.get(path, b""))
        return self._numbers[path]

    def every_number(self) -> set[str]:
        """Every number any CSV file of the drop publishes, gathered once: a report table
        not drawn from named files may show any of them (``HTML_SOURCES``)."""
        if self._every_number is None:
            self._every_number = set().union(
                *(self.numbers(p) for p in self.files if p.endswith(".csv"))
            )
        return self._every_number

    def has(self, path: str) -> bool:
        return path in self.files

    def csv(self, path: str) -> pd.DataFrame:
        return pd.read_csv(
            io.BytesIO(self.files[path]), dtype=str, keep_default_na=False, encoding="utf-8"
        )


def _place(path: str, index: int) -> str:
    return f"{path} line {index + 2}"


def read_model(files: dict[str, bytes], threshold: int) -> FileModel:
    """Every count of individuals the drop's files show beyond the four spec tables (and the
    activity of the reports), as cells, relations and readings. A file that cannot be read as
    the drop writes it is a problem naming it."""
    f = _Files(files)
    model = FileModel()
    if not f.has("tables/site_activity.csv"):
        return model
    sites = f.csv("tables/site_activity.csv")
    la_of = dict(zip(sites["site_code"], sites["la_code"]))
    svc = (
        f.csv("tables/service_la_cohorts.csv") if f.has("tables/service_la_cohorts.csv") else None
    )
    las = [] if svc is None else sorted(set(svc["la_code"]) - {TOTAL})
    readers: list[tuple[str, Callable[[], None]]] = [
        (REPORT_CSV + name, functools.partial(reader, f, REPORT_CSV + name, model))
        for name, reader in (
            ("monitoring_cohort_summary.csv", _cohort_summary),
            ("data_quality_la_individuals.csv", _la_quarters),
            ("monitoring_la_activity.csv", _la_activity),
            ("data_quality_site_individuals.csv", _site_quarters),
            ("data_quality_activity.csv", _activity_figures),
            ("data_quality_assessments.csv", _assessed),
            ("data_quality_reassessment.csv", _reassessed),
            ("monitoring_trend.csv", _trend),
            ("monitoring_trend_la.csv", _trend_la),
            ("monitoring_trend_activity.csv", _trend_activity),
            ("monitoring_treatment_match.csv", _treatment_match),
            ("monitoring_treatment_only.csv", _treatment_only),
            ("monitoring_deaths.csv", _deaths),
        )
    ]
    readers += [
        (
            REPORT_CSV + "monitoring_profiles.csv",
            lambda: _profiles(f.csv(REPORT_CSV + "monitoring_profiles.csv"), threshold, model),
        ),
        (
            REPORT_CSV + "data_quality_activity.csv",
            lambda: _activity_relations(f, sites, la_of, las, model),
        ),
        (
            REPORT_CSV + COHORT_ACTIVITY_CSV,
            lambda: _cohort_activity(f, REPORT_CSV + COHORT_ACTIVITY_CSV, threshold, model),
        ),
        (
            REPORT_CSV + DESCRIPTION_CSV,
            lambda: _description(f, REPORT_CSV, TOTAL, model),
        ),
        (
            REPORT_CSV + WELLBEING_CSV,
            lambda: _wellbeing(f, REPORT_CSV + WELLBEING_CSV, threshold, model),
        ),
        ("ledger.json", lambda: _ledger(files["ledger.json"], model)),
        (LSOA_GEOJSON, lambda: _geojson(files[LSOA_GEOJSON], model)),
        (ATLAS_PAGE, lambda: _atlas_page(files, sites, threshold, model)),
        (REPORT_CSV + IMD_DECILES, lambda: read_deprivation(f, model)),
    ]
    for path in sorted(p for p in files if _PACK_CSV.match(p)):  # the LA report packs
        la, name = _PACK_CSV.match(path).groups()  # type: ignore[union-attr]
        if name == "monitoring_profiles.csv":
            readers.append((path, functools.partial(_la_profiles, f, path, la, model)))
        elif name == DESCRIPTION_CSV:
            readers.append(
                (path, functools.partial(_description, f, path[: -len(name)], la, model))
            )
        else:
            readers.append(
                (path, functools.partial(_pack_rows, f, path, REPORT_CSV + name, model))
            )
    readers += [
        (path, functools.partial(_report_html, f, path, model))
        for path in sorted(p for p in files if p.startswith("reports/") and p.endswith(".html"))
    ]
    read_files(f, readers, model)
    return model


def read_files(f: _Files, readers: list[tuple[str, Callable[[], None]]], model: FileModel) -> None:
    """Run the reader of each file the drop has; a file that cannot be read as the drop writes
    it is a problem naming it (never a value of it)."""
    for path, read in readers:
        if not f.has(path):
            continue
        try:
            read()
        except (KeyError, AttributeError, TypeError, ValueError, IndexError) as exc:
            model.problems.append(f"{path}: not as the drop writes it ({_problem(exc)})")


def _problem(exc: Exception) -> str:
    """What is wrong with a file, in a few words (never a value of it)."""
    if isinstance(exc, AttributeError) and exc.name:  # a row without the column
        return f"no column {exc.name!r}"
    if isinstance(exc, KeyError):
        return f"no {exc.args[0]!r}"
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text at byte {exc.start + 1}"
    return f"cannot be read: {type(exc).__name__}"


def _csv_reader(
    read: Callable[[pd.DataFrame, str, FileModel], None],
) -> Callable[[_Files, str, FileModel], None]:
    """A reader of one report CSV, given the files."""

    def run(f: _Files, path: str, model: FileModel) -> None:
        read(f.csv(path), path, model)

    return run


# --- the report CSVs ------------------------------------------------------------------------


def _read(model: FileModel, cell: str, text: str, path: str, index: int) -> None:
    model.readings.append(Reading(cell, text.strip(), _place(path, index)))


@_csv_reader
def _cohort_summary(t: pd.DataFrame, path: str, model: FileModel) -> None:
    """Last quarter (``laq:<la>:q4:<cohort>``) and twelve months (the service-LA cells)."""
    cells = []
    model.period = str(t["period"].iloc[0]) if len(t) else ""
    number = parse_period(model.period).last_quarter.number if model.period else QUARTERS[-1]
    for i, r in enumerate(t.itertuples()):
        last = f"laq:{r.la_code}:q{number}:{r.cohort}"
        _read(model, last, r.last_quarter, path, i)
        _read(model, svc_id(r.la_code, r.cohort), r.twelve_months, path, i)
        cells.append(last)
    last = t.assign(cell_id=cells)
    groups = []
    for _, part in last.groupby("la_code", sort=False):
        by = dict(zip(part["cohort"], part["cell_id"]))
        if all(c in by for c in (ALL, *COHORTS)):
            groups.append((by[ALL], [by[c] for c in COHORTS]))
    model.sets.append(CellSet("summary_last_quarter", _cells(cells), groups))
    for i, r in enumerate(t.to_dict("records")):
        shown = [c for c in RATES if str(r.get(c, "")).strip()]
        if shown and not str(r["twelve_months"]).strip():
            model.problems.append(
                f"{_place(path, i)}: {shown[0]} is published for a suppressed count"
            )
    _shares(t, path, "twelve_months", "share_of_all", model)


@_csv_reader
def _la_quarters(t: pd.DataFrame, path: str, model: FileModel) -> None:
    """Individuals per service LA (and the area) and quarter: at most the year's count."""
    cells, at_most = [], []
    for i, r in enumerate(t.itertuples()):
        year = svc_id(r.la_code, ALL)
        _read(model, year, r.twelve_months, path, i)
        for q in QUARTERS:
            cell = f"laq:{r.la_code}:q{q}:{ALL}"
            _read(model, cell, getattr(r, f"q{q}"), path, i)
            cells.append(cell)
            at_most.append((cell, year))
    model.sets.append(CellSet("la_quarters", _cells(cells), at_most=at_most))


@_csv_reader
def _la_activity(t: pd.DataFrame, path: str, model: FileModel) -> None:
    """Intervention clients per service LA and quarter, and the LA's activity figures."""
    cells, at_most = [], []
    for i, r in enumerate(t.itertuples()):
        cell = f"laqi:{r.la_code}:q{r.quarter}"
        _read(model, cell, r.intervention_clients, path, i)
        for kind in BOUNDED:
            _read(model, activity_id(kind, r.la_code, int(r.quarter)), getattr(r, kind), path, i)
        cells.append(cell)
        at_most.append((cell, f"laq:{r.la_code}:q{r.quarter}:{ALL}"))
        act = {k: activity_id(k, r.la_code, int(r.quarter)) for k in BOUNDED}
        for column, kind, a, b, places in (
            ("interventions_per_person", "per", act["interventions"], cell, 2),
            ("returns_per_visit_pct", "share", act["nsp_returns"], act["nsp_visits"], 1),
            ("visits_per_return", "per", act["nsp_visits"], act["nsp_returns"], 1),
        ):
            text = str(getattr(r, column)).strip()
            model.derived.append(Derived(_place(path, i), column, text, kind, a, b, places))
    model.sets.append(CellSet("intervention_clients", _cells(cells), at_most=at_most))


@_csv_reader
def _site_quarters(t: pd.DataFrame, path: str, model: FileModel) -> None:
    """Individuals per site and quarter: at most the site's year."""
    cells, at_most = [], []
    for i, r in enumerate(t.itertuples()):
        _read(model, f"site:{r.site_code}", r.twelve_months, path, i)
        for q in QUARTERS:
            cell = f"siteq:{r.site_code}:q{q}"
            _read(model, cell, getattr(r, f"q{q}"), path, i)
            cells.append(cell)
            at_most.append((cell, f"site:{r.site_code}"))
    model.sets.append(CellSet("site_quarters", _cells(cells), at_most=at_most))


@_csv_reader
def _activity_figures(t: pd.DataFrame, path: str, model: FileModel) -> None:
    """NSP visits, returns and interventions per site and service LA and quarter."""
    for i, r in enumerate(t.itertuples()):
        for kind in BOUNDED:
            _read(model, activity_id(kind, r.code, int(r.quarter)), getattr(r, kind), path, i)


@_csv_reader
def _assessed(t: pd.DataFrame, path: str, model: FileModel) -> None:
    """Seen = with + without an assessment, per site, LA and the area."""
    cells, groups = [], []
    for i, r in enumerate(t.itertuples()):
        seen = f"site:{r.code}" if r.unit == "site" else svc_id(r.code, ALL)
        _read(model, seen, r.seen, path, i)
        parts = [f"assessed:{r.code}:with", f"assessed:{r.code}:without"]
        _read(model, parts[0], r.with_assessment, path, i)
        _read(model, parts[1], r.without_assessment, path, i)
        cells += parts
        groups.append((seen, parts))
    model.sets.append(CellSet("assessed", _cells(cells), groups))
    _shares(t, path, "with_assessment", "with_assessment_pct", model, whole="seen")


@_csv_reader
def _reassessed(t: pd.DataFrame, path: str, model: FileModel) -> None:
    """Per site, LA and the area: seen for six months or more (due) = reassessed + not; due
    at most the unit's seen count, reassessed at most its "with an assessment" count; the
    share reassessed is 100 * reassessed / due."""
    cells, groups, at_most = [], [], []
    for i, r in enumerate(t.itertuples()):
        due, done, rest = (f"reassessed:{r.code}:{p}" for p in ("due", "with", "without"))
        _read(model, due, r.seen_six_months, path, i)
        _read(model, done, r.reassessed, path, i)
        _read(model, rest, r.not_reassessed, path, i)
        cells += [due, done, rest]
        groups.append((due, [done, rest]))
        at_most += [(due, seen_id(r.unit, r.code)), (done, f"assessed:{r.code}:with")]
        model.derived.append(
            Derived(
                _place(path, i), "reassessed_pct", r.reassessed_pct.strip(), "share", done, due
            )
        )
    model.sets.append(CellSet("reassessed", _cells(cells), groups, at_most=at_most))


@_csv_reader
def _trend(t: pd.DataFrame, path: str, model: FileModel) -> None:
    """Individuals per cohort and financial year; the drop's own year (the cohort summary's
    period) is the area total."""
    own = model.period  # the drop's own year is the area total cells; others are its own
    years = sorted(set(t["year"]) - {own})
    cells, groups = [], []
    for i, r in enumerate(t.itertuples()):
        cell = f"total:{r.cohort}" if r.year == own else f"trend:{r.year}:{r.cohort}"
        _read(model, cell, r.individuals, path, i)
        if r.year != own:
            cells.append(cell)
    for year in years:
        groups.append((f"trend:{year}:{ALL}", [f"trend:{year}:{c}" for c in COHORTS]))
    model.sets.append(CellSet("trend", _cells(cells), groups))


@_csv_reader
def _trend_la(t: pd.DataFrame, path: str, model: FileModel) -> None:
    """Individuals per cohort, financial year and service LA: the drop's own year is the
    service-LA cells; another year's cohorts add to its all, and an LA is at most the area."""
    own = model.period
    cells, groups, at_most = [], [], []
    for i, r in enumerate(t.itertuples()):
        if r.year == own:
            _read(model, svc_id(r.la_code, r.cohort), r.individuals, path, i)
            continue
        cell = f"trend:{r.year}:{r.la_code}:{r.cohort}"
        _read(model, cell, r.individuals, path, i)
        cells.append(cell)
        at_most.append((cell, f"trend:{r.year}:{r.cohort}"))
    for (year, la), _ in t[t["year"] != own].groupby(["year", "la_code"], sort=False):
        groups.append((f"trend:{year}:{la}:{ALL}", [f"trend:{year}:{la}:{c}" for c in COHORTS]))
    model.sets.append(CellSet("trend_la", _cells(cells), groups, at_most=at_most))


@_csv_reader
def _trend_activity(t: pd.DataFrame, path: str, model: FileModel) -> None:
    """Activity per financial year and service LA (``TOTAL``: the area), as the build
    declares it (``report_counts._trend``): the LAs add to the area unless activity elsewhere
    makes it more; people at most the visits and interventions, at least 1 where there is
    one. The drop's own year is the sum of its quarters' figures, no cells of its own."""
    own = model.period
    t = t[t["year"] != own]
    kinds = ("nsp_visits", "nsp_returns", "interventions")
    cells, groups, bounds, at_most = [], [], [], []

    def value(text: str) -> float:
        return float(text) if text.strip() else np.nan

    for year, part in t.groupby("year", sort=False):
        rows = {r.la_code: r for r in part.itertuples()}
        ids = {(k, u): f"tact:{k}:{year}:{u}" for k in kinds for u in rows}
        for i, r in zip(part.index, part.itertuples()):
            for k in kinds:
                _read(model, ids[k, r.la_code], getattr(r, k), path, int(i))
                cells.append(ids[k, r.la_code])
        las = [u for u in rows if u != TOTAL]
        for k in kinds:
            shown = [value(getattr(rows[u], k)) for u in las]
            total = value(getattr(rows[TOTAL], k)) if TOTAL in rows else np.nan
            if np.isnan(total) or np.nansum(shown) == total or np.isnan(shown).any():
                groups.append((ids[k, TOTAL], [ids[k, u] for u in las]))
        area = rows.get(TOTAL)
        cap = value(area.nsp_visits) + value(area.interventions) if area is not None else np.nan
        for u in rows:
            people = f"trend:{year}:{ALL}" if u == TOTAL else f"trend:{year}:{u}:{ALL}"
            bounds.append(
                ActivityBound(
                    people,
                    (ids["nsp_visits", u], ids["interventions", u]),
                    np.inf if u == TOTAL or np.isnan(cap) else float(cap),
                    tuple(ids[k, u] for k in kinds),
                )
            )
            at_most.append((ids["nsp_returns", u], ids["nsp_visits", u]))
    model.sets.append(
        CellSet(
            "trend_activity", _cells(cells), groups, people=False, bounds=bounds, at_most=at_most
        )
    )


def _profiles(t: pd.DataFrame, threshold: int, model: FileModel) -> None:
    """Categories add to the cohort's total, cohorts to ``all``; a free-text label is shown
    only when ``threshold`` people share it (a floor the reader knows)."""
    path = REPORT_CSV + "monitoring_profiles.csv"
    ids = "profile:" + t["dimension"] + ":" + t["category"] + ":" + t["cohort"]
    for i, (cell, text) in enumerate(zip(ids, t["individuals"])):
        _read(model, cell, text, path, i)
    frame = t.assign(cell_id=ids)
    groups, floors = [], {}
    for dim, part in frame.groupby("dimension", sort=False):
        for c in COHORT_ORDER:
            groups.append((f"total:{c}", list(part.loc[part["cohort"] == c, "cell_id"])))
        for cat, cells in part.groupby("category", sort=False):
            by = dict(zip(cells["cohort"], cells["cell_id"]))
            if all(c in by for c in (ALL, *COHORTS)):
                groups.append((by[ALL], [by[c] for c in COHORTS]))
            if dim in FREE_TEXT and cat not in ("Other", "Not stated") and ALL in by:
                floors[by[ALL]] = threshold
    model.sets.append(CellSet("profiles", _cells(list(ids)), groups, floors=floors))
    _shares(t.assign(total="total:" + t["cohort"]), path, "individuals", "share", model, "total")


_PACK_CSV = re.compile(r"^reports/la/([^/]+)/csv/([^/]+\.csv)$")


def _la_profiles(f: _Files, path: str, la: str, model: FileModel) -> None:
    """An LA pack's profiles (``counting.la_profiles``): its categories add to the LA's
    service cell per cohort, its cohorts to its ``all`` per category; each share is of the
    LA's service cell."""
    t = f.csv(path)
    ids = "laprofile:" + la + ":" + t["dimension"] + ":" + t["category"] + ":" + t["cohort"]
    for i, (cell, text) in enumerate(zip(ids, t["individuals"])):
        _read(model, cell, text, path, i)
    dims: dict[str, list[tuple[str, str, str]]] = {}  # in the file's order, as its rows
    for dim, category, cohort, cell in zip(t["dimension"], t["category"], t["cohort"], ids):
        dims.setdefault(dim, []).append((category, cohort, cell))
    groups = []
    for rows in dims.values():
        for c in COHORT_ORDER:
            groups.append((svc_id(la, c), [cell for _, cohort, cell in rows if cohort == c]))
        by_category: dict[str, dict[str, str]] = {}
        for category, cohort, cell in rows:
            by_category.setdefault(category, {})[cohort] = cell
        for by in by_category.values():
            if all(c in by for c in (ALL, *COHORTS)):
                groups.append((by[ALL], [by[c] for c in COHORTS]))
    model.sets.append(CellSet(f"la_profiles:{la}", _cells(list(ids)), groups))
    for i, (cell, cohort, share) in enumerate(zip(ids, t["cohort"], t["share"])):
        model.derived.append(
            Derived(
                _place(path, i), "share", str(share).strip(), "share", cell, svc_id(la, cohort)
            )
        )


COHORT_ACTIVITY_CSV = "monitoring_cohort_activity.csv"
DESCRIPTION_CSV = "monitoring_cohort_description.csv"
PER_PERSON = {"nsp_visits": "visits_per_person", "interventions": "interventions_per_person"}


def _cohort_activity(f: _Files, path: str, threshold: int, model: FileModel) -> None:
    """The visits and interventions each cohort made at a unit's services
    (``counting.cohort_description``): activity cells with their groups and bounds, the
    cohort's count of people as the service table's cell, each average per person the quotient
    of the two (withheld under ``threshold`` people)."""
    t = f.csv(path)
    cells = []
    for i, r in enumerate(t.itertuples()):
        if r.la_code != ELSEWHERE:
            _read(model, svc_id(r.la_code, r.cohort), r.individuals, path, i)
        for kind in KINDS:
            cell = cact_id(kind, r.la_code, r.cohort)
            _read(model, cell, getattr(r, kind), path, i)
            cells.append(cell)
            if r.la_code != ELSEWHERE:
                text = str(getattr(r, PER_PERSON[kind])).strip()
                model.derived.append(
                    Derived(
                        _place(path, i),
                        PER_PERSON[kind],
                        text,
                        "per",
                        cell,
                        svc_id(r.la_code, r.cohort),
                        1,
                        threshold,
                    )
                )
    las = sorted(set(t["la_code"]) - {TOTAL, ELSEWHERE})
    area = t[(t["la_code"] == TOTAL) & (t["cohort"] == ALL)]
    shown = [str(area[k].iloc[0]).strip() for k in KINDS] if len(area) else [""]
    cap = sum(float(v) for v in shown) if all(shown) else np.inf
    groups, bounds = cohort_activity_relations(las, ELSEWHERE in set(t["la_code"]), cap)
    model.sets.append(
        CellSet("cohort_activity", _cells(cells), groups, people=False, bounds=bounds)
    )


WELLBEING_CSV = "monitoring_wellbeing.csv"


def _wellbeing(f: _Files, path: str, threshold: int, model: FileModel) -> None:
    """Wellbeing reviews per LA and the area (``counting.wellbeing``): the people reviewed,
    once and twice or more as cells (reviewed = once + repeat; an LA's at most the area's),
    the reviews as activity bounding them; a mean only beside a published count of people
    reviewed twice or more of at least ``threshold``."""
    t = f.csv(path)
    people, reviews, units = [], [], []
    for i, r in enumerate(t.itertuples()):
        few = str(r.reviews).strip()
        if few and 0 < float(few) < threshold:  # no counts of people: the reviews say them
            shown = [m for m in (*WB_MEASURES, *WB_MEANS) if str(getattr(r, m)).strip()]
            if shown:
                model.problems.append(
                    f"{_place(path, i)}: {shown[0]} is published beside fewer than "
                    f"{threshold} reviews"
                )
            continue
        units.append(r.la_code)
        cell = wb_id(r.la_code, "reviews")
        _read(model, cell, r.reviews, path, i)
        reviews.append(cell)
        for m in WB_MEASURES:
            cell = wb_id(r.la_code, m)
            _read(model, cell, getattr(r, m), path, i)
            people.append(cell)
        repeat = str(r.repeat).strip()
        shown = [m for m in WB_MEANS if str(getattr(r, m)).strip()]
        if shown and (not repeat or float(repeat) < threshold):
            model.problems.append(
                f"{_place(path, i)}: {shown[0]} is published beside a withheld count or "
                f"fewer than {threshold} people"
            )
    area = t.loc[t["la_code"] == TOTAL, "reviews"].str.strip()
    cap = float(area.iloc[0]) if len(area) and area.iloc[0] else np.inf
    groups, at_most, bounds = wellbeing_relations(units, cap)
    model.sets.append(CellSet("wellbeing", _cells(people), groups, at_most=at_most))
    model.sets.append(CellSet("wellbeing_reviews", _cells(reviews), people=False, bounds=bounds))


def _cohort_totals(f: _Files) -> dict[str, dict[str, object]]:
    """Per LA (and ``TOTAL``): its published cohort counts in the service table (NaN where
    suppressed), read once for the area and every pack."""
    if f.cohort_totals is None:
        svc = f.csv("tables/service_la_cohorts.csv")
        value = pd.to_numeric(svc["individuals"].str.strip(), errors="coerce")
        f.cohort_totals = {}
        for la, cohort, v in zip(svc["la_code"], svc["cohort"], value):
            f.cohort_totals.setdefault(la, {})[cohort] = v
    return f.cohort_totals


def _description(f: _Files, folder: str, unit: str, model: FileModel) -> None:
    """A unit's cohort description (the area's, or an LA pack's) is a function of the
    published profiles shown beside it and the unit's published cohort counts: recomputed from
    them (``counting.cohort_description.describe``), every figure must be the one published."""
    path = folder + DESCRIPTION_CSV
    shown = f.csv(path)
    profiles = f.csv(folder + "monitoring_profiles.csv")
    profiles["individuals"] = pd.to_numeric(profiles["individuals"].str.strip(), errors="coerce")
    want = describe(profiles, _cohort_totals(f).get(unit, {}))
    if list(shown.columns) != DESCRIPTION_COLUMNS or len(shown) != len(want):
        model.problems.append(f"{path}: not the description its published profiles give")
        return
    for i, (got, exp) in enumerate(zip(shown.to_dict("records"), want.to_dict("records"))):
        for col in DESCRIPTION_COLUMNS:
            a, b = str(got[col]).strip(), exp[col]
            if col in ("individuals", "share"):
                same = (a == "" and pd.isna(b)) or (
                    a != "" and not pd.isna(b) and float(a) == float(b)
                )
            elif col == "suppressed":
                same = a == ("true" if b else "false")
            else:
                same = a.removeprefix("'") == str(b)
            if not same:
                model.problems.append(
                    f"{_place(path, i)}: {col} is {a or 'blank'}, but the published profiles "
                    f"give {'blank' if pd.isna(b) or b == '' else b}"
                )


def _pack_rows(f: _Files, path: str, area_path: str, model: FileModel) -> None:
    """An LA pack's CSV file other than its profiles holds rows of the area's file of the same
    name, as they are there: a row that is not one is a figure no cell stands for."""
    head, known = f.lines(area_path)
    own_head, _, body = f.files[path].partition(b"\n")
    if own_head != head:
        model.problems.append(f"{path}: its columns are not those of {area_path}")
        return
    for i, line in enumerate(body.split(b"\n")):
        if line and line not in known:
            model.problems.append(f"{_place(path, i)}: not a row of {area_path}")


def _activity_relations(
    f: _Files, sites: pd.DataFrame, la_of: dict[str, str], las: list[str], model: FileModel
) -> None:
    """The activity cells of the reports and what they tell of people, as the build declares
    them (``report_counts.activity_cells``); caps from the published figures."""
    text = {r.cell: r.text for r in model.readings if r.cell.startswith("act:")}
    for kind in BOUNDED:  # the site's year, from site_activity.csv
        for code, shown_value in zip(sites["site_code"], sites[kind]):
            text[activity_id(kind, code)] = shown_value.strip()
    codes = list(sites["site_code"])
    units = [*codes, *las, TOTAL]
    ids = [activity_id(k, c, q) for c in units for q in QUARTERS for k in BOUNDED]
    missing = [i for i in ids if i not in text]
    if missing:
        model.problems.append(
            f"{REPORT_CSV}data_quality_activity.csv: no figure for {missing[0]} "
            f"({len(missing)} missing): the reports do not show every site's activity"
        )
        return

    def value(cell: str) -> float:
        t = text[cell]
        return float(t) if t else np.nan

    outside = [c for c in codes if la_of.get(c) not in set(las)]

    def area_adds_up(kind: str, q: int) -> bool:
        """The area adds its LAs and the sites outside them unless activity elsewhere (at
        sites not listed) makes it more: then the published parts fall short of it."""
        parts = [activity_id(kind, la, q) for la in las]
        shown = [value(p) for p in [*parts, *(activity_id(kind, c, q) for c in outside)]]
        total = value(activity_id(kind, TOTAL, q))
        return bool(np.isnan(total) or np.nansum(shown) == total or np.isnan(shown).any())

    groups, bounds, at_most = activity_relations(codes, la_of, las, value, area_adds_up)
    quarterly = [i for i in ids if i.count(":") == 3]
    model.sets.append(
        CellSet(
            "activity",
            _cells(quarterly),
            groups,
            people=False,
            bounds=bounds,
            at_most=at_most,
        )
    )


def _cells(ids: list[str]) -> pd.DataFrame:
    """A cell set's table: the ids, each with a placeholder count (the audit reads values
    from the readings)."""
    unique = list(dict.fromkeys(ids))
    return pd.DataFrame({"cell_id": unique, "individuals": np.zeros(len(unique), dtype=np.int64)})


# --- the linked figures ([linkage]: issue 18) ------------------------------------------------


@_csv_reader
def _treatment_match(t: pd.DataFrame, path: str, model: FileModel) -> None:
    """Per service LA (and the area) and cohort: seen (the service-LA cell) = both + IMS
    only; cohorts add to all; an LA at most the area; the shares of seen."""
    cells, groups, at_most = [], [], []
    for i, r in enumerate(t.itertuples()):
        seen = svc_id(r.la_code, r.cohort)
        _read(model, seen, r.seen, path, i)
        parts = [treat_id(r.la_code, r.cohort, m) for m in TREATMENT_MEASURES]
        for cell, text in zip(parts, (r.both, r.ims_only)):
            _read(model, cell, text, path, i)
        cells += parts
        groups.append((seen, parts))
        if r.la_code != TOTAL:
            at_most += [
                (c, treat_id(TOTAL, r.cohort, m)) for c, m in zip(parts, TREATMENT_MEASURES)
            ]
        for column, cell in zip(("both_pct", "ims_only_pct"), parts):
            text = str(getattr(r, column)).strip()
            model.derived.append(Derived(_place(path, i), column, text, "share", cell, seen))
    for la in dict.fromkeys(t["la_code"]):
        for m in TREATMENT_MEASURES:
            groups.append((treat_id(la, ALL, m), [treat_id(la, c, m) for c in COHORTS]))
    model.sets.append(CellSet("linkage_treatment", _cells(cells), groups, at_most=at_most))


@_csv_reader
def _treatment_only(t: pd.DataFrame, path: str, model: FileModel) -> None:
    """People in treatment not seen by IMS, per LA of the treatment file: the LAs,
    ``OUTSIDE`` and ``UNKNOWN`` add to ``TOTAL``."""
    cells = []
    for i, r in enumerate(t.itertuples()):
        _read(model, only_id(r.la_code), r.treatment_only, path, i)
        cells.append(only_id(r.la_code))
    parts = [c for c in cells if c != only_id(TOTAL)]
    model.sets.append(CellSet("linkage_treatment_only", _cells(cells), [(only_id(TOTAL), parts)]))


@_csv_reader
def _deaths(t: pd.DataFrame, path: str, model: FileModel) -> None:
    """Deaths per year and area of residence: deaths = contact + no contact + not linkable,
    contact = NSP + BI, the areas add to ``TOTAL``; the share with contact recomputed, and
    the rate per 100,000 recomputed from the published deaths and population."""
    cells, groups = [], []
    for i, r in enumerate(t.to_dict("records")):
        ids = {m: death_id(r["year"], r["la_code"], m) for m in DEATH_MEASURES}
        for m, cell in ids.items():
            _read(model, cell, str(r[m]), path, i)
            cells.append(cell)
        groups.append((ids["deaths"], [ids[m] for m in ("contact", "no_contact", "not_linkable")]))
        groups.append((ids["contact"], [ids["contact_nsp"], ids["contact_bi"]]))
        model.derived.append(
            Derived(
                _place(path, i),
                "contact_pct",
                str(r["contact_pct"]).strip(),
                "share",
                ids["contact"],
                ids["deaths"],
            )
        )
        _death_rate(r, _place(path, i), model)
    for (year,), part in t.groupby(["year"], sort=False):
        parts = [c for c in part["la_code"] if c != TOTAL]
        for m in DEATH_MEASURES:
            groups.append((death_id(year, TOTAL, m), [death_id(year, a, m) for a in parts]))
    model.sets.append(CellSet("linkage_deaths", _cells(cells), groups))


def _death_rate(r: dict, place: str, model: FileModel) -> None:
    """A deaths rate and its interval: withheld beside a withheld count, else the values the
    published count and population give."""
    from ..counting.rates import format_fixed, rate_per_1000

    deaths, population = str(r["deaths"]).strip(), str(r["population"]).strip()
    shown = {c: str(r[c]).strip() for c in ("rate_per_100000", "rate_lower", "rate_upper")}
    if not deaths or not population:
        for column, text in shown.items():
            if text:
                model.problems.append(f"{place}: {column} is published for a suppressed count")
        return
    rate = rate_per_1000(pd.Series([float(deaths)]), pd.Series([float(population)])) * 100
    want = {
        "rate_per_100000": format_fixed(rate["rate_per_1000"]).iloc[0],
        "rate_lower": format_fixed(rate["rate_lower"]).iloc[0],
        "rate_upper": format_fixed(rate["rate_upper"]).iloc[0],
    }
    for column, text in shown.items():
        if text != want[column]:
            model.problems.append(
                f"{place}: {column} is {text or 'withheld'}, but the published deaths and "
                f"population give {want[column]}"
            )


# --- functions of cells -------------------------------------------------------------------


def _shares(
    t: pd.DataFrame, path: str, part: str, share: str, model: FileModel, whole: str | None = None
) -> None:
    """Declare column ``share`` of each row as 100 * part / whole (one decimal): the row's
    cohort over its ``all`` (cohort summary), with over seen (assessments), a category over
    its cohort's area total (profiles)."""
    for i, r in enumerate(t.to_dict("records")):
        if path.endswith("monitoring_cohort_summary.csv"):
            a, b = svc_id(r["la_code"], r["cohort"]), svc_id(r["la_code"], ALL)
        elif path.endswith("data_quality_assessments.csv"):
            a = f"assessed:{r['code']}:with"
            b = f"site:{r['code']}" if r["unit"] == "site" else svc_id(r["code"], ALL)
        else:
            a = f"profile:{r['dimension']}:{r['category']}:{r['cohort']}"
            b = str(r[whole or "total"])
        model.derived.append(Derived(_place(path, i), share, str(r[share]).strip(), "share", a, b))


def evaluate(d: Derived, value: dict[str, float]) -> str:
    """The text a declared function of cells must be published as, given the cells' published
    values (NaN: withheld)."""
    a, b = value.get(d.a, np.nan), value.get(d.b, np.nan)
    if np.isnan(a) or np.isnan(b) or b == 0 or b < d.least:
        return ""
    x = 100 * a / b if d.kind == "share" else a / b
    return f"{half_up(x, d.places):.{d.places}f}"


# --- the ledger, the GeoJSON, the atlas page -------------------------------------------------


def _ledger(data: bytes, model: FileModel) -> None:
    """The ledger's counts of individuals: the cohorts (the area totals) and the match levels
    (``match:<level>``, adding to ``total:all``)."""
    try:
        ledger = json.loads(data.decode("utf-8"))
    except ValueError:
        return  # reported by the audit's reading of the ledger's settings
    if not isinstance(ledger, dict):
        return
    for section, prefix in (("cohorts", "total:"), ("match_levels", "match:")):
        values = ledger.get(section)
        if values is None:
            continue
        if not isinstance(values, dict):
            model.problems.append(f"ledger.json {section}: not a table of counts")
            continue
        for key, v in values.items():
            place = f"ledger.json {section}.{key}"
            if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
                model.problems.append(f"{place}: {v!r} is not a count")
                continue
            model.readings.append(Reading(f"{prefix}{key}", "" if v is None else str(v), place))
    levels = ledger.get("match_levels")
    if isinstance(levels, dict) and levels:
        cells = [f"match:{k}" for k in levels]
        model.sets.append(CellSet("match_levels", _cells(cells), [(f"total:{ALL}", cells)]))


def _geojson(data: bytes, model: FileModel) -> None:
    """Each LSOA feature's cohort counts: the LSOA table's cells."""
    text = data.decode("utf-8", errors="replace")
    try:  # the properties alone: the coordinates hold no count and are most of the file
        features = [json.loads(p) for p in _PROPERTIES.findall(text)]
    except ValueError:
        features = []
    if not features or len(features) != len(_FEATURE.findall(text)):
        model.problems.append(f"{LSOA_GEOJSON}: not a GeoJSON feature collection of the drop")
        return
    known = {"lsoa_code", "lsoa_name", "la_code", *COHORT_ORDER}
    for k, props in enumerate(features):
        place = f"{LSOA_GEOJSON} feature {k + 1}"
        extra = sorted(set(props) - known)
        if extra:
            model.problems.append(f"{place}: property {extra[0]!r} is no cell of the drop")
        code = props.get("lsoa_code")
        for cohort in COHORT_ORDER:
            v = props.get(cohort)
            model.readings.append(
                Reading(f"lsoa:{code}:{cohort}", "" if v is None else str(v), place)
            )


def _atlas_page(
    files: dict[str, bytes], sites: pd.DataFrame, threshold: int, model: FileModel
) -> None:
    """The page data: every level's counts per cohort (the area tables' cells), a rate only
    beside a published count, the sites' visits and individuals; the per-LA LSOA scripts hold
    shapes only."""
    found = _PAGE_DATA.search(files[ATLAS_PAGE].decode("utf-8", errors="replace"))
    if found is None:
        model.problems.append(f'{ATLAS_PAGE}: holds no atlas data (no <script id="atlas-data">)')
        return
    try:
        data = json.loads(found.group(1))
    except ValueError:
        model.problems.append(f"{ATLAS_PAGE}: the atlas data is not valid JSON")
        return
    extra = sorted(set(data) - PAGE_KEYS)
    if extra:
        model.problems.append(f"{ATLAS_PAGE}: the page data's {extra[0]!r} is no cell of the drop")
    for level in data.get("levels", []):
        extra = sorted(set(level) - LEVEL_KEYS)
        if extra:
            model.problems.append(
                f"{ATLAS_PAGE} level {level.get('id')}: {extra[0]!r} is no cell of the drop"
            )
        prefix = LEVEL_PREFIX.get(level.get("id"))
        if prefix is None:
            model.problems.append(f"{ATLAS_PAGE} level {level.get('id')!r}: no table of the drop")
            continue
        codes = level.get("codes", [])
        for cohort, measures in level.get("values", {}).items():
            place = f"{ATLAS_PAGE} level {level['id']} {cohort}"
            if _deaths_layer(cohort, level, measures, place, model):
                continue
            if cohort not in COHORT_ORDER or set(measures) - PAGE_MEASURES:
                extra = (
                    cohort
                    if cohort not in COHORT_ORDER
                    else sorted(set(measures) - PAGE_MEASURES)[0]
                )
                model.problems.append(f"{place}: {extra!r} is no cell of the drop")
                continue
            counts = measures.get("n", [])
            for i, code in enumerate(codes):
                v = counts[i] if i < len(counts) else None
                model.readings.append(
                    Reading(
                        f"{prefix}:{code}:{cohort}",
                        "" if v is None else str(v),
                        f"{place} area {code}",
                    )
                )
                if v is None and any(
                    i < len(measures.get(m, [])) and measures[m][i] is not None
                    for m in ("rate", "lo", "hi")
                ):
                    model.problems.append(
                        f"{place} area {code}: a rate is published for a suppressed count"
                    )
    _page_sites(data.get("sites", []), sites, threshold, model)
    _chunks(files, data, model)
    _postcode_index(files, data, model)
    try:
        years = read_years(data, model.readings, model.problems, Reading)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        model.problems.append(f"{ATLAS_PAGE} years: not as the drop writes them ({_problem(exc)})")
        years = None
    if years is not None:
        model.sets.append(years)
    if "imd" in data:
        page_deciles(data["imd"], next((lv.get("codes", []) for lv in data["levels"]), []), model)
    if data.get("siting") and "tables/residence_lsoa_cohorts.csv" in files:
        lsoa_codes: list[str] = next((lv.get("codes", []) for lv in data.get("levels", [])), [])
        _siting(files, data["siting"], lsoa_codes, threshold, model)


_DEATHS_LAYER = re.compile(r"^drd:([0-9]{4}-[0-9]{2})$")


def _deaths_layer(cohort: str, level: dict, measures: dict, place: str, model: FileModel) -> bool:
    """The deaths layer (``drd:<year>``, LA level only): each LA's count is the deaths cell
    of that year; it shows no rate. False for any other layer."""
    found = _DEATHS_LAYER.match(cohort)
    if not found:
        return False
    if level.get("id") != "la" or set(measures) - PAGE_MEASURES:
        model.problems.append(f"{place}: {cohort!r} is no cell of the drop at this level")
        return True
    counts = measures.get("n", [])
    for i, code in enumerate(level.get("codes", [])):
        v = counts[i] if i < len(counts) else None
        cell = death_id(found.group(1), code, "deaths")
        model.readings.append(Reading(cell, "" if v is None else str(v), f"{place} area {code}"))
        if any(i < len(measures.get(m, [])) and measures[m][i] is not None for m in RATE_KEYS):
            model.problems.append(f"{place} area {code}: a rate no cell stands for")
    return True


RATE_KEYS = ("rate", "lo", "hi")


def _page_sites(points: list[dict], sites: pd.DataFrame, threshold: int, model: FileModel) -> None:
    """Each site point is the next site of site_activity.csv (by code) with its name and
    type; its visits and individuals are that site's cells."""
    table = sites.sort_values("site_code").reset_index(drop=True)
    k = 0
    small = f"fewer than {threshold}"
    for n, point in enumerate(points):
        while k < len(table) and not (
            table.at[k, "site_name"].lstrip("'") == str(point.get("name", "")).lstrip("'")
            and table.at[k, "site_type"] == point.get("type")
        ):
            k += 1
        place = f"{ATLAS_PAGE} site {n + 1}"
        if k == len(table):
            model.problems.append(f"{place}: {point.get('name')!r} is no site of the drop")
            return
        code = table.at[k, "site_code"]
        extra = sorted(set(point) - {"lat", "lng", "name", "type", "services", "visits", "people"})
        if extra:
            model.problems.append(f"{place}: {extra[0]!r} is no cell of the drop")
        visits = point.get("visits")
        model.readings.append(
            Reading(activity_id("nsp_visits", code), "" if visits is None else str(visits), place)
        )
        people = str(point.get("people", ""))
        model.readings.append(Reading(f"site:{code}", "" if people == small else people, place))
        k += 1


def _chunks(files: dict[str, bytes], data: dict, model: FileModel) -> None:
    """The per-LA LSOA scripts: each the shapes of the LSOAs of one LA, nothing more."""
    lazy = data.get("lazy") or {}
    la_of = lazy.get("la_of", [])
    for path in sorted(
        p
        for p in files
        if p.startswith("atlas/") and p.endswith(".js") and not POSTCODE_INDEX.match(p)
    ):
        found = _CHUNK.match(files[path].decode("utf-8", errors="replace"))
        try:
            chunk = json.loads(found.group(1)) if found else None
        except ValueError:
            chunk = None
        if not isinstance(chunk, dict):
            model.problems.append(f"{path}: not an LSOA script of the atlas")
            continue
        extra = sorted(set(chunk) - {"la", "index", "shapes"})
        if extra:
            model.problems.append(f"{path}: {extra[0]!r} is no cell of the drop")
        files_ = lazy.get("files", [])
        k = files_.index(path) if path in files_ else -1
        want = [i for i, la in enumerate(la_of) if la == k]
        if chunk.get("index") != want or len(chunk.get("shapes", [])) != len(want):
            model.problems.append(
                f"{path}: its LSOAs are not those the page gives its local authority"
            )


def _postcode_index(files: dict[str, bytes], data: dict, model: FileModel) -> None:
    """The postcode index scripts: each one postcode area's districts, each district its
    inward codes (sorted, each once) and the position of each one's LSOA on the page, nothing
    more; one script for every area the page names and none other."""
    lsoas = len(next((lv.get("codes", []) for lv in data.get("levels", [])), []))
    areas = data.get("postcodes") or []
    paths = sorted(p for p in files if POSTCODE_INDEX.match(p))
    named = sorted(f"atlas/postcodes-{a}.js" for a in areas if isinstance(a, str))
    if paths != named or len(named) != len(areas):
        model.problems.append(
            f"{ATLAS_PAGE}: its postcode areas are not the postcode index scripts beside it"
        )
    for path in paths:
        found = _POSTCODE_CALL.match(files[path].decode("utf-8", errors="replace"))
        try:
            chunk = json.loads(found.group(1)) if found else None
        except ValueError:
            chunk = None
        area = POSTCODE_INDEX.match(path).group(1)  # type: ignore[union-attr]
        if not isinstance(chunk, dict) or set(chunk) != {"area", "districts"}:
            model.problems.append(f"{path}: not a postcode index of the atlas")
            continue
        districts = chunk["districts"]
        if chunk["area"] != area or not isinstance(districts, dict):
            model.problems.append(f"{path}: not the postcode index of area {area}")
            continue
        for district, entry in districts.items():
            ok = (
                _DISTRICT.match(district)
                and re.match(r"[A-Z]+", district).group(0) == area  # type: ignore[union-attr]
                and isinstance(entry, list)
                and len(entry) == 2
                and isinstance(entry[0], str)
                and _INWARDS.match(entry[0])
                and isinstance(entry[1], list)
                and len(entry[0]) == 3 * len(entry[1])
                and all(
                    isinstance(i, int) and not isinstance(i, bool) and 0 <= i < lsoas
                    for i in entry[1]
                )
            )
            inwards = [entry[0][k : k + 3] for k in range(0, len(entry[0]), 3)] if ok else []
            if not ok or inwards != sorted(set(inwards)):
                model.problems.append(
                    f"{path} district {district}: not postcodes with the positions of their LSOAs"
                )


# --- the report HTML -------------------------------------------------------------------------


_TABLE = re.compile(r"<table\b([^>]*)>(.*?)</table>", re.DOTALL | re.IGNORECASE)
_TD = re.compile(r"<td\b[^>]*>(.*?)</td>", re.DOTALL | re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_ID = re.compile(r'\bid="([^"]*)"')


def table_cells(page: str) -> list[tuple[str, str]]:
    """The text of every table data cell of a page (tags dropped, entities decoded), with the
    id of its table."""
    return [(table, text) for table, body in _tables(page) for text in _cell_texts(body)]


def _tables(page: str) -> list[tuple[str, str]]:
    """Every table of a page: its id ("" when it has none) and its HTML inside the tags."""
    out = []
    for attrs, body in _TABLE.findall(page):
        found = _ID.search(attrs)
        out.append((found.group(1) if found else "", body))
    return out


def _cell_texts(body: str) -> list[str]:
    """The text of each data cell of a table's HTML (tags dropped, entities decoded)."""
    return [html.unescape(_TAG.sub("", cell)) for cell in _TD.findall(body)]


# the tables each report table is drawn from (its CSV, linked beside it); a table not named
# here may show only numbers some table of the drop publishes
HTML_SOURCES = {
    "cohort-summary": ("reports/csv/monitoring_cohort_summary.csv",),
    "cohort-summary-la": ("reports/csv/monitoring_cohort_summary.csv",),
    "la-rates": ("tables/service_la_cohorts.csv",),
    "la-activity": ("reports/csv/monitoring_la_activity.csv",),
    "year-numbers": ("reports/csv/monitoring_year_numbers.csv",),
    "year-numbers-own": ("reports/csv/monitoring_year_numbers.csv",),
    "equipment-items": ("reports/csv/monitoring_equipment.csv",),
    "profile-": ("reports/csv/monitoring_profiles.csv",),
    "wellbeing-reviews": ("reports/csv/monitoring_wellbeing.csv",),
    "cohort-description": (
        "reports/csv/monitoring_cohort_description.csv",
        "reports/csv/monitoring_cohort_activity.csv",
    ),
    "imd-deciles": (REPORT_CSV + IMD_DECILES,),
    "imd-sii": (REPORT_CSV + IMD_SII,),
    "trend-table": ("reports/csv/monitoring_trend.csv", "reports/csv/monitoring_trend_la.csv"),
    "nsp-siting": ("tables/nsp_siting.csv",),
    "treatment-match": ("reports/csv/monitoring_treatment_match.csv",),
    "treatment-only": ("reports/csv/monitoring_treatment_only.csv",),
    "deaths-": ("reports/csv/monitoring_deaths.csv",),
    "nsp-coverage-la": ("tables/nsp_coverage_la.csv",),
    "dq-la-individuals": ("reports/csv/data_quality_la_individuals.csv",),
    "dq-site-individuals": ("reports/csv/data_quality_site_individuals.csv",),
    "dq-la-activity": ("reports/csv/data_quality_activity.csv",),
    "dq-site-activity": ("reports/csv/data_quality_activity.csv",),
    "dq-la-assessments": ("reports/csv/data_quality_assessments.csv",),
    "dq-site-assessments": ("reports/csv/data_quality_assessments.csv",),
    "dq-la-reassessment": ("reports/csv/data_quality_reassessment.csv",),
    "dq-site-reassessment": ("reports/csv/data_quality_reassessment.csv",),
}


def _report_html(f: _Files, path: str, model: FileModel) -> None:
    """Every number in a table cell of a report page must be one the table it is drawn from
    (``HTML_SOURCES``) publishes, as the page formats it: else it is a figure no cell stands
    for."""
    pack = path.rsplit("/", 1)[0] + "/csv/" if path.startswith("reports/la/") else ""

    def sources(table: str) -> tuple[str, ...] | None:
        """The files a table is drawn from (None: any CSV file of the drop, each pack's too)."""
        key = next(
            (k for k in HTML_SOURCES if table == k or (k.endswith("-") and table.startswith(k))),
            None,
        )
        if key is None:
            return None
        drawn = HTML_SOURCES[key]
        if pack:  # an LA pack's page is drawn from its own CSV files
            drawn = (
                tuple(pack + s[len(REPORT_CSV) :] for s in drawn if s.startswith(REPORT_CSV))
                + drawn
            )
        return drawn

    def allowed(drawn: tuple[str, ...] | None) -> list[set[str]]:
        # "1 return to every ... visits"; the sources' sets as they are (not copied together)
        if drawn is None:
            return [{"0", "1"}, f.every_number()]
        return [{"0", "1"}, *(f.numbers(source) for source in drawn)]

    n = 0  # cells of the page's tables before this one
    for table, body in _tables(f.files[path].decode("utf-8", errors="replace")):
        drawn = sources(table)
        # a table shown alike in every pack (every LA's rates, trends) is read once
        if (drawn, body) not in f.checked:
            f.checked[drawn, body] = _unpublished(body, functools.partial(allowed, drawn))
        size, bad = f.checked[drawn, body]
        for i, token in bad:
            model.problems.append(
                f"{path} table {table or '(no id)'} cell {n + i + 1}: {token} is no published "
                "figure of its tables"
            )
        n += size


def _unpublished(
    body: str, allowed: Callable[[], list[set[str]]]
) -> tuple[int, list[tuple[int, str]]]:
    """How many data cells a table's HTML has, and each number in them (its cell, the
    token) that none of the ``allowed`` sets of numbers holds."""
    cells = _cell_texts(body)
    shown: list[set[str]] | None = None
    bad = []
    for n, text in enumerate(cells):
        for token in _NUMBER_TOKEN.findall(text):
            if shown is None:
                shown = allowed()
            number = _canonical(token)
            if not any(number in numbers for numbers in shown):
                bad.append((n, token))
    return len(cells), bad


def _numbers(data: bytes) -> set[str]:
    """Every number a CSV table publishes, in canonical text (:func:`_canonical`)."""
    rows = csv.reader(io.StringIO(data.decode("utf-8", errors="replace")))
    return {_canonical(v) for row in rows for field in row for v in _NUMBER_TOKEN.findall(field)}


def _canonical(token: str) -> str:
    """A number as text without separator, percent sign or trailing decimal zeros."""
    text = token.rstrip("%").replace(",", "")
    return text.rstrip("0").rstrip(".") if "." in text else text


# --- the siting figures -----------------------------------------------------------------------

PWID = ("pwid_psychoactive", "pwid_ipeds")


def published_demand(lsoa: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """Per LSOA of the published LSOA table (not "LSOA not known"): the PWID demand the
    siting figures are computed from (``siting.publish.published_demand``, from the published
    cells alone): both PWID cells where published, else ``all`` minus ``bi``, else each
    suppressed PWID cell as half the threshold; and the demand a reader can read (``known``)."""
    lsoa = lsoa[~lsoa["lsoa_code"].str.endswith("-UNKNOWN")]
    text = lsoa.pivot(index="lsoa_code", columns="cohort", values="individuals")
    value = text.apply(lambda c: pd.to_numeric(c.str.strip(), errors="coerce"))
    direct = value[list(PWID)].notna().all(axis=1)
    by_rest = value[ALL].notna() & value["bi"].notna()
    known = value[list(PWID)].sum(axis=1).where(direct, (value[ALL] - value["bi"]).clip(lower=0))
    known = known.where(direct | by_rest)
    estimate = value[list(PWID)].fillna(threshold // 2).sum(axis=1)
    la = lsoa.drop_duplicates("lsoa_code").set_index("lsoa_code")["la_code"]
    return pd.DataFrame(
        {"demand": known.fillna(estimate), "known": known, "la_code": la.reindex(value.index)}
    )


def _pct_text(part: float, whole: float) -> str:
    return "" if not whole else f"{half_up(100 * part / whole, 2):.2f}"


def _siting(
    files: dict[str, bytes], page: dict, lsoa_codes: list[str], threshold: int, model: FileModel
) -> None:
    """Every siting percentage is the share of the published demand of the LSOAs the page
    marks covered (and added, by rank), of the area's or the LA's; the demand the page shows
    is the one the tables give, else withheld."""
    lsoa = pd.read_csv(
        io.BytesIO(files["tables/residence_lsoa_cohorts.csv"]), dtype=str, keep_default_na=False
    )
    d = published_demand(lsoa, threshold).reindex(pd.Index(lsoa_codes))
    status = np.array(list(page.get("status", "")))
    if len(status) != len(d):
        model.problems.append(f"{ATLAS_PAGE} siting: its LSOA status is not one per LSOA")
        return
    rank = np.zeros(len(d), dtype=int)
    for i, r in page.get("added", []):
        rank[i] = r
    planned = status != "-"
    demand = d["demand"].fillna(0).to_numpy()
    if page.get("weights") == "imd":  # [siting] weight_imd: by the deciles the page gives
        if model.lsoa_deciles is None:
            model.problems.append(f"{ATLAS_PAGE} siting: weighted by IMD decile, none given")
            return
        demand = demand * imd_weights(pd.Index(lsoa_codes), model.lsoa_deciles)
    total = float(demand[planned].sum())
    want = {0: float(demand[status == "c"].sum())}
    for r in sorted(set(rank[rank > 0].tolist())):
        want[r] = float(demand[rank == r].sum())
    place = f"{ATLAS_PAGE} siting"
    for i, shown in enumerate(page.get("need", [])):
        known = d["known"].iloc[i]
        expect = None
        if status[i] in ("u", "a") and not pd.isna(known) and not 0 < known < threshold:
            expect = int(known)
        if shown != expect:
            model.problems.append(
                f"{place} LSOA {lsoa_codes[i]}: demand {shown} is not what the tables give "
                f"({'withheld' if expect is None else expect})"
            )
    if "tables/nsp_siting.csv" in files:
        path = "tables/nsp_siting.csv"
        table = pd.read_csv(io.BytesIO(files[path]), dtype=str, keep_default_na=False)
        shown = {str(r["rank"]): r for r in table.to_dict("records")}
        for point in page.get("recommended", []):
            row = shown.get(str(point.get("rank")))
            for key, column in (("added", "added_pct"), ("cumulative", "cumulative_pct")):
                if row is None or point.get(key) != row[column]:
                    model.problems.append(
                        f"{place} recommended site {point.get('rank')}: {key} "
                        f"{point.get(key)!r} is not the figure of {path}"
                    )
        cumulative = 0.0
        for k, row in enumerate(table.to_dict("records")):
            added = want.get(int(row["rank"]), 0.0)
            cumulative += added
            for column, value in (("added_pct", added), ("cumulative_pct", cumulative)):
                pct = _pct_text(value, total)
                if row[column] != pct:
                    model.problems.append(
                        f"{_place(path, k)}: {column} is {row[column] or 'blank'}, but the "
                        f"published demand gives {pct or 'blank'}"
                    )
    if "tables/nsp_coverage_la.csv" in files:
        path = "tables/nsp_coverage_la.csv"
        table = pd.read_csv(io.BytesIO(files[path]), dtype=str, keep_default_na=False)
        in_la = d["la_code"].to_numpy()
        for k, row in enumerate(table.to_dict("records")):
            mine = planned & (in_la == row["la_code"])
            whole = float(demand[mine].sum())
            for column, covered in (
                ("coverage_pct", status == "c"),
                ("coverage_pct_after", (status == "c") | (rank > 0)),
            ):
                pct = _pct_text(float(demand[mine & covered].sum()), whole)
                if row[column] != pct:
                    model.problems.append(
                        f"{_place(path, k)}: {column} is {row[column] or 'blank'}, but the "
                        f"published demand gives {pct or 'blank'}"
                    )


# --- the tables by IMD decile ([geography] imd) -----------------------------------------------
# The counts are cells of the one model, tied by the groups the build declared
# (``counting.deprivation``); every rate and Slope Index of Inequality is recomputed from the
# published counts. The decile of each LSOA, which the groups need, is read from the atlas's
# deprivation layer (the page data's ``imd``): public data the page publishes, as an attacker
# would use it.

LSOA_TABLE = "tables/residence_lsoa_cohorts.csv"


def page_deciles(layer: object, lsoa_codes: list[str], model: FileModel) -> None:
    """The atlas's deprivation layer: one decile (1..10, or null) per LSOA of its LSOA level,
    in that order; anything else is a problem."""
    deciles = layer.get("deciles") if isinstance(layer, dict) else None
    extra = sorted(set(layer) - {"deciles", "label", "credit"}) if isinstance(layer, dict) else []
    if extra:
        model.problems.append(f"{ATLAS_PAGE}: the deprivation layer's {extra[0]!r} is no cell")
    if not isinstance(deciles, list) or len(deciles) != len(lsoa_codes):
        model.problems.append(f"{ATLAS_PAGE}: the deprivation layer gives no decile per LSOA")
        return
    bad = [d for d in deciles if d is not None and (type(d) is not int or not 1 <= d <= 10)]
    if bad:
        model.problems.append(f"{ATLAS_PAGE}: the deprivation layer holds a value not a decile")
        return
    model.lsoa_deciles = {c: d for c, d in zip(lsoa_codes, deciles) if d is not None}


def read_deprivation(f: _Files, model: FileModel) -> None:
    """``monitoring_imd.csv``: each row's count is the cell ``imd:<area>:<decile>:<cohort>``
    with the build's groups; its rate and interval, and ``monitoring_imd_sii.csv``'s SII,
    must be those the published counts give."""
    path = REPORT_CSV + IMD_DECILES
    t = f.csv(path)
    if model.lsoa_deciles is None:
        model.problems.append(
            f"{path}: the atlas gives no LSOA's IMD decile, so its groups cannot be known"
        )
        return
    lsoas = f.csv(LSOA_TABLE).drop_duplicates("lsoa_code")[["lsoa_code", "la_code"]]
    by_la = bool((t["la_code"] != TOTAL).any())
    present, groups = deprivation_groups(lsoas, pd.Series(model.lsoa_deciles), by_la)
    want = [(la, str(d), c) for la, ds in present.items() for d in ds for c in COHORT_ORDER]
    if sorted(zip(t["la_code"], t["decile"], t["cohort"])) != sorted(want):
        model.problems.append(
            f"{path}: its rows are not the areas and deciles the atlas gives the LSOAs"
        )
        return
    cells = []
    for i, r in enumerate(t.itertuples()):
        cell = imd_id(r.la_code, r.decile, r.cohort)
        _read(model, cell, r.individuals, path, i)
        cells.append(cell)
    model.sets.append(CellSet(DEPRIVATION, _cells(cells), groups))
    shown = t.assign(
        individuals=pd.to_numeric(t["individuals"].str.strip()).astype("Int64"),
        suppressed=t["individuals"].str.strip() == "",
        population=pd.to_numeric(t["population"].str.strip()),
    )
    expected = decile_table(shown)
    for i in range(len(t)):
        for col in RATE_COLUMNS:
            if t.at[i, col].strip() != expected.at[i, col]:
                model.problems.append(
                    f"{_place(path, i)}: {col} is not the rate of the published count "
                    "and population"
                )
    if f.has(REPORT_CSV + IMD_SII):
        _sii(f.csv(REPORT_CSV + IMD_SII), sii_table(shown), model)


def _sii(t: pd.DataFrame, expected: pd.DataFrame, model: FileModel) -> None:
    """Each published SII (and interval) is the one the published counts give, and blank
    where they give none."""
    path = REPORT_CSV + IMD_SII
    want = {(r.la_code, r.cohort): r for r in expected.itertuples()}
    for i, r in enumerate(t.itertuples()):
        e = want.get((r.la_code, r.cohort))
        if e is None:
            model.problems.append(f"{_place(path, i)}: no area and cohort of the decile table")
            continue
        for col in SII_COLUMNS[:3]:
            text, value = str(getattr(r, col)).strip(), float(getattr(e, col))
            # within one unit of the last place: the simulation's floating point may differ
            # in its last bit on another machine, which rounding can carry that far
            same = (not text and math.isnan(value)) or (
                bool(text)
                and not math.isnan(value)
                and abs(float(text) - value) <= 10.0**-SII_PLACES + 1e-9
            )
            if not same:
                model.problems.append(
                    f"{_place(path, i)}: {col} is not the one the published counts give"
                )
