"""Reading and validating the IMS extract (spec section 1).

Every row of every file is accounted for: it is either accepted into a typed frame or set aside
in the rejects with its file, line (the header is line 1, as a spreadsheet counts) and reason.
A missing required file or column, or bytes that are neither UTF-8 nor Windows-1252, stop the
build with a message naming the file (and byte).
"""

from __future__ import annotations

import csv
import io
import logging
import operator
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .errors import ExtractError

log = logging.getLogger(__name__)

GENDERS = ("M", "F", "X", "U")
ISO_DATE_RE = r"^\d{4}-\d{2}-\d{2}(?:[T ][0-9:.]+Z?)?$"
ITEM_COLUMNS = ("needles", "syringes", "bins", "swabs", "foil", "citric", "other_items")
ACTIVITY_FILES = ("nsp_transactions.csv", "interventions.csv")
# Personal data: a reject reason names the field and line but never repeats its value, because
# rejects.csv is published with the drop.
PERSONAL = frozenset({"client_ref", "first_initial", "last_initial", "date_of_birth",
                      "postcode"})


def _quoted(col: str, values: pd.Series) -> pd.Series | str:
    """How a reason shows a value: ``col 'value'``, or just ``col`` for personal data."""
    return col if col in PERSONAL else col + " '" + values + "'"


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


SPECS: dict[str, FileSpec] = {s.name: s for s in (
    FileSpec("sites.csv", ("site_code", "site_name", "site_type", "postcode"),
             ("latitude", "longitude", "local_authority", "services", "opened", "closed"),
             unique="site_code", nonblank=("site_code", "site_type"),
             dates=("opened", "closed"), enums=(("site_type", ("agency", "pharmacy")),)),
    FileSpec("clients.csv", ("client_ref", "site_code", "first_initial", "last_initial",
                             "date_of_birth", "gender"), ("postcode", "ethnicity"),
             unique="client_ref", nonblank=("client_ref", "site_code"),
             dates=("date_of_birth",), enums=(("gender", GENDERS),), refs=("site_code",)),
    FileSpec("assessments.csv", ("client_ref", "site_code", "assessment_date"),
             ("postcode", "local_authority", "accommodation", "employment", "parental_status",
              "substance_1", "substance_2", "substance_3", "injecting"),
             nonblank=("client_ref", "site_code", "assessment_date"),
             dates=("assessment_date",), enums=(("injecting", ("Y", "N")),),
             refs=("client_ref", "site_code")),
    FileSpec("nsp_transactions.csv", ("transaction_id", "client_ref", "site_code", "visit_date"),
             ("returned", "substance", *ITEM_COLUMNS), unique="transaction_id",
             nonblank=("transaction_id", "client_ref", "site_code", "visit_date"),
             dates=("visit_date",), enums=(("returned", ("Y", "N")),),
             ints=tuple((c, 0, None) for c in ITEM_COLUMNS), refs=("client_ref", "site_code")),
    FileSpec("interventions.csv", ("intervention_id", "client_ref", "site_code",
                                   "intervention_date", "intervention_type"), ("substance",),
             unique="intervention_id",
             nonblank=("intervention_id", "client_ref", "site_code", "intervention_date"),
             dates=("intervention_date",), refs=("client_ref", "site_code")),
    FileSpec("wellbeing.csv", ("client_ref", "site_code", "review_date", "wemwbs_score"),
             nonblank=("client_ref", "site_code", "review_date", "wemwbs_score"),
             dates=("review_date",), ints=(("wemwbs_score", 14, 70),),
             refs=("client_ref", "site_code")),
    FileSpec("referrals.csv", ("client_ref", "site_code", "referral_date", "direction"),
             ("organisation",), nonblank=("client_ref", "site_code", "referral_date", "direction"),
             dates=("referral_date",), enums=(("direction", ("IN", "OUT")),),
             refs=("client_ref", "site_code")),
)}
# Columns whose values are codes compared case-insensitively: upper-cased on reading.
_UPPER = {"gender", "injecting", "returned", "direction", "first_initial", "last_initial"}
_LOWER = {"site_type"}


@dataclass
class Extract:
    """The accepted rows of each file as typed frames, plus the rejects and the ledger."""

    frames: dict[str, pd.DataFrame]
    rejects: pd.DataFrame
    ledger: dict[str, dict[str, int]]
    paths: dict[str, Path]
    warnings: list[str] = field(default_factory=list)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.frames[name]


def read_extract(folder: Path, encoding: str | None = None) -> Extract:
    """Read, type and validate every file of the extract folder."""
    paths = _find_files(Path(folder))
    frames: dict[str, pd.DataFrame] = {}
    rejects: list[pd.DataFrame] = []
    ledger: dict[str, dict[str, int]] = {}
    warnings: list[str] = []
    known: dict[str, pd.DataFrame] = {}  # accepted and rejected keys, for reference checks
    for name, spec in SPECS.items():
        if name not in paths:
            frames[name] = _empty(spec)
            continue
        text, note = _decode(paths[name], encoding)
        if note:
            warnings.append(note)
            log.warning(note)
        raw, bad_shape = _parse(name, text, spec)
        accepted, rejected = _validate(spec, raw, known)
        rejected = pd.concat([bad_shape, rejected], ignore_index=True)
        frames[name] = accepted
        rejects.append(rejected.assign(file=name))
        ledger[name] = {"read": len(raw) + len(bad_shape), "accepted": len(accepted),
                        "rejected": len(rejected)}
        if name in ("sites.csv", "clients.csv"):
            key = spec.unique
            known[name] = pd.DataFrame({"key": raw[key], "line": raw["line"],
                                        "ok": raw["line"].isin(accepted["line"])})
    all_rejects = pd.concat(rejects, ignore_index=True) if rejects else _empty_rejects()
    all_rejects = all_rejects[["file", "line", "reason"]].astype({"line": int})
    return Extract(frames, all_rejects.reset_index(drop=True), ledger, paths, warnings)


def _find_files(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise ExtractError(f"extract folder not found: {folder}")
    found = {p.name.lower(): p for p in sorted(folder.iterdir()) if p.is_file()}
    paths = {name: found[name] for name in SPECS if name in found}
    missing = [n for n in ("sites.csv", "clients.csv") if n not in paths]
    if missing:
        raise ExtractError(f"{folder}: required file(s) missing: {', '.join(missing)}")
    if not any(n in paths for n in ACTIVITY_FILES):
        raise ExtractError(f"{folder}: no activity file: the extract needs "
                           f"{' or '.join(ACTIVITY_FILES)}")
    return paths


def _decode(path: Path, encoding: str | None) -> tuple[str, str | None]:
    """UTF-8 (with or without BOM); otherwise Windows-1252, or a refusal naming the byte."""
    data = path.read_bytes()
    if encoding != "cp1252":
        try:
            return data.decode("utf-8-sig"), None
        except UnicodeDecodeError as exc:
            utf8_error = exc
            if encoding == "utf-8":
                raise ExtractError(_byte_message(path, data, exc, "UTF-8")) from None
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise ExtractError(_byte_message(path, data, exc, "UTF-8 or Windows-1252")) from None
    if encoding == "cp1252":
        return text, None
    pos = utf8_error.start
    line = data.count(b"\n", 0, pos) + 1
    return text, (f"{path.name}: not UTF-8 (byte 0x{data[pos]:02X} at line {line}); "
                  "read as Windows-1252")


def _byte_message(path: Path, data: bytes, exc: UnicodeDecodeError, what: str) -> str:
    pos = exc.start
    line = data.count(b"\n", 0, pos) + 1
    return (f"{path.name}: byte 0x{data[pos]:02X} at line {line} (offset {pos}) is not valid "
            f"{what}; re-export the file as UTF-8")


def _parse(name: str, text: str, spec: FileSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split into records; keep known columns; set aside blank and mis-shaped records."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header:
        raise ExtractError(f"{name}: the file is empty (no header row)")
    header = [h.strip().lower() for h in header]
    missing = [c for c in spec.required if c not in header]
    if missing:
        raise ExtractError(f"{name}: missing required column(s): {', '.join(missing)} "
                           f"(found: {', '.join(h for h in header if h)})")
    wanted = [c for c in (*spec.required, *spec.optional) if c in header]
    index = [header.index(c) for c in wanted]
    width = len(header)
    columns = _read_plain(text, width, index)
    if columns is not None:
        lines = np.arange(2, 2 + (len(columns[0]) if columns else 0), dtype=np.int64)
        bad: list[tuple[int, str]] = []
        frame = pd.DataFrame(dict(zip(wanted, columns)), columns=wanted, dtype=object)
    else:
        frame, lines, bad = _read_records(reader, width, wanted, index)
    for col in wanted:
        if col in _UPPER:
            frame[col] = _recase(frame[col], str.upper, pc.ascii_upper)
        elif col in _LOWER:
            frame[col] = _recase(frame[col], str.lower, pc.ascii_lower)
    for col in spec.optional:
        if col not in frame:
            frame[col] = ""
    frame.insert(0, "line", np.asarray(lines, dtype=np.int64))
    bad_frame = pd.DataFrame(bad, columns=["line", "reason"])
    return frame, bad_frame


def _read_records(reader, width: int, wanted: list[str],
                  index: list[int]) -> tuple[pd.DataFrame, list[int], list[tuple[int, str]]]:
    """The general reader (quotes, blank and mis-shaped records): record by record."""
    rows: list[list[str]] = []
    lines: list[int] = []
    bad: list[tuple[int, str]] = []
    pick = operator.itemgetter(*index) if len(index) > 1 else (lambda r: (r[index[0]],))
    for line, record in enumerate(reader, start=2):
        if len(record) == width and "".join(record).strip():
            rows.append(pick(record))
            lines.append(line)
        elif not "".join(record).strip():
            bad.append((line, "blank line"))
        else:
            bad.append((line, f"has {len(record)} fields; the header has {width}"))
    frame = pd.DataFrame(rows, columns=wanted, dtype=object)
    for col in wanted:
        frame[col] = frame[col].astype(str).str.strip()
    return frame, lines, bad


# Characters on which the plain reader's result could differ from the csv module's and
# str.strip's: quotes, NUL, and whitespace other than space and tab.
_NOT_PLAIN = re.compile('["\x00\x0b\x0c\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029'
                        '\u202f\u205f\u3000]')
_BLANK_LINE = re.compile(r"^[ \t,]*$", re.MULTILINE)


def _not_plain(text: str) -> bool:
    """Whether ``text`` has a character the plain reader does not take: a quote, or a control
    character or space Python splits lines or strips on (ASCII text: a scan per character)."""
    if text.isascii():  # O(1) in CPython; each ``in`` is a fast memchr-like search
        return any(ch in text for ch in '"\x00\x0b\x0c\x1c\x1d\x1e\x1f')
    return _NOT_PLAIN.search(text) is not None


def _read_plain(text: str, width: int, index: list[int]) -> list[np.ndarray] | None:
    """The wanted columns, stripped, of a file with no quoting, no blank line and every record
    as wide as the header, read by pyarrow; None when the file is not that plain (the general
    reader then gives the exact same result, slowly, with the reasons for the odd records)."""
    if _not_plain(text):
        return None
    body = text[text.find("\n") + 1:] if "\n" in text else ""
    if "\r" in body:
        body = body.replace("\r\n", "\n")
        if "\r" in body:
            return None
    if not body:
        return [np.empty(0, dtype=object) for _ in index]
    if _BLANK_LINE.search(body[:-1] if body.endswith("\n") else body):
        return None
    names = [f"c{i}" for i in range(width)]
    shaped = [True]

    def odd_row(_row) -> str:
        shaped[0] = False
        return "skip"

    table = pacsv.read_csv(
        io.BytesIO(body.encode("utf-8")),
        read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(quote_char=False, double_quote=False,
                                         escape_char=False, ignore_empty_lines=False,
                                         invalid_row_handler=odd_row),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            include_columns=[names[i] for i in index], strings_can_be_null=False,
            quoted_strings_can_be_null=False))
    if not shaped[0]:
        return None
    return [pc.utf8_trim_whitespace(table.column(names[i])).to_numpy(zero_copy_only=False)
            for i in index]


def _recase(values: pd.Series, python: Callable[[str], str], ascii_fn) -> pd.Series:
    """Upper- or lower-case a column of str as Python does (pyarrow when it is all ASCII)."""
    arr = pa.array(values.to_numpy(), type=pa.string())
    if pc.all(pc.string_is_ascii(arr)).as_py() is not False:
        out = ascii_fn(arr).to_numpy(zero_copy_only=False)
    else:
        out = np.array([python(v) for v in values.to_numpy()], dtype=object)
    return pd.Series(out, index=values.index, dtype=object)


def _validate(spec: FileSpec, raw: pd.DataFrame,
              known: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every check at once, vectorised; a row's reason lists each problem it has."""
    problems: list[pd.Series] = []

    def fail(mask: pd.Series, message: Callable[[pd.Index], pd.Series | str] | str) -> None:
        """Note a problem for the rows in mask; a callable message is built for those rows only."""
        if mask.any():
            rows = mask[mask].index
            text = message(rows) if callable(message) else message
            problems.append(pd.Series(text, index=rows, dtype=object))

    for col in spec.nonblank:
        fail(raw[col] == "", f"{col} is blank")
    parsed_dates: dict[str, pd.Series] = {}
    for col in spec.dates:
        values = raw[col]
        iso = values.astype("string[pyarrow]").str.match(ISO_DATE_RE).fillna(False)
        parsed = pd.to_datetime(values.str.slice(0, 10).where(iso.to_numpy(bool)),
                                format="%Y-%m-%d", errors="coerce")
        bad = (values != "") & parsed.isna()
        fail(bad, lambda rows, c=col, v=values: _quoted(c, v[rows])
             + " is not a valid ISO date (YYYY-MM-DD)")
        parsed_dates[col] = parsed
    for col, allowed in spec.enums:
        bad = (raw[col] != "") & ~raw[col].isin(allowed)
        fail(bad, lambda rows, c=col, a=allowed: _quoted(c, raw[c][rows])
             + f" is not one of {', '.join(a)}")
    parsed_ints: dict[str, pd.Series] = {}
    for col, lo, hi in spec.ints:
        values = raw[col]
        num = _whole_numbers(values)
        bad = (values != "") & (num.isna() | (num < lo) | ((num > hi) if hi is not None else False))
        expect = f"a whole number from {lo} to {hi}" if hi is not None else f"a whole number ≥ {lo}"
        fail(bad, lambda rows, c=col, v=values, e=expect: _quoted(c, v[rows]) + f" is not {e}")
        parsed_ints[col] = num.astype("Int64")
    for ref in spec.refs:
        target = "clients.csv" if ref == "client_ref" else "sites.csv"
        fail(*_ref_check(raw[ref], known.get(target), ref, target))
    if spec.unique:
        values = raw[spec.unique]
        codes, _ = pd.factorize(values.to_numpy(), use_na_sentinel=False)
        first_at = np.unique(codes, return_index=True)[1]  # position of each value's first row
        earlier = first_at[codes]
        dup = (values != "") & (earlier != np.arange(len(codes)))
        lines = raw["line"].to_numpy()
        fail(dup, lambda rows: "duplicate " + _quoted(spec.unique, values[rows])
             + " (first at line " + pd.Series(lines[earlier[raw.index.get_indexer(rows)]],
                                              index=rows).astype(str) + ")")
    # one reason per row: its problems joined in the order the checks ran
    reason = (pd.concat(problems).groupby(level=0, sort=True).agg("; ".join) if problems
              else pd.Series(dtype=object))
    bad_rows = raw.index.isin(reason.index)
    rejected = pd.DataFrame({"line": raw.loc[bad_rows, "line"],
                             "reason": reason.reindex(raw.index[bad_rows])})
    keep = np.flatnonzero(~bad_rows)
    columns = {col: raw[col].to_numpy()[keep] for col in raw.columns}
    for col, parsed in (*parsed_dates.items(), *parsed_ints.items()):
        columns[col] = parsed.array[keep]
    accepted = pd.DataFrame(columns, copy=False)
    return accepted, rejected.reset_index(drop=True)


def _whole_numbers(values: pd.Series) -> pd.Series:
    """The values that are whole numbers (``[+-]?\\d+``) of up to 18 characters as numbers,
    else NaN (so an absurdly long number is a bad value, not an overflow)."""
    arr = pa.array(values.to_numpy(), type=pa.string())
    whole = pc.fill_null(pc.match_substring_regex(arr, r"^[+-]?\d+$"), False)
    short = pc.and_(whole, pc.less_equal(pc.utf8_length(arr), 18))
    unsigned = pc.replace_substring_regex(pc.if_else(short, arr, None), r"^\+", "")
    return pd.Series(pc.cast(unsigned, pa.int64()).to_numpy(zero_copy_only=False),
                     index=values.index)


def _ref_check(values: pd.Series, known: pd.DataFrame | None, ref: str,
               target: str) -> tuple[pd.Series, Callable[[pd.Index], pd.Series] | str]:
    """Mask and message for references to a key that is unknown or was itself rejected."""
    if known is None:
        return values != values, ""
    # a key's first record decides: a later one with the same key is rejected as a duplicate
    first = known.drop_duplicates("key")
    pos = pc.index_in(pa.array(values.to_numpy(), type=pa.string()),
                      value_set=pa.array(first["key"].to_numpy(), type=pa.string()))
    found = pc.is_valid(pos).to_numpy(zero_copy_only=False)
    pos = pc.fill_null(pos, 0).to_numpy(zero_copy_only=False)
    line = pd.Series(np.where(found, first["line"].to_numpy()[pos], np.nan), index=values.index)
    ok = first["ok"].to_numpy(dtype=bool)[pos] & found
    given = values != ""
    unknown = given & ~found
    was_rejected = given & found & ~ok

    def message(rows: pd.Index) -> pd.Series:
        shown = _quoted(ref, values[rows])
        text = pd.Series(shown + f" is not in {target}", index=rows)
        return text.where(~was_rejected[rows], shown + f" was rejected in {target} (line "
                          + line[rows].fillna(0).astype(int).astype(str) + ")")

    return unknown | was_rejected, message


def _empty(spec: FileSpec) -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in (*spec.required, *spec.optional)})
    for col in spec.dates:
        frame[col] = pd.Series(dtype="datetime64[ns]")
    for col, _, _ in spec.ints:
        frame[col] = pd.Series(dtype="Int64")
    frame.insert(0, "line", pd.Series(dtype=np.int64))
    return frame


def _empty_rejects() -> pd.DataFrame:
    return pd.DataFrame({"file": pd.Series(dtype=object), "line": pd.Series(dtype=int),
                         "reason": pd.Series(dtype=object)})
