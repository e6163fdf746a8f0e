"""Reading and validating the IMS extract (spec section 1).

Every row of every file is accounted for: it is either accepted into a typed frame or set aside
in the rejects with its file, line (the header is line 1, as a spreadsheet counts) and reason.
A missing required file or column, or bytes that are neither UTF-8 nor Windows-1252, stop the
build with a message naming the file (and byte).

Each file is read into columns of text by :mod:`atlas.csv_text` (the next file in a background
thread while this one is checked). The checks work on that pyarrow text: codes, dates and
numbers once per distinct value, keys and references whole. Files that refer to clients gain an
integer ``client_row`` (the client record's row in clients.csv's frame), so later stages join on
integers rather than on client_ref text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ExtractError
from .csv_text import Rows, TextColumn, decode, read_rows
from .personal import PersonalValues

log = logging.getLogger(__name__)
_T = TypeVar("_T")

GENDERS = ("M", "F", "X", "U")
ISO_DATE_RE = r"^\d{4}-\d{2}-\d{2}(?:[T ][0-9:.]+Z?)?$"
ITEM_COLUMNS = ("needles", "syringes", "bins", "swabs", "foil", "citric", "other_items")
ACTIVITY_FILES = ("nsp_transactions.csv", "interventions.csv")
# Personal data: a reject reason names the field and line but never repeats its value, because
# rejects.csv is published with the drop.
PERSONAL = frozenset({"client_ref", "first_initial", "last_initial", "date_of_birth", "postcode"})
# Added to each file that refers to clients: the row of the client record in clients.csv's
# accepted frame, so later stages join on integers rather than on client_ref text.
CLIENT_ROW = "client_row"
# From this many keys (too many for a hash of their text to stay in the processor's cache),
# short keys and the references to them are matched as integers (``csv_text._packed``).
PACKED_KEYS = 1 << 16


@dataclass(frozen=True)
class FileSpec:
    """What one extract file must and may hold, and the checks its rows must pass."""

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    unique: str | None = None  # id column: first occurrence kept, later ones rejected
    nonblank: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()  # must be ISO dates (blank allowed unless also nonblank)
    enums: tuple[tuple[str, tuple[str, ...]], ...] = ()  # blank allowed unless nonblank
    ints: tuple[tuple[str, int, int | None], ...] = ()  # (column, min, max); blank allowed
    refs: tuple[str, ...] = ()  # "client_ref" and/or "site_code"


SPECS: dict[str, FileSpec] = {
    s.name: s
    for s in (
        FileSpec(
            "sites.csv",
            ("site_code", "site_name", "site_type", "postcode"),
            ("latitude", "longitude", "local_authority", "services", "opened", "closed"),
            unique="site_code",
            nonblank=("site_code", "site_type"),
            dates=("opened", "closed"),
            enums=(("site_type", ("agency", "pharmacy")),),
        ),
        FileSpec(
            "clients.csv",
            (
                "client_ref",
                "site_code",
                "first_initial",
                "last_initial",
                "date_of_birth",
                "gender",
            ),
            ("postcode", "ethnicity"),
            unique="client_ref",
            nonblank=("client_ref", "site_code"),
            dates=("date_of_birth",),
            enums=(("gender", GENDERS),),
            refs=("site_code",),
        ),
        FileSpec(
            "assessments.csv",
            ("client_ref", "site_code", "assessment_date"),
            (
                "postcode",
                "local_authority",
                "accommodation",
                "employment",
                "parental_status",
                "substance_1",
                "substance_2",
                "substance_3",
                "injecting",
            ),
            nonblank=("client_ref", "site_code", "assessment_date"),
            dates=("assessment_date",),
            enums=(("injecting", ("Y", "N")),),
            refs=("client_ref", "site_code"),
        ),
        FileSpec(
            "nsp_transactions.csv",
            ("transaction_id", "client_ref", "site_code", "visit_date"),
            ("returned", "substance", *ITEM_COLUMNS),
            unique="transaction_id",
            nonblank=("transaction_id", "client_ref", "site_code", "visit_date"),
            dates=("visit_date",),
            enums=(("returned", ("Y", "N")),),
            ints=tuple((c, 0, None) for c in ITEM_COLUMNS),
            refs=("client_ref", "site_code"),
        ),
        FileSpec(
            "interventions.csv",
            (
                "intervention_id",
                "client_ref",
                "site_code",
                "intervention_date",
                "intervention_type",
            ),
            ("substance",),
            unique="intervention_id",
            nonblank=("intervention_id", "client_ref", "site_code", "intervention_date"),
            dates=("intervention_date",),
            refs=("client_ref", "site_code"),
        ),
        FileSpec(
            "wellbeing.csv",
            ("client_ref", "site_code", "review_date", "wemwbs_score"),
            nonblank=("client_ref", "site_code", "review_date", "wemwbs_score"),
            dates=("review_date",),
            ints=(("wemwbs_score", 14, 70),),
            refs=("client_ref", "site_code"),
        ),
        FileSpec(
            "referrals.csv",
            ("client_ref", "site_code", "referral_date", "direction"),
            ("organisation",),
            nonblank=("client_ref", "site_code", "referral_date", "direction"),
            dates=("referral_date",),
            enums=(("direction", ("IN", "OUT")),),
            refs=("client_ref", "site_code"),
        ),
    )
}
# Columns whose values are codes compared case-insensitively: upper-cased on reading.
_UPPER = {"gender", "injecting", "returned", "direction", "first_initial", "last_initial"}
_LOWER = {"site_type"}


@dataclass
class Extract:
    """The accepted rows of each file as typed frames, plus the rejects and the ledger (and
    the personal values of every record read, for the audit)."""

    frames: dict[str, pd.DataFrame]
    rejects: pd.DataFrame
    ledger: dict[str, dict[str, int]]
    paths: dict[str, Path]
    warnings: list[str] = field(default_factory=list)
    personal: PersonalValues = field(default_factory=PersonalValues)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.frames[name]


def read_extract(folder: Path, encoding: str | None = None) -> Extract:
    """Read, type and validate every file of the extract folder."""
    paths = _find_files(Path(folder))
    frames: dict[str, pd.DataFrame] = {}
    rejects: list[pd.DataFrame] = []
    ledger: dict[str, dict[str, int]] = {}
    warnings: list[str] = []
    known: dict[str, _Keys] = {}  # keys of sites and clients, for reference checks
    personal = PersonalValues()
    loaded = _one_ahead(
        [name for name in SPECS if name in paths],
        lambda name: _load(name, paths[name], SPECS[name], encoding),
    )
    with closing(loaded):
        for name, spec in SPECS.items():
            if name not in paths:
                frames[name] = _empty(spec)
                continue
            note, parsed = next(loaded)
            if note:
                warnings.append(note)
                log.warning(note)
            if isinstance(parsed, ExtractError):
                raise parsed
            rows, bad_shape = parsed
            accepted, rejected, keep = _validate(spec, rows, known)
            personal.add(name, rows, keep)
            rejected = pd.concat([bad_shape, rejected], ignore_index=True)
            frames[name] = accepted
            rejects.append(rejected.assign(file=name))
            ledger[name] = {
                "read": len(rows.lines) + len(bad_shape),
                "accepted": len(accepted),
                "rejected": len(rejected),
            }
            if name in ("sites.csv", "clients.csv"):
                known[name] = _Keys.of(rows.columns[spec.unique], rows.lines, keep)
            del rows, parsed
    all_rejects = pd.concat(rejects, ignore_index=True) if rejects else _empty_rejects()
    all_rejects = all_rejects[["file", "line", "reason"]].astype({"line": int})
    return Extract(frames, all_rejects.reset_index(drop=True), ledger, paths, warnings, personal)


def _one_ahead(items: list[str], load: Callable[[str], _T]) -> Generator[_T, None, None]:
    """``load`` each item in turn, the next one in a background thread while the caller works
    on this one (reading a file overlaps checking the one before)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        ahead = pool.submit(load, items[0]) if items else None
        for i in range(len(items)):
            current, ahead = (
                ahead,
                (pool.submit(load, items[i + 1]) if i + 1 < len(items) else None),
            )
            yield current.result()


def _load(
    name: str, path: Path, spec: FileSpec, encoding: str | None
) -> tuple[str | None, tuple[Rows, pd.DataFrame] | ExtractError]:
    """Decode and parse one file: the note on its encoding, and its records or the error that
    stops the build (raised by the caller once the note is logged, as it comes first)."""
    source, note = decode(path, encoding)
    case = {
        c: str.upper if c in _UPPER else str.lower
        for c in (*spec.required, *spec.optional)
        if c in _UPPER | _LOWER
    }
    try:
        return note, read_rows(name, source, spec.required, spec.optional, case)
    except ExtractError as exc:
        return note, exc


def _find_files(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise ExtractError(f"extract folder not found: {folder}")
    found = {p.name.lower(): p for p in sorted(folder.iterdir()) if p.is_file()}
    paths = {name: found[name] for name in SPECS if name in found}
    missing = [n for n in ("sites.csv", "clients.csv") if n not in paths]
    if missing:
        raise ExtractError(f"{folder}: required file(s) missing: {', '.join(missing)}")
    if not any(n in paths for n in ACTIVITY_FILES):
        raise ExtractError(
            f"{folder}: no activity file: the extract needs {' or '.join(ACTIVITY_FILES)}"
        )
    return paths


@dataclass
class _Keys:
    """The keys of a file others refer to (sites, clients), each once: a key's first record
    decides, a later one with the same key being a rejected duplicate."""

    values: pa.Array  # the distinct keys
    objects: np.ndarray  # the same, as Python str
    line: np.ndarray  # the line of each key's first record
    row: np.ndarray  # that record's row among the accepted ones, -1 if it was rejected
    packed: pd.Index | None  # the distinct keys as integers, if short and many (see below)

    @classmethod
    def of(cls, col: TextColumn, lines: np.ndarray, keep: np.ndarray) -> _Keys:
        _, first_at, values = col.firsts()
        row = np.where(keep, np.cumsum(keep) - 1, -1)
        packed = col.packed() if len(values) >= PACKED_KEYS else None
        return cls(
            values,
            col.key_objects(),
            lines[first_at],
            row[first_at],
            None if packed is None else pd.Index(packed[first_at]),
        )


class _Problems:
    """The problems found, by row; a row's reason lists each, in the order found."""

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []
        self.texts: list[np.ndarray] = []

    def add(self, mask: np.ndarray, message: Callable[[np.ndarray], np.ndarray] | str) -> None:
        """Note a problem for the rows in mask; a callable message is built for those only."""
        rows = np.flatnonzero(mask)
        if len(rows):
            text = message(rows) if callable(message) else message
            self.rows.append(rows)
            self.texts.append(np.broadcast_to(np.asarray(text, dtype=object), rows.shape))

    def reasons(self) -> tuple[np.ndarray, np.ndarray]:
        """The rows with a problem, ascending, and each one's reason."""
        if not self.rows:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=object)
        rows = np.concatenate(self.rows)
        order = np.argsort(rows, kind="stable")
        rows, texts = rows[order], np.concatenate(self.texts)[order]
        bad, start, count = np.unique(rows, return_index=True, return_counts=True)
        reason = texts[start]
        for k in range(1, count.max()):
            more = count > k
            reason[more] = reason[more] + "; " + texts[start[more] + k]
        return bad, reason


def _quoted(col: str, values: np.ndarray) -> np.ndarray | str:
    """How a reason shows a value: ``col 'value'``, or just ``col`` for personal data."""
    return col if col in PERSONAL else col + " '" + values + "'"


def _validate(
    spec: FileSpec, rows: Rows, known: dict[str, _Keys]
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Every check at once, vectorised; a row's reason lists each problem it has. Returns
    the accepted rows (typed), the rejected ones (line, reason) and which rows were kept."""
    for col in (*spec.refs, *([spec.unique] if spec.unique else [])):
        rows.columns[col].keyed = True
    problems, typed, found = _check(spec, rows, known)
    bad_rows, reason = problems.reasons()
    keep = np.ones(len(rows.lines), dtype=bool)
    keep[bad_rows] = False
    accepted = _accepted(spec, rows, np.flatnonzero(keep), typed, found)
    return accepted, pd.DataFrame({"line": rows.lines[bad_rows], "reason": reason}), keep


# A typed column: each row's code and the values (dates, numbers) the codes point to.
_Typed = tuple[np.ndarray, "np.ndarray | pd.arrays.IntegerArray"]


def _check(
    spec: FileSpec, rows: Rows, known: dict[str, _Keys]
) -> tuple[_Problems, dict[str, _Typed], dict[str, tuple[np.ndarray, _Keys]]]:
    """The problems of every row; the typed date and number columns; and for each reference
    column, each row's position among the keys it refers to (-1 if none), with those keys."""
    cols, n = rows.columns, len(rows.lines)
    problems = _Problems()
    for col in spec.nonblank:
        problems.add(cols[col].is_blank(), f"{col} is blank")
    typed: dict[str, _Typed] = {}
    for col in spec.dates:
        codes, values = cols[col].distinct()
        parsed = _iso_dates(values)
        problems.add(
            ((values != "") & parsed.isna().to_numpy())[codes],
            lambda r, c=col: (
                _quoted(c, cols[c].values(r)) + " is not a valid ISO date (YYYY-MM-DD)"
            ),
        )
        typed[col] = (codes, parsed.to_numpy())
    for col, allowed in spec.enums:
        codes, values = cols[col].distinct()
        problems.add(
            ((values != "") & ~pd.Series(values).isin(allowed).to_numpy())[codes],
            lambda r, c=col, a=allowed: (
                _quoted(c, cols[c].values(r)) + f" is not one of {', '.join(a)}"
            ),
        )
    for col, lo, hi in spec.ints:
        codes, values = cols[col].distinct()
        num = _whole_numbers(values)
        bad = (values != "") & (
            num.isna() | (num < lo) | ((num > hi) if hi is not None else False)
        ).to_numpy()
        expect = (
            f"a whole number from {lo} to {hi}" if hi is not None else f"a whole number ≥ {lo}"
        )
        problems.add(
            bad[codes], lambda r, c=col, e=expect: _quoted(c, cols[c].values(r)) + f" is not {e}"
        )
        typed[col] = (codes, num.astype("Int64").array)
    found: dict[str, tuple[np.ndarray, _Keys]] = {}
    for ref in spec.refs:
        target = "clients.csv" if ref == "client_ref" else "sites.csv"
        if target in known:
            pos, mask, message = _ref_check(cols[ref], known[target], ref, target)
            problems.add(mask, message)
            found[ref] = (pos, known[target])
    if spec.unique:
        key = cols[spec.unique]
        codes, first_at, _ = key.firsts()
        earlier = first_at[codes]
        problems.add(
            ~key.is_blank() & (earlier != np.arange(n)),
            lambda r: (
                "duplicate "
                + _quoted(spec.unique, key.values(r))
                + " (first at line "
                + rows.lines[earlier[r]].astype(str).astype(object)
                + ")"
            ),
        )
    return problems, typed, found


def _accepted(
    spec: FileSpec,
    rows: Rows,
    kept: np.ndarray,
    typed: dict[str, _Typed],
    found: dict[str, tuple[np.ndarray, _Keys]],
) -> pd.DataFrame:
    """The kept rows as a frame: text as Python str (one object per distinct value; a
    reference shares the object of the key it refers to), dates and numbers typed, and the
    row of each one's client record (``client_row``) where the file refers to clients."""
    out: dict[str, np.ndarray | pd.arrays.IntegerArray] = {"line": rows.lines[kept]}
    for col, text in rows.columns.items():
        if col in typed:
            codes, values = typed[col]
            out[col] = values.take(codes[kept])
        elif col in found and (found[col][0][kept] >= 0).all():
            pos, keys = found[col]
            out[col] = keys.objects[pos[kept]]
        elif col == spec.unique:
            out[col] = text.key_objects()[text.firsts()[0][kept]]
        else:
            out[col] = text.values(kept)
    if "client_ref" in found:
        pos, keys = found["client_ref"]
        out[CLIENT_ROW] = np.append(keys.row, -1)[pos[kept]]
    return pd.DataFrame(out, copy=False)


def _iso_dates(values: np.ndarray) -> pd.Series:
    """Distinct values as dates: an ISO date (a time after it is ignored), else NaT."""
    text = pd.Series(values, dtype=object)
    iso = text.astype("string[pyarrow]").str.match(ISO_DATE_RE).fillna(False)
    return pd.to_datetime(
        text.str.slice(0, 10).where(iso.to_numpy(bool)), format="%Y-%m-%d", errors="coerce"
    )


def _whole_numbers(values: np.ndarray) -> pd.Series:
    """The values that are whole numbers (``[+-]?\\d+``) of up to 18 characters as numbers,
    else NaN (so an absurdly long number is a bad value, not an overflow)."""
    arr = pa.array(values, type=pa.string())
    whole = pc.fill_null(pc.match_substring_regex(arr, r"^[+-]?\d+$"), False)
    short = pc.and_(whole, pc.less_equal(pc.utf8_length(arr), 18))
    unsigned = pc.replace_substring_regex(pc.if_else(short, arr, None), r"^\+", "")
    return pd.Series(pc.cast(unsigned, pa.int64()).to_numpy(zero_copy_only=False))


def _ref_check(
    col: TextColumn, keys: _Keys, ref: str, target: str
) -> tuple[np.ndarray, np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """Each row's position among the keys (-1 if none), and the mask and message for
    references to a key that is unknown or was itself rejected."""
    packed = col.packed() if keys.packed is not None else None
    if packed is not None:  # short references to short keys: looked up as integers
        pos = keys.packed.get_indexer(packed)
    else:
        pos = pc.fill_null(pc.index_in(col.whole(), value_set=keys.values), -1).to_numpy(
            zero_copy_only=False
        )
    found = pos >= 0
    given = ~col.is_blank()
    unknown = given & ~found
    was_rejected = given & found & (np.append(keys.row, -1)[pos] < 0)

    def message(rows: np.ndarray) -> np.ndarray:
        shown = pd.Series(_quoted(ref, col.values(rows)), index=rows, dtype=object)
        line = pd.Series(np.append(keys.line, 0)[pos[rows]], index=rows)
        text = shown + f" is not in {target}"
        return text.where(
            ~was_rejected[rows],
            shown + f" was rejected in {target} (line " + line.astype(str) + ")",
        ).to_numpy()

    return pos, unknown | was_rejected, message


def _empty(spec: FileSpec) -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in (*spec.required, *spec.optional)})
    for col in spec.dates:
        frame[col] = pd.Series(dtype="datetime64[ns]")
    for col, _, _ in spec.ints:
        frame[col] = pd.Series(dtype="Int64")
    frame.insert(0, "line", pd.Series(dtype=np.int64))
    if "client_ref" in spec.refs:
        frame[CLIENT_ROW] = pd.Series(dtype=np.int64)
    return frame


def _empty_rejects() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "file": pd.Series(dtype=object),
            "line": pd.Series(dtype=int),
            "reason": pd.Series(dtype=object),
        }
    )
