"""The audit of a drop (spec section 2, *Audit*): attack what is published, look for clients.

Works from the drop's files alone. The published tables are read back, their cells and
additive groups are declared by the same code that protected them (``suppress._register``),
and the LP attacker (:mod:`atlas.attack`) finds, for every suppressed cell, the smallest and
largest value consistent with everything published. A cell is *exposed* when that interval
holds one whole value or lies wholly within 1..threshold-1. Every file is also scanned for the
identifiers of the extract's clients: ``client_ref``, attributor, date of birth, full postcode.

``audit_files`` runs as the last step of every build, before anything is written; ``ims-atlas
audit DROP`` runs it on a written drop. During a build, disclosure control has just attacked the
same cells: when every cell the files publish is published as ``suppress.protect`` left it and
every group read from the files is one it attacked, the audit's problem is a relaxation of that
one (fewer cells and groups, the same bounds), so no cell it could expose survived; the attack
is then not run again (the files are still read back, checked and scanned).
"""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse

from ..counting.aggregate import COLUMNS, Counts
from ..counting.individuals import attributors
from ..errors import DisclosureError, UsageError
from ..extract.reader import Extract
from . import attack
from .identifier_scan import Needles, scan_files
from .pdf_text import scannable
from .suppress import ACTIVITY, Attacked, CellTable, _register, knowledge

log = logging.getLogger(__name__)

DERIVED = ("rate_per_1000", "rate_lower", "rate_upper")
# refs like these cannot be told apart from counts or ordinary words of a page, so are not
# searched for: up to 5 digits, or up to 3 characters of any kind
SHORT_REF = re.compile(r"^(\d{1,5}|.{1,3})$")


@dataclass
class Identifiers:
    """What would identify a client of the extract, normalised for searching."""

    client_refs: Collection[str] = field(default_factory=set)
    attributors: Collection[str] = field(default_factory=set)
    dates_of_birth: Collection[str] = field(default_factory=set)  # ISO
    postcodes: Collection[str] = field(default_factory=set)  # upper case, no space

    def needles(self) -> Needles:
        """The identifiers in the forms the scan compares."""
        return Needles.of(self.postcodes, self.dates_of_birth, self.client_refs, self.attributors)

    @classmethod
    def from_extract(cls, extract: Extract) -> Identifiers:
        """The identifiers of the extract's clients (and its assessments' postcodes)."""
        clients = extract["clients.csv"]
        born = clients["date_of_birth"]
        dob = pd.Series(born.dropna().unique()).dt.strftime("%Y-%m-%d")
        text, _ = attributors(clients)
        codes = pa.concat_arrays(
            [_present(clients, "postcode"), _present(extract["assessments.csv"], "postcode")]
        )
        refs = _text(clients["client_ref"].astype(str))
        return cls(
            refs.filter(pa.array(~_short_refs(refs))),
            _text(text[born.notna()]),
            _text(dob),
            _postcode_keys(pc.unique(codes)),
        )


def _text(values: pd.Series) -> pa.Array:
    """The values (text) as an Arrow string array."""
    return pa.array(values, type=pa.large_string())


def _present(frame: pd.DataFrame, column: str) -> pa.Array:
    """The column's values that are not missing, as text (``dropna().astype(str)``)."""
    if column not in frame:
        return pa.array([], type=pa.large_string())
    values = frame[column]
    try:
        return pc.drop_null(pa.array(values, type=pa.large_string(), from_pandas=True))
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all text
        return _text(values.dropna().astype(str))


def _short_refs(refs: pa.Array) -> np.ndarray:
    """Which refs are too short to search for (``SHORT_REF``; only refs of up to 5 characters
    can be, so only those are matched)."""
    short = np.zeros(len(refs), dtype=bool)
    few = np.flatnonzero(pc.utf8_length(refs).to_numpy(zero_copy_only=False) <= 5)
    short[few] = [SHORT_REF.fullmatch(r) is not None for r in refs.take(few).to_pylist()]
    return short


POSTCODE_KEY = r"[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}"
_PY_SPACE = "[\t\n\x0b\x0c\r\x1c-\x1f ]+"  # Python's ``\s`` on ASCII text, for RE2


def _postcode_keys(codes: pa.Array) -> pa.Array:
    """The values that look like full postcodes, upper case without spaces (pyarrow
    when the text is all ASCII, where it cases and splits exactly as Python does)."""
    if len(codes) and pc.all(pc.string_is_ascii(codes)).as_py() is False:
        text = pd.Series(codes.to_numpy(zero_copy_only=False), dtype=object)
        text = text.str.upper().str.replace(r"\s+", "", regex=True)
        return _text(text[text.str.fullmatch(POSTCODE_KEY)])
    keys = pc.replace_substring_regex(pc.ascii_upper(codes), _PY_SPACE, "")
    return keys.filter(pc.match_substring_regex(keys, f"^{POSTCODE_KEY}$"))


@dataclass
class AuditReport:
    """What the audit found: exposed cells and identifiers, with the size of the attack."""

    threshold: int
    rounding: int
    cells: int = 0
    suppressed: int = 0
    components: int = 0
    solves: int = 0
    seconds: float = 0.0
    exposures: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    scanned: int = 0  # files scanned for identifiers (0: no extract given)
    reused: bool = False  # the build's disclosure-control attack covered this one

    @property
    def clean(self) -> bool:
        return not self.exposures and not self.leaks

    def check(self) -> None:
        """Raise DisclosureError naming every exposed cell and identifier found."""
        if self.clean:
            return
        lines = self.exposures[:20] + self.leaks[:20]
        more = len(self.exposures) + len(self.leaks) - len(lines)
        raise DisclosureError(
            "the drop fails its disclosure audit and must not be published:\n"
            + "\n".join(f"  {line}" for line in lines)
            + (f"\n  … and {more} more" if more > 0 else "")
        )

    def summary(self) -> str:
        attacked = (
            "attacked by disclosure control (the files publish its cells"
            if self.reused
            else f"attacked in {self.components:,} components ({self.solves:,} linear programs"
        )
        return (
            f"{self.cells:,} cells, {self.suppressed:,} suppressed, {attacked}, "
            f"{self.seconds:.1f} s): {len(self.exposures)} exposed; "
            + (
                f"{self.scanned} files scanned for client identifiers: {len(self.leaks)} found"
                if self.scanned
                else "no extract given, client identifiers not scanned"
            )
        )


def audit_files(
    files: dict[str, bytes],
    threshold: int,
    rounding: int = 0,
    identifiers: Identifiers | None = None,
    attacked: Attacked | None = None,
) -> AuditReport:
    """Attack the published tables among ``files`` (path in the drop -> bytes) and scan every
    file for the identifiers. ``attacked``: what the build's disclosure control found safe,
    reused when it covers the files' cells and groups."""
    started = time.perf_counter()
    report = AuditReport(threshold, rounding)
    scanning = None
    if identifiers is not None:  # the scan (mostly numpy, which frees the GIL) runs beside
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scan")
        scanning = pool.submit(
            lambda: scan_files(
                scannable({path: files[path] for path in sorted(files)}), identifiers.needles()
            )
        )
        pool.shutdown(wait=False)
    frames = {
        attr: _read_table(path, files[path], columns)
        for path, (attr, columns) in COLUMNS.items()
        if path in files
    }
    missing = [p for p in COLUMNS if p not in files]
    if missing:
        report.exposures.append(f"{', '.join(missing)}: missing, cannot be audited")
    else:
        try:
            _attack_tables(frames, report, attacked)
        except KeyError as exc:  # a table names an area its parent table does not have
            report.exposures.append(
                f"the tables do not agree: {exc.args[0]!r} is named in one table but missing "
                "from the table it adds up to, so the drop cannot be audited"
            )
    if scanning is not None:
        found = scanning.result()
        report.leaks.extend(
            f"{path} line {line}: {kind}" for path, hits in found.items() for line, kind in hits
        )
        report.scanned = len(files)
    report.seconds = time.perf_counter() - started
    return report


def audit_drop(
    folder: Path,
    extract: Extract | None = None,
    threshold: int | None = None,
    rounding: int | None = None,
) -> AuditReport:
    """Audit a written drop; threshold and rounding default to those in its ledger.json."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DisclosureError(f"{folder}: not a drop folder")
    files = {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
    if not files:
        raise UsageError(f"{folder}: an empty folder, not a drop")
    settings = _ledger_settings(folder, files["ledger.json"]) if "ledger.json" in files else {}
    threshold = threshold or settings.get("threshold")
    if threshold is None:
        raise DisclosureError(f"{folder}: ledger.json gives no threshold; pass --threshold")
    rounding = settings.get("rounding", 0) if rounding is None else rounding
    try:
        return audit_files(
            files,
            int(threshold),
            int(rounding),
            Identifiers.from_extract(extract) if extract is not None else None,
        )
    except UnreadableTable as exc:
        raise UnreadableTable(f"{folder / str(exc)}") from None


def _ledger_settings(folder: Path, data: bytes) -> dict:
    """The ledger's suppression settings; DisclosureError (one line) when it is not ours."""
    try:
        ledger = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise DisclosureError(
            f"{folder / 'ledger.json'}: not UTF-8 text (byte {exc.start + 1}): not a drop's ledger"
        ) from None
    except ValueError as exc:
        raise DisclosureError(
            f"{folder / 'ledger.json'}: not valid JSON ({exc.args[0].split(':')[0]} at line "
            f"{getattr(exc, 'lineno', '?')}): not a drop's ledger"
        ) from None
    settings = ledger.get("suppression", {}) if isinstance(ledger, dict) else None
    if not isinstance(settings, dict) or not all(
        isinstance(settings.get(k, 0), int) for k in ("threshold", "rounding")
    ):
        raise DisclosureError(
            f"{folder / 'ledger.json'}: its suppression settings are not those of a drop"
        )
    return settings


class UnreadableTable(DisclosureError):
    """A published table that cannot be read as one; its message starts with its path."""


def _read_table(path: str, data: bytes, columns: list[str]) -> pd.DataFrame:
    """One published table as text; DisclosureError (one line) when it cannot be one."""
    try:
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableTable(
            f"{path}: not UTF-8 text (byte {exc.start + 1}): not a table of a drop"
        ) from None
    except pd.errors.EmptyDataError:
        raise UnreadableTable(f"{path}: an empty file, not a table of a drop") from None
    except pd.errors.ParserError as exc:
        problem = str(exc).split(". C error: ")[-1].strip().rstrip(".")
        raise UnreadableTable(f"{path}: not a readable CSV table ({problem})") from None
    missing = [c for c in ("individuals", "suppressed") if c in columns and c not in frame]
    if missing:
        raise UnreadableTable(f"{path}: not a table of a drop (no column {', '.join(missing)})")
    return frame


def _attack_tables(
    frames: dict[str, pd.DataFrame], report: AuditReport, attacked: Attacked | None = None
) -> None:
    """Rebuild the cells and groups from the tables, then attack every suppressed cell."""
    structure = {k: f.assign(individuals=0) for k, f in frames.items()}
    structure["site_activity"] = structure["site_activity"].assign(**dict.fromkeys(ACTIVITY, 0))
    cells = CellTable()
    ids = _register(cells, Counts(**structure, cohorts={}, area_name=""))
    where = {c: i for i, c in enumerate(cells.values)}
    names = list(cells.values)
    index = pd.Index(names)  # every id the tables name is one of its cells
    value = np.full(len(where), np.nan)
    hidden = np.zeros(len(where), dtype=bool)
    seen = np.zeros(len(where), dtype=bool)
    for attr, frame in frames.items():
        path = next(p for p, (a, _) in COLUMNS.items() if a == attr)
        pos = index.get_indexer(ids[attr])
        text = frame["individuals"].str.strip()
        blank = (text == "").to_numpy()
        flagged = (frame["suppressed"].str.lower() == "true").to_numpy()
        vals = pd.to_numeric(text, errors="coerce").to_numpy()
        lines = frame.index.to_numpy() + 2
        for line in lines[flagged & ~blank]:
            report.exposures.append(f"{path} line {line}: a suppressed count is published")
        for line in lines[~blank & np.isnan(vals)]:
            report.exposures.append(f"{path} line {line}: individuals is not a count")
        small = ~blank & (vals > 0) & (vals < report.threshold)
        for line in lines[small]:
            report.exposures.append(
                f"{path} line {line}: a count below {report.threshold} is published"
            )
        for col in DERIVED:
            if col in frame:
                for line in lines[blank & (frame[col].str.strip() != "").to_numpy()]:
                    report.exposures.append(
                        f"{path} line {line}: {col} is published for a suppressed count"
                    )
        # a cell published in two tables must be published the same in both
        both = seen[pos] & ((hidden[pos] != blank) | (~blank & (value[pos] != vals)))
        for line in lines[both]:
            report.exposures.append(
                f"{path} line {line}: {names[pos[lines == line][0]]} "
                "differs from the same cell in another table"
            )
        hidden[pos] |= blank
        value[pos] = np.where(blank, value[pos], vals)
        seen[pos] = True
    _read_activity(frames["site_activity"], ids, index, value, hidden, report)
    people = np.fromiter((c not in cells.activity for c in names), dtype=bool, count=len(names))
    published = np.nan_to_num(value, nan=0.0)
    lo, hi = knowledge(published, hidden, report.threshold, report.rounding, exact=~people)
    groups = cells.matrix(where)
    bounds = cells._bound_matrix(where, published, hidden)
    exact = hi - lo <= attack.EPS
    closed = np.asarray(abs(groups)[:, ~exact].sum(axis=1)).ravel() == 0
    residual = groups[closed] @ lo
    if np.any(np.abs(residual) > attack.EPS):
        report.exposures.append(
            f"{int((np.abs(residual) > attack.EPS).sum())} fully published group(s) do not add up"
        )
    report.cells, report.suppressed = int(people.sum()), int((hidden & people).sum())
    if attacked is not None and _covered(
        attacked, names, published, hidden, (groups, bounds), report
    ):
        report.reused = True
        return
    # only as far as the verdict needs: an exposed cell still gets its exact bounds
    found = attack.intervals(
        attack.Problem(lo, hi, groups, hidden & people, bounds), threshold=report.threshold
    )
    report.components, report.solves = found.components, found.solves
    if found.infeasible:
        report.exposures.append(
            "the published numbers contradict each other around "
            + ", ".join(names[i] for i in found.infeasible[:5])
        )
    exposed = attack.exposed(found.low, found.high, report.threshold)
    for i in np.flatnonzero(hidden & people & exposed):
        report.exposures.append(
            f"cell {names[i]} can be narrowed to {_span(found.low[i], found.high[i])}"
        )


def _read_activity(
    frame: pd.DataFrame,
    ids: dict[str, pd.Series],
    index: pd.Index,
    value: np.ndarray,
    hidden: np.ndarray,
    report: AuditReport,
) -> None:
    """The activity columns of site_activity.csv into the cells: blank ones hidden."""
    for kind in ACTIVITY:
        pos = index.get_indexer(ids[f"site_activity:{kind}"])
        text = frame[kind].str.strip()
        blank = (text == "").to_numpy()
        vals = pd.to_numeric(text, errors="coerce").to_numpy()
        for line in (frame.index.to_numpy() + 2)[~blank & np.isnan(vals)]:
            report.exposures.append(f"tables/site_activity.csv line {line}: {kind} is not a count")
        hidden[pos] = blank
        value[pos] = np.where(blank | np.isnan(vals), 0.0, vals)


def _covered(
    attacked: Attacked,
    names: list[str],
    published: np.ndarray,
    hidden: np.ndarray,
    relations: tuple[sparse.csr_matrix, sparse.csr_matrix],
    report: AuditReport,
) -> bool:
    """Whether ``attacked`` covers the files' problem: the same threshold and rounding, every
    cell among its cells, hidden alike and published with the same value, every group and
    every activity bound (rows of ``relations``) equal to one of its own."""
    if (attacked.threshold, attacked.rounding) != (report.threshold, report.rounding):
        return False
    pos = pd.Index(attacked.ids).get_indexer(names)
    if (pos < 0).any() or not np.array_equal(hidden, attacked.hidden[pos]):
        return False
    shown = ~hidden
    if not np.array_equal(published[shown], attacked.published[pos][shown]):
        return False
    return all(
        _rows_among(mine, theirs, pos)
        for mine, theirs in zip(relations, (attacked.groups, attacked.bounds))
    )


def _rows_among(groups: sparse.csr_matrix, theirs: sparse.csr_matrix | None, pos: np.ndarray):
    """Whether every row of ``groups`` (columns: the files' cells, at ``pos`` among theirs)
    equals a row of ``theirs``."""
    if theirs is None:
        return groups.shape[0] == 0
    theirs = theirs.tocsr()
    mine = sparse.csr_matrix(
        (groups.data, pos[groups.indices], groups.indptr), shape=(groups.shape[0], theirs.shape[1])
    )
    # rows a and b are equal when |a|^2 + |b|^2 == 2 a.b (|a - b|^2 == 0)
    sq_mine = np.asarray(mine.multiply(mine).sum(axis=1)).ravel()
    sq_theirs = np.asarray(theirs.multiply(theirs).sum(axis=1)).ravel()
    dots = (mine @ theirs.T).tocoo()
    equal = sq_mine[dots.row] + sq_theirs[dots.col] == 2 * dots.data
    covered = sq_mine == 0
    covered[dots.row[equal]] = True
    return bool(covered.all())


def _span(low: float, high: float) -> str:
    lo, hi = int(np.ceil(low - attack.EPS)), np.floor(high + attack.EPS)
    return f"exactly {lo}" if lo >= hi else f"{lo} to {int(hi)}"


def scan(path: str, data: bytes, ids: Identifiers) -> list[str]:
    """Every client identifier found in one file, by kind and line (never the value)."""
    return [
        f"{path} line {line}: {kind}"
        for line, kind in scan_files(scannable({path: data}), ids.needles())[path]
    ]
