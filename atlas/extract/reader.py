"""Reading and validating the IMS extract (spec section 1).

Every row of every file is accounted for: it is either accepted into a typed frame or set aside
in the rejects with its file, line (the header is line 1, as a spreadsheet counts) and reason,
which names the column and the problem but never the value (``rejects.csv`` is published). A
bad value in an optional column is set aside instead of its row, counted and warned about.
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
import re
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

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
TIME_RE = r"[T ][0-9:.]+Z?$"  # a time after a date, ignored
# A date written day (or month) first: 14/09/1984, 14.09.1984, 14-09-1984.
DAY_FIRST_RE = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})[/.-](\d{4})(?:[T ][0-9:.]+Z?)?$")
# What to do about dates written day first; ``audit --extract`` gives its own option instead.
DATE_ADVICE = "export ISO dates or set [extract] date_format"
ONS_CODE_RE = r"^[EWSN]\d{8}$"  # an LA's code, as the geocoder reads local_authority
ITEM_COLUMNS = ("needles", "syringes", "bins", "swabs", "foil", "citric", "other_items")
ACTIVITY_FILES = ("nsp_transactions.csv", "interventions.csv")
# A reject reason names the column and the problem, never the value found there: rejects.csv
# is published with the drop, and a shifted row can put a date of birth in any column.
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
    decimals: tuple[str, ...] = ()  # numbers such as coordinates, kept as text; blank allowed
    codes: tuple[str, ...] = ()  # ONS area codes (E08000012), any case; blank allowed
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
            decimals=("latitude", "longitude"),
            codes=("local_authority",),
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
            codes=("local_authority",),
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


def read_extract(
    folder: Path, encoding: str | None = None, date_format: str | None = None
) -> Extract:
    """Read, type and validate every file of the extract folder. Dates are ISO, or written
    as ``date_format`` (a ``strptime`` format, e.g. ``"%d/%m/%Y"``) when one is given."""
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
            checked = _validate(spec, rows, known, date_format)
            accepted, keep = checked.accepted, checked.keep
            personal.add(name, rows, keep)
            rejected = pd.concat([bad_shape, checked.rejected], ignore_index=True)
            rejected = rejected.sort_values("line", kind="stable")
            frames[name] = accepted
            rejects.append(rejected.assign(file=name))
            ledger[name] = _file_ledger(rows, len(accepted), len(rejected), checked.set_aside)
            for note in checked.notes:
                warnings.append(note)
                log.warning(note)
            if name in ("sites.csv", "clients.csv"):
                assert spec.unique is not None  # both are keyed by a unique column
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
            assert current is not None  # there is one future per item
            yield current.result()


def _load(
    name: str, path: Path, spec: FileSpec, encoding: str | None
) -> tuple[str | None, tuple[Rows, pd.DataFrame] | ExtractError]:
    """Decode and parse one file: the note on its encoding, and its records or the error that
    stops the build (raised by the caller once the note is logged, as it comes first)."""
    source, note = decode(path, encoding)
    case: dict[str, Callable[[str], str]] = {
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


@dataclass
class _Checked:
    """One file checked: the accepted rows (typed), the rejected ones (line, reason), which
    rows were kept, the values of optional columns set aside (by column) and what to warn."""

    accepted: pd.DataFrame
    rejected: pd.DataFrame
    keep: np.ndarray
    set_aside: dict[str, int]
    notes: list[str]


def _validate(
    spec: FileSpec, rows: Rows, known: dict[str, _Keys], date_format: str | None = None
) -> _Checked:
    """Every check at once, vectorised; a row's reason lists each problem it has. A bad value
    in an optional column is set aside (blank in the accepted row), not the row."""
    for col in (*spec.refs, *([spec.unique] if spec.unique else [])):
        rows.columns[col].keyed = True
    check = _check(spec, rows, known, date_format)
    bad_rows, reason = check.problems.reasons()
    keep = np.ones(len(rows.lines), dtype=bool)
    keep[bad_rows] = False
    kept = np.flatnonzero(keep)
    accepted = _accepted(spec, rows, kept, check.typed, check.found, check.odd)
    set_aside: dict[str, int] = {}
    notes: list[str] = []
    for col, odd in check.odd.items():
        odd_kept = np.flatnonzero(odd[kept])
        if len(odd_kept):
            set_aside[col] = len(odd_kept)
            line = rows.lines[kept[odd_kept[0]]]
            notes.append(check.odd_notes[col](len(odd_kept), line))
    rejected = pd.DataFrame({"line": rows.lines[bad_rows], "reason": reason})
    return _Checked(accepted, rejected, keep, set_aside, notes)


# A typed column: each row's code and the values (dates, numbers) the codes point to.
_Typed = tuple[np.ndarray, "np.ndarray | pd.arrays.IntegerArray"]


@dataclass
class _Check:
    """What the checks found: the problems of every row; the typed date and number columns;
    for each reference column, each row's position among the keys it refers to (-1 if none),
    with those keys; and for each optional column, the rows whose value is set aside, with
    the warning to give (from their count and first line)."""

    problems: _Problems
    typed: dict[str, _Typed]
    found: dict[str, tuple[np.ndarray, _Keys]]
    odd: dict[str, np.ndarray]
    odd_notes: dict[str, Callable[[int, int], str]]


def _check(
    spec: FileSpec, rows: Rows, known: dict[str, _Keys], date_format: str | None = None
) -> _Check:
    """Check every row; a value that fails in a required column is a problem of its row, in
    an optional column (``spec.optional``) a value set aside."""
    cols, n = rows.columns, len(rows.lines)
    problems = _Problems()
    odd: dict[str, np.ndarray] = {}
    odd_notes: dict[str, Callable[[int, int], str]] = {}

    def bad_value(col: str, mask: np.ndarray, problem: str) -> None:
        if col in spec.optional:
            odd[col] = mask
            odd_notes.setdefault(
                col,
                lambda k, line: (
                    f"{spec.name}: {col} {problem} in {k:,} row(s) (first at line {line}); "
                    "those values are set aside, the rows kept"
                ),
            )
        else:
            problems.add(mask, f"{col} {problem}")

    for col in spec.nonblank:
        problems.add(cols[col].is_blank(), f"{col} is blank")
    typed: dict[str, _Typed] = {}
    written = (
        "a valid ISO date (YYYY-MM-DD)"
        if date_format is None
        else (f"a valid date written {_format_label(date_format)}")
    )
    for col in spec.dates:
        codes, values = cols[col].distinct()
        parsed = _dates(values, date_format)
        bad = ((values != "") & parsed.isna().to_numpy())[codes]
        day_first = _day_first(values, codes, rows.lines) if date_format is None else None
        if day_first is not None:
            form, line = day_first
            advice = DATE_ADVICE
            if col not in spec.optional:
                raise ExtractError(f"{spec.name}: {col} looks like {form} (line {line}); {advice}")
            odd_notes[col] = _day_first_note(spec.name, col, form, line, advice)
        bad_value(col, bad, f"is not {written}")
        typed[col] = (codes, parsed.to_numpy())
    for col, allowed in spec.enums:
        codes, values = cols[col].distinct()
        bad = ((values != "") & ~pd.Series(values).isin(allowed).to_numpy())[codes]
        bad_value(col, bad, f"is not one of {', '.join(allowed)}")
    for col in spec.decimals:
        codes, values = cols[col].distinct()
        bad = (values != "") & np.isnan(pd.to_numeric(values, errors="coerce").astype(float))
        bad_value(col, bad[codes], "is not a number")
    for col in spec.codes:
        codes, values = cols[col].distinct()
        code = pd.Series(values, dtype=object).str.strip().str.upper()
        bad = ((values != "") & ~code.str.match(ONS_CODE_RE).to_numpy())[codes]
        bad_value(col, bad, "is not an ONS area code (like E08000012)")
    for col, lo, hi in spec.ints:
        codes, values = cols[col].distinct()
        num = _whole_numbers(values)
        bad = (values != "") & (
            num.isna() | (num < lo) | ((num > hi) if hi is not None else False)
        ).to_numpy()
        expect = (
            f"a whole number from {lo} to {hi}" if hi is not None else f"a whole number ≥ {lo}"
        )
        bad_value(col, bad[codes], f"is not {expect}")
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
                f"duplicate {spec.unique} (first at line "
                + rows.lines[earlier[r]].astype(str).astype(object)
                + ")"
            ),
        )
    return _Check(problems, typed, found, odd, odd_notes)


def _accepted(
    spec: FileSpec,
    rows: Rows,
    kept: np.ndarray,
    typed: dict[str, _Typed],
    found: dict[str, tuple[np.ndarray, _Keys]],
    odd: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """The kept rows as a frame: text as Python str (one object per distinct value; a
    reference shares the object of the key it refers to), dates and numbers typed (a value
    set aside, ``odd``, is blank, NaT or NA), and the row of each one's client record
    (``client_row``) where the file refers to clients."""
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
        if odd and col in odd and col not in typed and odd[col][kept].any():
            out[col] = np.where(odd[col][kept], "", out[col]).astype(object)
    if "client_ref" in found:
        pos, keys = found["client_ref"]
        out[CLIENT_ROW] = np.append(keys.row, -1)[pos[kept]]
    return pd.DataFrame(out, copy=False)


def _dates(values: np.ndarray, date_format: str | None) -> pd.Series:
    """Distinct values as dates: an ISO date, or one written ``date_format`` when given (a
    time after it is ignored), else NaT. Nothing else is tried: a date is never guessed."""
    text = pd.Series(values, dtype=object)
    if date_format is None:
        iso = text.astype("string[pyarrow]").str.match(ISO_DATE_RE).fillna(False)
        return pd.to_datetime(
            text.str.slice(0, 10).where(iso.to_numpy(bool)), format="%Y-%m-%d", errors="coerce"
        )
    bare = text.astype("string[pyarrow]").str.replace(TIME_RE, "", regex=True)
    return pd.to_datetime(
        bare.astype(object).where(text != "", None), format=date_format, errors="coerce"
    )


def _format_label(date_format: str) -> str:
    """A ``strptime`` format as people write it: ``%d/%m/%Y`` -> ``DD/MM/YYYY``."""
    for code, label in (("%d", "DD"), ("%m", "MM"), ("%Y", "YYYY"), ("%y", "YY"), ("%b", "Mon")):
        date_format = date_format.replace(code, label)
    return date_format


def _day_first(values: np.ndarray, codes: np.ndarray, lines: np.ndarray) -> tuple[str, int] | None:
    """How a date column is written when most of its values are dates with the day or month
    first (``DD/MM/YYYY``, ``MM/DD/YYYY``, or either when no value tells them apart), and
    the line of the first; None if they are not."""
    looks = pc.fill_null(
        pc.match_substring_regex(pa.array(values, pa.string()), DAY_FIRST_RE.pattern), False
    ).to_numpy(zero_copy_only=False)
    rows = looks[codes]
    if 2 * rows.sum() <= (values != "")[codes].sum():
        return None
    matches = [m for v in values[looks] if (m := DAY_FIRST_RE.match(v)) is not None]
    sep = matches[0].group(2)
    day, month = f"DD{sep}MM{sep}YYYY", f"MM{sep}DD{sep}YYYY"
    if any(int(m.group(1)) > 12 for m in matches):
        form = day
    elif any(int(m.group(3)) > 12 for m in matches):
        form = month
    else:
        form = f"{day} or {month}"
    return form, int(lines[np.flatnonzero(rows)[0]])


def _day_first_note(
    name: str, col: str, form: str, line: int, advice: str
) -> Callable[[int, int], str]:
    """The warning for an optional date column written day (or month) first, from the count
    of values set aside."""
    return lambda count, _first: (
        f"{name}: {col} looks like {form} (line {line}); {count:,} value(s) set aside, the "
        f"rows kept: {advice}"
    )


def _file_ledger(rows: Rows, accepted: int, rejected: int, set_aside: dict[str, int]) -> dict:
    """A file's counts: records read, accepted and rejected, and its physical lines (the
    header, the records, blank lines, and any lines continuing a quoted field), with the
    values of optional columns set aside, by column."""
    counts: dict[str, Any] = {
        "read": accepted + rejected,
        "accepted": accepted,
        "rejected": rejected,
        "lines": rows.physical,
        "blank": rows.blank,
    }
    if rows.continued:
        counts["continued"] = rows.continued
    if set_aside:
        counts["values_set_aside"] = set_aside
    return counts


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
        assert keys.packed is not None  # packed only if the keys are
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
        line = pd.Series(np.append(keys.line, 0)[pos[rows]], index=rows, dtype=object)
        return np.where(
            was_rejected[rows],
            f"{ref} was rejected in {target} (line " + line.astype(str) + ")",
            f"{ref} is not in {target}",
        ).astype(object)

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
