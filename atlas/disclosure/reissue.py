"""The two-issue attack (issue 13, *re-issues and series*): what a reader holding a drop and
its earlier issue learns from the differences.

A re-issue (the same period rebuilt with late rows, a corrected extract) publishes the same
cells again. Each cell is matched with its earlier self by its identity (file, area code,
cohort, site, quarter, category, column), and the difference NEW - OLD counts the people who
came or went between the issues. A difference that lies wholly within 1..threshold-1 (or
-(threshold-1)..-1), or is pinned to such a value, singles out fewer than ``threshold`` people:
the reader learns, for instance, that one person of a cohort and LSOA was added, and with the
other tables that person's age band, site and quarter.

Two attacks:

* *direct*: every count of people published in both issues (``PEOPLE_COUNTS``: spec tables,
  report CSVs, the ledger's cohorts and match levels) gives its difference within the
  interval of each issue's value (exact; +-rounding//2 when rounded; +-D under the cell key);
* *linear*: the spec tables of both issues, with every additive group and activity bound of
  each (the single-issue model of :mod:`atlas.disclosure.audit`), and a difference variable
  ``d = new - old`` per matched cell, in one LP (:mod:`atlas.disclosure.attack`); a difference
  the relations of both issues pin to a small value, though a cell is suppressed in one of
  them, is found here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from ..counting.aggregate import COLUMNS, Counts
from ..errors import DisclosureError, UsageError
from . import attack
from .audit import AuditReport, _ledger_settings, _read_activity, _read_table
from .suppress import CellTable, _register, knowledge

# the counts of people each published CSV holds: identity columns, count columns
PEOPLE_COUNTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "tables/residence_lsoa_cohorts.csv": (("lsoa_code", "cohort"), ("individuals",)),
    "tables/residence_la_cohorts.csv": (("la_code", "cohort"), ("individuals",)),
    "tables/residence_msoa_cohorts.csv": (("msoa_code", "cohort"), ("individuals",)),
    "tables/service_la_cohorts.csv": (("la_code", "cohort"), ("individuals",)),
    "tables/site_activity.csv": (("site_code",), ("individuals",)),
    "reports/csv/monitoring_profiles.csv": (
        ("dimension", "category", "cohort"),
        ("individuals",),
    ),
    "reports/csv/monitoring_trend.csv": (("year", "cohort"), ("individuals",)),
    "reports/csv/monitoring_cohort_summary.csv": (
        ("period", "la_code", "cohort"),
        ("last_quarter", "twelve_months"),
    ),
    "reports/csv/monitoring_la_activity.csv": (("la_code", "quarter"), ("intervention_clients",)),
    "reports/csv/data_quality_la_individuals.csv": (
        ("la_code",),
        ("q1", "q2", "q3", "q4", "twelve_months"),
    ),
    "reports/csv/data_quality_site_individuals.csv": (
        ("site_code",),
        ("q1", "q2", "q3", "q4", "twelve_months"),
    ),
    "reports/csv/data_quality_assessments.csv": (
        ("unit", "code"),
        ("seen", "with_assessment", "without_assessment"),
    ),
    "reports/csv/data_quality_reassessment.csv": (
        ("unit", "code"),
        ("seen_six_months", "reassessed", "not_reassessed"),
    ),
}
LEDGER_COUNTS = ("cohorts", "match_levels")  # ledger.json sections of counts of people


@dataclass
class Settings:
    """How one issue's published counts relate to the true ones."""

    threshold: int
    rounding: int = 0
    perturbation: int = 0  # the cell key's largest perturbation D (0: not perturbed)

    def interval(self, value: np.ndarray, hidden: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """What a reader knows of each count of people: exact, within +-rounding//2 (and
        never 1..threshold-1), the counts the cell key's ptable turns into a perturbed value, or
        ``[0, inf)`` when hidden."""
        return knowledge(
            value, hidden, self.threshold, self.rounding, perturbation=self.perturbation
        )


@dataclass
class ReissueReport:
    """What the two-issue attack found: differences that single out fewer than the threshold."""

    threshold: int
    matched: int = 0  # counts of people published in both issues
    changed: int = 0  # of which published differently
    components: int = 0
    solves: int = 0
    seconds: float = 0.0
    exposures: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.exposures

    def check(self) -> None:
        """Raise DisclosureError naming every difference that singles people out."""
        if self.clean:
            return
        lines = self.exposures[:20]
        more = len(self.exposures) - len(lines)
        raise DisclosureError(
            "the two issues together single out fewer than "
            f"{self.threshold} people:\n"
            + "\n".join(f"  {line}" for line in lines)
            + (f"\n  … and {more} more" if more > 0 else "")
        )

    def summary(self) -> str:
        return (
            f"{self.matched:,} counts of people in both issues, {self.changed:,} published "
            f"differently, attacked together in {self.components:,} components "
            f"({self.solves:,} linear programs, {self.seconds:.1f} s): "
            f"{len(self.exposures)} differences single people out"
        )


def audit_reissue(
    new: Path,
    previous: Path,
    threshold: int | None = None,
    new_files: dict[str, bytes] | None = None,
) -> ReissueReport:
    """Attack two issues of a drop together (``new`` and the ``previous`` issue); threshold
    defaults to the new issue's ledger, each issue's rounding or perturbation to its own.
    ``new_files``: the new issue's files in memory (a build not yet written to ``new``)."""
    started = time.perf_counter()
    files_new = _files(Path(new)) if new_files is None else _wanted(new_files)
    files_old = _files(Path(previous))
    settings_new = _settings(Path(new), files_new, threshold)
    settings_old = _settings(Path(previous), files_old, settings_new.threshold)
    report = ReissueReport(settings_new.threshold)
    cells_new = _published_counts(files_new, Path(new))
    cells_old = _published_counts(files_old, Path(previous))
    shared = sorted(set(cells_new) & set(cells_old))
    report.matched = len(shared)
    flagged: set[str] = set()
    for cell in shared:
        (v_new, h_new), (v_old, h_old) = cells_new[cell], cells_old[cell]
        if h_new or h_old:
            continue  # a hidden side: left to the linear attack where it has relations
        report.changed += v_new != v_old
        lo_n, hi_n = settings_new.interval(np.array([v_new]), np.array([False]))
        lo_o, hi_o = settings_old.interval(np.array([v_old]), np.array([False]))
        low, high = float(lo_n[0] - hi_o[0]), float(hi_n[0] - lo_o[0])
        if _singles_out(np.array([low]), np.array([high]), report.threshold)[0]:
            flagged.add(cell)
            report.exposures.append(
                f"{_describe(cell)}: {_number(v_old)} -> {_number(v_new)}, "
                f"{_difference(low, high)}"
            )
    _attack_together(
        (files_new, settings_new, Path(new)),
        (files_old, settings_old, Path(previous)),
        report,
        flagged,
    )
    report.seconds = time.perf_counter() - started
    return report


def _wanted(files: dict[str, bytes]) -> dict[str, bytes]:
    """The files of a drop in memory that the attack reads."""
    wanted = {*PEOPLE_COUNTS, *COLUMNS, "ledger.json"}
    return {p: files[p] for p in sorted(wanted) if p in files}


def _files(folder: Path) -> dict[str, bytes]:
    """The files of a written drop the attack reads (path in the drop -> bytes)."""
    if not folder.is_dir():
        raise DisclosureError(f"{folder}: not a drop folder")
    wanted = {*PEOPLE_COUNTS, *COLUMNS, "ledger.json"}
    files = {p: (folder / p).read_bytes() for p in sorted(wanted) if (folder / p).is_file()}
    if not files:
        raise UsageError(f"{folder}: holds no table of a drop")
    return files


def _settings(folder: Path, files: dict[str, bytes], threshold: int | None) -> Settings:
    """An issue's protection from its ledger (the threshold given wins)."""
    ledger = _ledger_settings(folder, files["ledger.json"]) if "ledger.json" in files else {}
    threshold = threshold or ledger.get("threshold")
    if threshold is None:
        raise DisclosureError(f"{folder}: ledger.json gives no threshold; pass --threshold")
    perturbation = ledger.get("perturbation", 0) if ledger.get("protection") == "cell_key" else 0
    return Settings(int(threshold), int(ledger.get("rounding", 0)), int(perturbation))


def _published_counts(files: dict[str, bytes], folder: Path) -> dict[str, tuple[float, bool]]:
    """Every count of people an issue publishes, by identity: (value, hidden)."""
    out: dict[str, tuple[float, bool]] = {}
    for path, (keys, columns) in PEOPLE_COUNTS.items():
        if path not in files:
            continue
        try:
            frame = _read_table(path, files[path], [])
        except DisclosureError as exc:
            raise DisclosureError(f"{folder / str(exc)}") from None
        missing = [c for c in (*keys, *columns) if c not in frame]
        if missing:
            raise DisclosureError(
                f"{folder / path}: not a table of a drop (no column {', '.join(missing)})"
            )
        ident = frame[list(keys)].agg(":".join, axis=1) if len(frame) else pd.Series([], dtype=str)
        for column in columns:
            text = frame[column].str.strip()
            values = pd.to_numeric(text, errors="coerce")
            bad = (text != "") & values.isna()
            if bad.any():
                line = int(np.flatnonzero(bad.to_numpy())[0]) + 2
                raise DisclosureError(f"{folder / path} line {line}: {column} is not a count")
            for name, v, blank in zip(ident, values.fillna(0.0), text == ""):
                out[f"{path}|{name}|{column}"] = (float(v), bool(blank))
    if "ledger.json" in files:
        ledger: Any = json.loads(files["ledger.json"].decode("utf-8"))
        for section in LEDGER_COUNTS:
            for key, v in (ledger.get(section) or {}).items():
                if v is None or isinstance(v, int):
                    out[f"ledger.json|{section}.{key}|"] = (float(v or 0), v is None)
    return out


@dataclass
class Model:
    """One issue's spec tables as the single-issue audit sees them."""

    names: list[str]
    lo: np.ndarray
    hi: np.ndarray
    groups: sparse.csr_matrix
    bounds: sparse.csr_matrix
    people: np.ndarray


def _model(files: dict[str, bytes], settings: Settings, folder: Path) -> Model | None:
    """The cells (intervals), groups and activity bounds of an issue's spec tables; None when
    a table is missing."""
    if any(p not in files for p in COLUMNS):
        return None
    try:
        frames = {attr: _read_table(p, files[p], cols) for p, (attr, cols) in COLUMNS.items()}
    except DisclosureError as exc:
        raise DisclosureError(f"{folder / str(exc)}") from None
    structure = {k: f.assign(individuals=0) for k, f in frames.items()}
    structure["site_activity"] = structure["site_activity"].assign(
        nsp_visits=0, nsp_returns=0, interventions=0
    )
    cells = CellTable()
    ids = _register(cells, Counts(**structure, cohorts={}, area_name=""))
    names = list(cells.values)
    where = {c: i for i, c in enumerate(names)}
    index = pd.Index(names)
    value = np.zeros(len(names))
    hidden = np.zeros(len(names), dtype=bool)
    for attr, frame in frames.items():
        pos = index.get_indexer(ids[attr])
        text = frame["individuals"].str.strip()
        hidden[pos] = (text == "").to_numpy()
        value[pos] = pd.to_numeric(text, errors="coerce").fillna(0.0).to_numpy()
    scratch = AuditReport(settings.threshold, settings.rounding)
    seen = np.zeros(len(names), dtype=bool)
    first = np.empty(len(names), dtype=object)
    _read_activity(frames["site_activity"], ids, index, value, hidden, seen, first, scratch)
    if scratch.exposures:
        raise DisclosureError(f"{folder}: {scratch.exposures[0]}")
    people = np.fromiter((c not in cells.activity for c in names), dtype=bool, count=len(names))
    lo, hi = settings.interval(value, hidden)
    lo = np.where(people, lo, np.where(hidden, 0.0, value))  # activity: exact where shown
    hi = np.where(people, hi, np.where(hidden, np.inf, value))
    groups = cells.matrix(where)
    bounds = cells._bound_matrix(where, value, hidden)
    return Model(names, lo, hi, groups, bounds, people)


def _attack_together(
    new: tuple[dict[str, bytes], Settings, Path],
    old: tuple[dict[str, bytes], Settings, Path],
    report: ReissueReport,
    flagged: set[str],
) -> None:
    """One LP over both issues' spec tables and a difference per matched count of people
    (and its negation, so that the attack's early stop sees small negative differences too):
    the differences not known from the two published values alone are attacked; those the
    direct attack found (``flagged``) are not named twice."""
    m_new, m_old = _model(*new), _model(*old)
    if m_new is not None and m_old is not None:
        attack_models(m_new, m_old, report, flagged)


def attack_models(
    m_new: Model, m_old: Model, report: ReissueReport, flagged: Collection[str] = ()
) -> None:
    """The LP over two issues' models (:func:`_attack_together`)."""
    pos_old = pd.Index(m_old.names).get_indexer(m_new.names)
    exact = lambda m: m.hi - m.lo <= attack.EPS  # noqa: E731
    pair = np.flatnonzero(
        (pos_old >= 0) & m_new.people & ~(exact(m_new) & exact(m_old)[np.maximum(pos_old, 0)])
    )
    if not len(pair):
        return
    n1, n2, k = len(m_new.names), len(m_old.names), len(pair)
    # columns: new cells, old cells, differences d, negations e (= -d)
    rows = np.arange(k)
    link = sparse.csr_matrix(
        (
            np.r_[np.ones(k), -np.ones(k), -np.ones(k)],
            (np.r_[rows, rows, rows], np.r_[pair, n1 + pos_old[pair], n1 + n2 + rows]),
        ),
        shape=(k, n1 + n2 + 2 * k),
    )
    negate = sparse.csr_matrix(
        (np.ones(2 * k), (np.r_[rows, rows], np.r_[n1 + n2 + rows, n1 + n2 + k + rows])),
        shape=(k, n1 + n2 + 2 * k),
    )
    groups = sparse.vstack(
        [
            sparse.block_diag([m_new.groups, m_old.groups, sparse.csr_matrix((0, 2 * k))]),
            link,
            negate,
        ]
    ).tocsr()
    bounds = sparse.block_diag([m_new.bounds, m_old.bounds, sparse.csr_matrix((0, 2 * k))]).tocsr()
    free = np.full(2 * k, np.inf)  # a difference: unbounded but for the groups
    lo = np.r_[m_new.lo, m_old.lo, -free]
    hi = np.r_[m_new.hi, m_old.hi, free]
    targets = np.r_[np.zeros(n1 + n2, dtype=bool), np.ones(2 * k, dtype=bool)]
    found = attack.intervals(
        attack.Problem(lo, hi, groups, targets, bounds), threshold=report.threshold
    )
    report.components, report.solves = found.components, found.solves
    if found.infeasible:
        report.exposures.append(
            "the two issues' tables contradict each other around "
            + ", ".join(
                (m_new.names + m_old.names + [""] * 2 * k)[i] for i in found.infeasible[:5]
            )
        )
        return
    low, high = found.low[n1 + n2 : n1 + n2 + k], found.high[n1 + n2 : n1 + n2 + k]
    for i in np.flatnonzero(_singles_out(low, high, report.threshold)):
        cell = m_new.names[pair[i]]
        if _file_cell(cell) not in flagged:
            report.exposures.append(
                f"cell {cell}: the two issues together give {_difference(low[i], high[i])}"
            )


_SPEC_FILES = {
    "lsoa": "tables/residence_lsoa_cohorts.csv",
    "la": "tables/residence_la_cohorts.csv",
    "msoa": "tables/residence_msoa_cohorts.csv",
    "svc": "tables/service_la_cohorts.csv",
    "site": "tables/site_activity.csv",
}


def _file_cell(name: str) -> str:
    """The direct attack's key of a spec-table cell of the model (``lsoa:E01...:bi``)."""
    kind, _, rest = name.partition(":")
    if kind == "total":
        return f"tables/residence_la_cohorts.csv|TOTAL:{rest}|individuals"
    return f"{_SPEC_FILES.get(kind, kind)}|{rest}|individuals"


def _singles_out(low: np.ndarray, high: np.ndarray, threshold: int) -> np.ndarray:
    """Differences that single out fewer than ``threshold`` people: pinned to a whole value
    0 < |v| < threshold, or lying wholly within 1..threshold-1 or -(threshold-1)..-1."""
    lo, hi = attack.whole(low, high)
    small = threshold - 1
    return ((lo >= 1) & (hi <= small)) | ((hi <= -1) & (lo >= -small))


def _difference(low: float, high: float) -> str:
    lo, hi = int(np.ceil(low - attack.EPS)), int(np.floor(high + attack.EPS))
    word = lambda n: f"{abs(n)} {'person' if abs(n) == 1 else 'people'}"  # noqa: E731
    sign = "more" if lo > 0 else "fewer"
    if lo == hi:
        return f"{word(lo)} {sign}"
    return f"{min(abs(lo), abs(hi))} to {word(max(abs(lo), abs(hi)))} {sign}"


def _number(v: float) -> str:
    return f"{v:g}"


def _describe(cell: str) -> str:
    path, ident, column = cell.split("|")
    return f"{path} {ident}" + (f" {column}" if column else "")
