"""The audit of a drop (spec section 2, *Audit*): attack what is published, look for clients.

Works from the drop's files alone. The published tables are read back, their cells and
additive groups are declared by the same code that protected them (``suppress._register``);
every other file that shows a number (the MSOA table, the report CSVs and HTML, the GeoJSON, the
atlas page and its LSOA scripts, the siting tables, the ledger) is read back into the same model
by :mod:`.published_model`, each place a cell is shown checked against the others; and the LP
attacker (:mod:`atlas.attack`) finds, for every suppressed cell, the smallest and largest value
consistent with everything published. A cell is *exposed* when that interval
holds one whole value or lies wholly within 1..threshold-1. Every file is also scanned for the
identifiers of the extract's clients: ``client_ref``, attributor, date of birth, full postcode,
from every record read, accepted or rejected (:mod:`atlas.extract.personal`), found however
written (:mod:`atlas.disclosure.identifier_scan`); but for the build's own date where the build
writes it, and references too ordinary to search for (said so in the log and the summary).

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
from dataclasses import dataclass, field, replace
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
from .cell_key import SMALL as SMALL_UNDER_CELL_KEY
from .identifier_scan import DATE_OF_BIRTH, POSTCODE, Needles, scan_files
from .pdf_text import scannable
from .published_model import (
    ATLAS_PAGE,
    LSOA_GEOJSON,
    MSOA_TABLE,
    POSTCODE_INDEX,
    FileModel,
    evaluate,
    read_model,
)
from .suppress import ACTIVITY, Attacked, CellTable, _register, _register_extra, knowledge
from .year_model import read_year_files

log = logging.getLogger(__name__)
ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

DERIVED = ("rate_per_1000", "rate_lower", "rate_upper")
# where the build writes its own date (manifest.json's build_time, the atlas page's "built"):
# a date of birth there is the build's date, not a client's
BUILD_DATE_PLACES = (b'"build_time": "', b" built ")
BYTE_PLACES = (".html", ".js")  # files of long lines: a place is a byte offset, not a line
TABLES = {attr: path for path, (attr, _) in COLUMNS.items()} | {"residence_msoa": MSOA_TABLE}


@dataclass
class Identifiers:
    """What would identify a client of the extract, normalised for searching."""

    client_refs: Collection[str] = field(default_factory=set)
    attributors: Collection[str] = field(default_factory=set)
    dates_of_birth: Collection[str] = field(default_factory=set)  # ISO
    postcodes: Collection[str] = field(default_factory=set)  # upper case, no space
    ordinary: list[str] = field(default_factory=list)  # where each ref not searched for is read
    linkage: Collection[str] = field(default_factory=list)  # keyed attributors, the key's text

    def needles(self) -> Needles:
        """The identifiers in the forms the scan compares."""
        return Needles.of(
            self.postcodes, self.dates_of_birth, self.client_refs, self.attributors, self.linkage
        )

    def with_linkage(self, secrets: Collection[str], postcodes: Collection[str]) -> Identifiers:
        """These identifiers and a ``[linkage]`` build's: its keyed attributors and the key's
        text (``secrets``), and the partners' postcodes (the dead's: only geocoded)."""
        from .identifier_scan import POSTCODE_KEY

        compact = {p.upper().replace(" ", "") for p in postcodes}
        full = {p for p in compact if POSTCODE_KEY.fullmatch(p)}
        return replace(
            self,
            postcodes=pa.concat_arrays(
                [_strings_of(self.postcodes), pa.array(sorted(full), pa.large_string())]
            ),
            linkage=[*self.linkage, *secrets],
        )

    @classmethod
    def from_extract(cls, extract: Extract) -> Identifiers:
        """The identifiers in every record of the extract, accepted or rejected
        (:mod:`atlas.extract.personal`); logs how many references are too ordinary a word or
        number to search for, and where the first are read."""
        personal = extract.personal
        ordinary = list(personal.ordinary.values())
        if ordinary:
            log.warning("identifier scan: %s", _ordinary_note(ordinary))
        clients = extract["clients.csv"]
        accepted, _ = attributors(clients)
        accepted = pa.array(accepted[clients["date_of_birth"].notna()], pa.large_string())
        dates = personal.dates_of_birth()
        return cls(
            personal.client_refs(),
            _not_dated(
                pc.unique(pa.concat_arrays([accepted, personal.client_attributors()])), dates
            ),
            dates,
            personal.full_postcodes(),
            ordinary,
        )


def _strings_of(values: Collection[str] | pa.Array) -> pa.Array:
    """Values as an Arrow large-string array."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values.cast(pa.large_string())
    return pa.array(sorted(values), pa.large_string())


def _not_dated(attributors: pa.Array, dates: pa.Array) -> pa.Array:
    """The attributors whose date of birth is not among ``dates``: one that is holds it between
    ``|`` and is found by the scan as that date of birth, so is not searched for again."""
    found = pc.extract_regex(attributors, r"\|(?P<d>[0-9]{4}-[0-9]{2}-[0-9]{2})\|")
    dated = pc.is_in(pc.struct_field(found, [0]), value_set=dates)
    return attributors.filter(pc.invert(pc.fill_null(dated, False)))


def _ordinary_note(places: list[str]) -> str:
    """One line on the references not searched for: how many, and where the first are."""
    shown = ", ".join(places[:3]) + (f" and {len(places) - 3} more" if len(places) > 3 else "")
    what = (
        "client_refs are ordinary words or numbers"
        if len(places) > 1
        else "client_ref is an ordinary word or number"
    )
    return f"{len(places)} {what} (like false, TOTAL or 1), not searched for in the drop ({shown})"


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
    ordinary: list[str] = field(default_factory=list)  # refs not searched for: where read
    reused: bool = False  # the build's disclosure-control attack covered this one
    files: int = 0  # files read back into the model
    settings_from: str = ""  # where threshold and rounding came from, when not given
    values: dict[str, float] = field(
        default_factory=dict, repr=False
    )  # each cell as published (NaN: hidden)
    perturbation: int = 0  # a cell-key drop's largest perturbation (0: not perturbed)

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
            "the drop fails its disclosure audit and must not be published"
            + (
                f" (threshold {self.threshold} and rounding {self.rounding} from "
                f"{self.settings_from})"
                if self.settings_from
                else ""
            )
            + ":\n"
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
            (f"threshold and rounding from {self.settings_from}; " if self.settings_from else "")
            + f"{self.files} files read back, "
            f"{self.cells:,} cells, {self.suppressed:,} suppressed, {attacked}, "
            f"{self.seconds:.1f} s): {len(self.exposures)} exposed; "
            + (
                f"{self.scanned} files scanned for client identifiers: {len(self.leaks)} found"
                if self.scanned
                else "no extract given, client identifiers not scanned"
            )
            + (f"; {_ordinary_note(self.ordinary)}" if self.scanned and self.ordinary else "")
        )


def audit_files(
    files: dict[str, bytes],
    threshold: int,
    rounding: int = 0,
    identifiers: Identifiers | None = None,
    attacked: Attacked | None = None,
    perturbation: int = 0,
) -> AuditReport:
    """Attack the published tables among ``files`` (path in the drop -> bytes) and scan every
    file for the identifiers. ``attacked``: what the build's disclosure control found safe,
    reused when it covers the files' cells and groups. ``perturbation``: a cell-key drop's
    largest perturbation (each published count of people within that of the true one)."""
    started = time.perf_counter()
    report = AuditReport(threshold, rounding, perturbation=perturbation)
    scanning = None
    texts = files  # what the scan reads: a PDF as its text
    if identifiers is not None:  # the scan (mostly numpy, which frees the GIL) runs beside
        texts = scannable({path: files[path] for path in sorted(files)})
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scan")
        scanning = pool.submit(lambda: scan_files(texts, identifiers.needles()))
        pool.shutdown(wait=False)
    frames = {
        attr: _read_table(path, files[path], columns)
        for path, (attr, columns) in COLUMNS.items()
        if path in files
    }
    if MSOA_TABLE in files:
        frames["residence_msoa"] = _read_table(MSOA_TABLE, files[MSOA_TABLE], ["individuals"])
    missing = [p for p in COLUMNS if p not in files]
    if missing:
        report.exposures.append(f"{', '.join(missing)}: missing, cannot be audited")
    else:
        model = read_model(files, threshold)
        read_year_files(files, model)
        report.files = len(model_files(files))
        try:
            _attack_tables(frames, report, attacked, model)
        except KeyError as exc:  # a table names an area its parent table does not have
            report.exposures.extend(model.problems)
            report.exposures.append(
                f"the tables do not agree: {exc.args[0]!r} is named in one table but missing "
                "from the table it adds up to, so the drop cannot be audited"
            )
        _check_derived(model, report)
    _check_ledger_settings(files, report)
    if scanning is not None:
        assert identifiers is not None  # the scan runs only with identifiers
        report.leaks.extend(_leaks(texts, scanning.result()))
        report.scanned = len(files)
        report.ordinary = list(identifiers.ordinary)
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
    if "ledger.json" not in files and threshold is None:
        raise UsageError(
            f"{folder}: not a drop (no ledger.json); give a drop folder, or --threshold to "
            "audit tables without one"
        )
    settings = _ledger_settings(folder, files["ledger.json"]) if "ledger.json" in files else {}
    given = [k for k, v in (("threshold", threshold), ("rounding", rounding)) if v is None]
    threshold = threshold or settings.get("threshold")
    if threshold is None:
        raise DisclosureError(f"{folder}: ledger.json gives no threshold; pass --threshold")
    rounding = settings.get("rounding", 0) if rounding is None else rounding
    perturbed = settings.get("protection") == "cell_key"
    try:
        report = audit_files(
            files,
            int(threshold),
            int(rounding),
            Identifiers.from_extract(extract) if extract is not None else None,
            perturbation=int(settings.get("perturbation", 0)) if perturbed else 0,
        )
    except UnreadableTable as exc:
        raise UnreadableTable(f"{folder / str(exc)}") from None
    if given:  # not given: taken from the drop's own ledger, and the summary says so
        report.settings_from = (
            "the drop's ledger.json (not given: " + " and ".join(f"--{k}" for k in given) + ")"
        )
    return report


def extract_settings(folder: Path) -> dict[str, str]:
    """How the drop's recipe said its extract is written (``encoding``, ``date_format``), from
    its manifest.json; empty when the drop has no readable manifest or the recipe set neither,
    so that ``audit --extract`` reads the extract as the build did."""
    try:
        manifest = json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))
        given = manifest["recipe"]["content"]["extract"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    if not isinstance(given, dict):
        return {}
    return {k: given[k] for k in ("encoding", "date_format") if isinstance(given.get(k), str)}


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


def _check_ledger_settings(files: dict[str, bytes], report: AuditReport) -> None:
    """A ledger whose threshold or rounding is not the audit's is a finding: the drop says it
    was protected otherwise than it is audited."""
    if "ledger.json" not in files:
        return
    try:
        settings = json.loads(files["ledger.json"].decode("utf-8")).get("suppression", {})
    except (ValueError, AttributeError):
        report.exposures.append("ledger.json: not a drop's ledger, its settings cannot be read")
        return
    for key, audited in (("threshold", report.threshold), ("rounding", report.rounding)):
        said = (
            settings.get(key, 0 if key == "rounding" else None)
            if isinstance(settings, dict)
            else None
        )
        if said != audited:
            report.exposures.append(
                f"ledger.json suppression.{key}: the drop says {said!r}, "
                f"but it is audited at {audited}"
            )


def _check_derived(model: FileModel, report: AuditReport) -> None:
    """Every declared function of cells (a share, a per-person figure) equals its value
    recomputed from the cells as published, and is withheld where they are."""
    if not report.values:
        return
    for d in model.derived:
        want = evaluate(d, report.values)
        if d.text == want:
            continue
        try:
            if want and float(d.text) == float(want):
                continue
        except ValueError:
            pass
        report.exposures.append(
            f"{d.place}: {d.column} is {d.text or 'withheld'}, but the cells it is computed "
            f"from give {want or 'nothing (withheld)'}"
        )


def msoa_links(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Each LSOA's MSOA, as a reader finds it: an LSOA is named after its MSOA with one more
    letter ("Haverlow 001A" in "Haverlow 001"); an MSOA with no LA code straddles LAs."""
    lsoa = frames["residence_lsoa"].drop_duplicates("lsoa_code")
    msoa = frames["residence_msoa"].drop_duplicates("msoa_code")
    code_of = dict(zip(msoa["msoa_name"], msoa["msoa_code"]))
    la_of = dict(zip(msoa["msoa_code"], msoa["la_code"]))
    links = pd.DataFrame(
        {
            "lsoa_code": lsoa["lsoa_code"],
            "la_code": lsoa["la_code"],
            "msoa_code": lsoa["lsoa_name"].str[:-1].map(code_of),
        }
    ).dropna(subset=["msoa_code"])
    links["msoa_la_code"] = links["msoa_code"].map(la_of).fillna("")
    return links.reset_index(drop=True)


def model_files(files: dict[str, bytes]) -> list[str]:
    """The files whose numbers the audit reads back."""
    return [
        p
        for p in files
        if p in COLUMNS
        or p in (MSOA_TABLE, LSOA_GEOJSON, ATLAS_PAGE, "ledger.json")
        or (p.startswith("reports/") and p.endswith((".csv", ".html")))
        or (p.startswith("atlas/") and p.endswith(".js"))
    ]


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
    frames: dict[str, pd.DataFrame],
    report: AuditReport,
    attacked: Attacked | None = None,
    model: FileModel | None = None,
) -> None:
    """Rebuild the cells and groups from the tables (and ``model``: the other files), check
    that every place showing a cell shows it alike, then attack every suppressed cell."""
    from . import cell_key  # the ptable's rules, for a cell-key drop

    model = model or FileModel()
    structure = {k: f.assign(individuals=0) for k, f in frames.items()}
    structure["site_activity"] = structure["site_activity"].assign(**dict.fromkeys(ACTIVITY, 0))
    msoa = structure.pop("residence_msoa", None)
    cells = CellTable()
    ids = _register(
        cells,
        Counts(
            **structure,
            cohorts={},
            area_name="",
            residence_msoa=msoa,
            msoa_of=None if msoa is None else msoa_links(frames),
        ),
    )
    try:
        _register_extra(cells, model.sets)
    except ValueError as exc:
        report.exposures.extend(model.problems)
        report.exposures.append(f"the files do not agree: {exc}, so the drop cannot be audited")
        return
    where = {c: i for i, c in enumerate(cells.values)}
    names = list(cells.values)
    index = pd.Index(names)  # every id the tables name is one of its cells
    value = np.full(len(where), np.nan)
    hidden = np.zeros(len(where), dtype=bool)
    seen = np.zeros(len(where), dtype=bool)
    first = np.empty(len(where), dtype=object)  # where each cell was first read
    people = np.fromiter((c not in cells.activity for c in names), dtype=bool, count=len(names))
    for attr, frame in frames.items():
        path = TABLES[attr]
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
        floor = cell_key.SMALL + 1 if report.perturbation else report.threshold  # no 1s, 2s
        small = ~blank & (vals > 0) & (vals < floor)
        for line in lines[small]:
            report.exposures.append(f"{path} line {line}: a count below {floor} is published")
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
        new = ~seen[pos]
        first[pos[new]] = [f"{path} line {line}" for line in lines[new]]
        hidden[pos] |= blank
        value[pos] = np.where(blank, value[pos], vals)
        seen[pos] = True
    _read_activity(frames["site_activity"], ids, index, value, hidden, seen, first, report)
    report.exposures.extend(model.problems)  # after the spec tables' own findings
    _read_model(model, where, people, value, hidden, seen, first, report)
    hidden |= ~seen  # a cell no file shows is not known to the reader
    published = np.nan_to_num(value, nan=0.0)
    report.values = dict(zip(names, np.where(hidden, np.nan, value).tolist()))
    lo, hi = knowledge(
        published,
        hidden,
        report.threshold,
        report.rounding,
        exact=~people,
        perturbation=report.perturbation,
    )
    if cells.floors:
        shown_at_least = np.zeros(len(where))
        shown_at_least[[where[c] for c in cells.floors]] = list(cells.floors.values())
        lo = np.maximum(lo, shown_at_least)
    targets = (hidden | (report.perturbation > 0)) & people
    groups = cells.matrix(where)
    bounds = cells._bound_matrix(where, published, hidden)
    exact = hi - lo <= attack.EPS
    closed = np.asarray(abs(groups)[:, ~exact].sum(axis=1)).ravel() == 0
    residual = groups[closed] @ lo
    for row in np.flatnonzero(closed)[np.abs(residual) > attack.EPS][:20]:
        members = groups[row].indices
        total = next(i for i in members if groups[row, i] < 0)
        report.exposures.append(
            f"the published parts of {names[total]} ({first[total]}) do not add up to it"
        )
    report.cells, report.suppressed = int(people.sum()), int((hidden & people).sum())
    if attacked is not None and _covered(
        attacked, names, published, hidden, (groups, bounds), report
    ):
        report.reused = True
        return
    # only as far as the verdict needs: an exposed cell still gets its exact bounds
    found = attack.intervals(
        attack.Problem(lo, hi, groups, targets, bounds), threshold=report.threshold
    )
    report.components, report.solves = found.components, found.solves
    if found.infeasible:
        report.exposures.append(
            "the published numbers contradict each other around "
            + ", ".join(names[i] for i in found.infeasible[:5])
        )
    exposed = attack.exposed(found.low, found.high, report.threshold)
    for i in np.flatnonzero(targets & exposed):
        report.exposures.append(
            f"cell {names[i]} can be narrowed to {_span(found.low[i], found.high[i])}"
        )


def _read_model(
    model: FileModel,
    where: dict[str, int],
    people: np.ndarray,
    value: np.ndarray,
    hidden: np.ndarray,
    seen: np.ndarray,
    first: np.ndarray,
    report: AuditReport,
) -> None:
    """Every reading of the other files into the cells: a cell the model lacks, a figure that
    is not a count, a small count, or one shown otherwise elsewhere is a finding."""
    for r in model.readings:
        i = where.get(r.cell)
        if i is None:
            report.exposures.append(f"{r.place}: {r.cell} is no cell of the drop's tables")
            continue
        blank = r.text == ""
        try:
            v = np.nan if blank else float(r.text)
        except ValueError:
            report.exposures.append(f"{r.place}: {r.text!r} is not a count")
            continue
        if not blank and (v != int(v) or v < 0):
            report.exposures.append(f"{r.place}: {r.text!r} is not a count")
            continue
        small = SMALL_UNDER_CELL_KEY + 1 if report.perturbation else report.threshold
        if people[i] and not blank and 0 < v < small:
            report.exposures.append(f"{r.place}: a count below {small} is published")
        if seen[i]:
            if hidden[i] != blank or (not blank and value[i] != v):
                shown = "suppressed" if blank else r.text
                was = "suppressed" if hidden[i] else f"{value[i]:g}"
                report.exposures.append(
                    f"{r.place}: {r.cell} is {shown} here but {was} in {first[i]}"
                )
            continue
        seen[i], first[i], hidden[i] = True, r.place, blank
        if not blank:
            value[i] = v


def _read_activity(
    frame: pd.DataFrame,
    ids: dict[str, pd.Series],
    index: pd.Index,
    value: np.ndarray,
    hidden: np.ndarray,
    seen: np.ndarray,
    first: np.ndarray,
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
        seen[pos] = True
        first[pos] = [f"tables/site_activity.csv line {line}" for line in frame.index + 2]


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
    mine = (report.threshold, report.rounding, report.perturbation)
    if (attacked.threshold, attacked.rounding, attacked.perturbation) != mine:
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
    """Every client identifier found in one file, by kind and place (never the value); a PDF
    is read as its text."""
    texts = scannable({path: data})
    return _leaks(texts, scan_files(texts, ids.needles()))


def _leaks(files: dict[str, bytes], found: dict[str, list[tuple[int, int, str]]]) -> list[str]:
    """A line per identifier found, naming its file, place and kind, but for a date at a place
    where the build writes its own date (``BUILD_DATE_PLACES``) and a postcode in the atlas's
    postcode index (every live postcode of the directory in the drop's LSOAs, whoever lives
    there: the page model checks that it holds postcodes and LSOA positions only)."""
    own = _build_date(files)
    leaks = []
    for path, hits in found.items():
        data = files[path]
        for offset, line, kind in hits:
            if kind == DATE_OF_BIRTH and _is_build_date(data, offset, own):
                continue
            if kind == POSTCODE and POSTCODE_INDEX.match(path):
                continue  # every live postcode of the drop's LSOAs, whoever lives there
            place = f"byte {offset}" if path.endswith(BYTE_PLACES) else f"line {line}"
            leaks.append(f"{path} {place}: {kind}")
    return leaks


def _is_build_date(data: bytes, offset: int, own: bytes) -> bool:
    """Whether the date at ``offset`` is the build's own date, where the build writes it."""
    return (
        bool(own)
        and data[offset : offset + len(own)] == own
        and any(data[offset - len(m) : offset] == m for m in BUILD_DATE_PLACES)
    )


def _build_date(files: dict[str, bytes]) -> bytes:
    """The build's date (``YYYY-MM-DD``) from manifest.json, or nothing."""
    try:
        built = json.loads(files.get("manifest.json", b"{}")).get("build_time", "")
    except (ValueError, AttributeError):
        return b""
    return str(built)[:10].encode() if ISO_DAY.fullmatch(str(built)[:10]) else b""
