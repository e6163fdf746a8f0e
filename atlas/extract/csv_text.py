"""Reading a CSV file of the extract into columns of text (spec section 1).

The bytes are UTF-8 (with or without BOM) or Windows-1252. A plain file (no quotes, no blank
line, every record as wide as the header) is split by pyarrow; any other record by record by the
csv module, with the same result, a stray quote being set aside at its line rather than allowed
to swallow the lines after it. A ``TextColumn`` then offers its values as the checks want
them: once per distinct value (codes, dates, numbers), or whole (keys and references), stripped
and re-cased as Python would.
"""

from __future__ import annotations

import csv
import io
import mmap
import operator
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..errors import ExtractError


@dataclass
class Source:
    """A file's bytes as UTF-8 and its text (for ASCII bytes, decoded only when needed)."""

    utf8: bytes | mmap.mmap  # an ASCII file is mapped rather than read
    decoded: str | None

    @property
    def text(self) -> str:
        return self.decoded if self.decoded is not None else self.utf8[:].decode("ascii")

    def first_line(self) -> str:
        """The text up to the first line feed."""
        if self.decoded is not None:
            end = self.decoded.find("\n")
            return self.decoded if end < 0 else self.decoded[:end]
        end = self.utf8.find(b"\n")
        return self.utf8[: end if end >= 0 else None].decode("ascii")


def decode(path: Path, encoding: str | None) -> tuple[Source, str | None]:
    """UTF-8 (with or without BOM); otherwise Windows-1252, or a refusal naming the byte."""
    mapped = _ascii_mapped(path)
    if mapped is not None:  # the same text in every encoding accepted
        return Source(mapped, None), None
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ExtractError(
            f'{path.name}: the file is UTF-16 (saved as "Unicode Text"); re-export it as CSV UTF-8'
        )
    if encoding != "cp1252":
        try:
            return Source(data, data.decode("utf-8-sig")), None
        except UnicodeDecodeError as exc:
            utf8_error = exc
            if encoding == "utf-8":
                raise ExtractError(_byte_message(path, data, exc, "UTF-8")) from None
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise ExtractError(_byte_message(path, data, exc, "UTF-8 or Windows-1252")) from None
    if encoding == "cp1252":
        return Source(text.encode("utf-8"), text), None
    pos = utf8_error.start
    line = data.count(b"\n", 0, pos) + 1
    return Source(text.encode("utf-8"), text), (
        f"{path.name}: not UTF-8 (byte 0x{data[pos]:02X} at line {line}); read as Windows-1252"
    )


def _ascii_mapped(path: Path) -> mmap.mmap | None:
    """The file mapped in memory, if it is all ASCII (else None)."""
    with open(path, "rb") as fh:
        if not os.fstat(fh.fileno()).st_size:
            return None
        mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    if np.frombuffer(mapped, dtype=np.uint8).max() < 128:
        return mapped
    mapped.close()
    return None


def _byte_message(path: Path, data: bytes, exc: UnicodeDecodeError, what: str) -> str:
    pos = exc.start
    line = data.count(b"\n", 0, pos) + 1
    return (
        f"{path.name}: byte 0x{data[pos]:02X} at line {line} (offset {pos}) is not valid "
        f"{what}; re-export the file as UTF-8"
    )


class TextColumn:
    """One column of text. The plain reader's (``plain``: no quote, NUL or odd space) is not
    yet stripped; the checks then run once per distinct value (stripped and re-cased there),
    except on a key or a reference (``keyed``: values mostly distinct), stripped whole."""

    def __init__(self, arr: pa.ChunkedArray, plain: bool, case: Callable[[str], str] | None):
        """``case``: ``str.upper`` or ``str.lower`` for codes compared whatever their case."""
        self.arr = arr
        self.plain = plain
        self.case = case
        self.keyed = False
        self._distinct: tuple[np.ndarray, np.ndarray] | None = None
        self._whole: pa.ChunkedArray | None = None
        self._firsts: tuple[np.ndarray, np.ndarray, pa.Array] | None = None
        self._objects: np.ndarray | None = None
        self._packed: np.ndarray | Literal[False] | None = False  # False: not worked out yet

    @classmethod
    def blank(cls, n: int) -> TextColumn:
        """A column of ``n`` blanks (an optional column the file does not have)."""
        col = cls(
            pa.chunked_array(
                [pc.take(pa.array([""], pa.string()), pa.array(np.zeros(n, np.int32)))]
            ),
            False,
            None,
        )
        col._distinct = (np.zeros(n, dtype=np.int32), np.array([""], dtype=object))
        return col

    def distinct(self) -> tuple[np.ndarray, np.ndarray]:
        """Each row's code and the distinct values (as Python str) that the codes point to."""
        if self._distinct is None:
            codes, values = _dictionary(self.arr)
            if self.plain:
                values = pc.utf8_trim_whitespace(values)
            if self.case is not None:
                values = _recase(values, self.case)
            self._distinct = (codes, values.to_numpy(zero_copy_only=False))
        return self._distinct

    def whole(self) -> pa.ChunkedArray:
        """Every value, stripped and re-cased, as pyarrow text."""
        if self._whole is None:
            if self.case is not None:
                codes, values = self.distinct()
                self._whole = pa.chunked_array(
                    [pc.take(pa.array(values, pa.string()), pa.array(codes))]
                )
            else:
                self._whole = pc.utf8_trim_whitespace(self.arr) if self.plain else self.arr
        return self._whole

    def is_blank(self) -> np.ndarray:
        """Which rows are blank (once stripped)."""
        if self.keyed:
            return pc.equal(self.whole(), "").to_numpy(zero_copy_only=False)
        codes, values = self.distinct()
        return (values == "")[codes]

    def values(self, rows: np.ndarray) -> np.ndarray:
        """The values of the given rows as Python str."""
        if self.keyed:
            return self.whole().take(pa.array(rows)).to_numpy(zero_copy_only=False)
        codes, values = self.distinct()
        return values[codes[rows]]

    def firsts(self) -> tuple[np.ndarray, np.ndarray, pa.Array]:
        """As a key: each row's code, the row where each code first appears, and the
        distinct values (one per code)."""
        if self._firsts is None:
            arr = self.whole()
            packed = self.packed()
            if packed is not None:  # short keys: sorted as integers
                self._firsts = _firsts_sorted(packed, arr)
            elif len(arr) < 2 or pc.all(pc.less(arr.slice(0, len(arr) - 1), arr.slice(1))).as_py():
                rows = np.arange(len(arr))  # strictly increasing: all distinct
                self._firsts = (rows, rows, arr.combine_chunks())
            else:
                self._firsts = _firsts_hashed(arr)
        return self._firsts

    def packed(self) -> np.ndarray | None:
        """Every value as an integer (``_packed``), or None if they are not all short."""
        if self._packed is False:
            self._packed = _packed(self.whole(), nul_free=self.plain)
        return self._packed

    def key_objects(self) -> np.ndarray:
        """As a key: the distinct values as Python str (made once, shared by references)."""
        if self._objects is None:
            self._objects = self.firsts()[2].to_numpy(zero_copy_only=False)
        return self._objects


def _packed(arr: pa.ChunkedArray, nul_free: bool) -> np.ndarray | None:
    """ASCII text of at most 8 characters, none NUL, as integers in the same order as the text
    (its bytes, NUL-padded, big-endian); None if some value is not such text."""
    if not len(arr):
        return np.empty(0, dtype=np.uint64)
    if (
        pc.max(pc.binary_length(arr)).as_py() > 8
        or not pc.all(pc.string_is_ascii(arr)).as_py()
        or (not nul_free and pc.any(pc.match_substring(arr, "\x00")).as_py())
    ):
        return None
    fixed = pc.cast(pc.cast(pc.ascii_rpad(arr, 8, "\0"), pa.binary()), pa.binary(8))
    return np.concatenate(
        [
            np.frombuffer(c.buffers()[1], dtype=">u8")[c.offset : c.offset + len(c)]
            for c in fixed.chunks
            if len(c)
        ]
    ).astype(np.uint64)


def _firsts_sorted(
    packed: np.ndarray, arr: pa.ChunkedArray
) -> tuple[np.ndarray, np.ndarray, pa.Array]:
    """``TextColumn.firsts`` for keys as integers: codes number the distinct keys in sorted order
    (a stable sort, quick when the file is nearly in key order)."""
    n = len(packed)
    if n < 2 or (packed[1:] > packed[:-1]).all():
        rows = np.arange(n)  # strictly increasing: all distinct
        return rows, rows, arr.combine_chunks()
    order = np.argsort(packed, kind="stable")
    ordered = packed[order]
    new = np.empty(n, dtype=bool)
    new[0] = True
    new[1:] = ordered[1:] != ordered[:-1]
    codes = np.empty(n, dtype=np.int64)
    codes[order] = np.cumsum(new) - 1
    first_at = order[new]  # the stable sort puts each key's first row first
    return codes, first_at, arr.take(pa.array(first_at)).combine_chunks()


def _firsts_hashed(arr: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, pa.Array]:
    """``TextColumn.firsts`` for any keys: codes number the distinct keys as they first appear."""
    codes, values = _dictionary(arr)
    new = np.empty(len(codes), dtype=bool)
    new[0] = True
    new[1:] = codes[1:] > np.maximum.accumulate(codes)[:-1]
    first_at = np.flatnonzero(new)
    if len(first_at) != len(values):  # not numbered in that order
        first_at = np.unique(codes, return_index=True)[1]
    return codes, first_at, values


def _dictionary(arr: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Each value's code and the distinct values, in order of first appearance."""
    encoded = pc.dictionary_encode(arr)
    if not encoded.num_chunks:
        return np.empty(0, dtype=np.int32), pa.array([], pa.string())
    codes = pa.chunked_array([c.indices for c in encoded.chunks]).to_numpy()
    return codes, encoded.chunk(0).dictionary


def _recase(values: pa.Array, case: Callable[[str], str]) -> pa.Array:
    """Upper- or lower-case text as Python does (pyarrow when it is all ASCII)."""
    if pc.all(pc.string_is_ascii(values)).as_py() is not False:
        return pc.ascii_upper(values) if case is str.upper else pc.ascii_lower(values)
    return pa.array([case(v) for v in values.to_numpy(zero_copy_only=False)], pa.string())


@dataclass
class Rows:
    """The well-formed records of a file: their line numbers and their columns of text, with
    the file's physical lines counted: ``physical`` (header included), ``blank`` (blank lines,
    not records) and ``continued`` (lines continuing a quoted field begun on an earlier one)."""

    lines: np.ndarray
    columns: dict[str, TextColumn]
    physical: int = 0
    blank: int = 0
    continued: int = 0
    # the header and the fields of every record set aside (mis-shaped, or a line with an
    # unbalanced quote): still read, as the audit looks for the personal values of every record
    header: list[str] = field(default_factory=list)
    misshaped: list[list[str]] = field(default_factory=list)


def read_rows(
    name: str,
    source: Source,
    required: tuple[str, ...],
    optional: tuple[str, ...],
    case: dict[str, Callable[[str], str]],
) -> tuple[Rows, pd.DataFrame]:
    """Split into records; keep the required and optional columns (a missing optional one is
    blank), ``case`` re-casing some; set aside mis-shaped records and lines with an unbalanced
    quote (line, reason); count blank lines."""
    plain = _plain(source)
    # a plain file's header is its first line; otherwise its physical lines, as csv splits them
    lines = [] if plain else io.StringIO(source.text, newline="").readlines()
    header = _header(name, source.first_line() if plain else "".join(lines[:1]), required)
    _no_repeated_columns(name, header, (*required, *optional))
    wanted = [c for c in (*required, *optional) if c in header]
    index = [header.index(c) for c in wanted]
    arrays = _read_plain(source.utf8, len(header), index) if plain else None
    if arrays is not None:
        numbers = np.arange(2, 2 + len(arrays[0]), dtype=np.int64)
        counts, bad, misshaped = (1 + len(numbers), 0, 0), [], []
    else:
        if plain:  # plain, but not as plain as pyarrow reads: blank or mis-shaped lines
            lines = io.StringIO(source.text, newline="").readlines()
        records = _Records(lines, header, index)
        records.read()
        arrays = records.columns(wanted)
        numbers = np.asarray(records.numbers, dtype=np.int64)
        counts, bad, plain = (len(lines), records.blank, records.continued), records.bad, False
        misshaped = records.misshaped
    columns = {col: TextColumn(arr, plain, case.get(col)) for col, arr in zip(wanted, arrays)}
    for col in optional:
        if col not in columns:
            columns[col] = TextColumn.blank(len(numbers))
    bad_frame = pd.DataFrame(bad, columns=["line", "reason"])
    return Rows(numbers, columns, *counts, header, misshaped), bad_frame


def _header(name: str, first: str, required: tuple[str, ...]) -> list[str]:
    """The column names of the first line, lower-cased; a missing required column stops the
    build, naming it (and the columns found only when the line is a header: a file without
    one would otherwise show its first record)."""
    try:
        header = next(csv.reader([first]), None) if first.strip() else None
    except csv.Error:  # a field beyond the csv module's limit
        header = None
    if not header:
        if not first:
            raise ExtractError(f"{name}: the file is empty (no header row)")
        raise ExtractError(f"{name}: no header row (the first line is blank or unreadable)")
    header = [h.strip().lower() for h in header]
    missing = [c for c in required if c not in header]
    if missing and len(missing) == len(required):
        for sep, label in (("\t", "tabs"), (";", "semicolons"), ("|", "bars")):
            names = {h.strip().lower() for h in first.rstrip("\r\n").split(sep)}
            if sep in first and names & set(required):
                raise ExtractError(
                    f"{name}: the header is separated by {label}, not commas; export the file "
                    "as CSV (comma-separated)"
                )
        raise ExtractError(
            f"{name}: no header row: the first line names none of the required columns "
            f"({', '.join(required)})"
        )
    if missing:
        raise ExtractError(
            f"{name}: missing required column(s): {', '.join(missing)} "
            f"(found: {', '.join(h for h in header if h)})"
        )
    return header


def _no_repeated_columns(name: str, header: list[str], read: tuple[str, ...]) -> None:
    """A column the tool reads must be named once: which of two would be meant is a guess."""
    for col in read:
        at = [str(i + 1) for i, h in enumerate(header) if h == col]
        if len(at) > 1:
            raise ExtractError(
                f"{name}: the header names {col} {len(at)} times (columns "
                f"{', '.join(at[:-1])} and {at[-1]}); keep one"
            )


class _Records:
    """The general reader (quotes, blank and mis-shaped records): record by record, with the
    csv module, every physical line accounted for.

    A quoted field may hold line ends, but a record so spread over several lines is kept only
    when it is well formed: as wide as the header, its quotes closed, and none of the lines it
    takes in wide enough to be a record of its own. Otherwise the quote that opened it is a
    stray: its line is set aside as an unbalanced quote and reading resumes at the next line.
    Records are numbered as a spreadsheet numbers rows (the header is 1; a well-formed record
    over several lines is one row), which is the physical line in a file with none of those.
    """

    def __init__(self, lines: list[str], header: list[str], index: list[int]):
        self.lines = lines
        self.header = header
        self.width = len(header)
        self.pick = operator.itemgetter(*index) if len(index) > 1 else (lambda r: (r[index[0]],))
        self.rows: list[tuple[str, ...]] = []
        self.numbers: list[int] = []
        self.bad: list[tuple[int, str]] = []
        self.blank = 0
        self.continued = 0
        self.misshaped: list[list[str]] = []  # the fields of the records set aside

    def read(self) -> None:
        """Read every line after the header."""
        lines, n = self.lines, len(self.lines)
        start, number = 1, 2  # the line the next record starts on (0-based), and its number
        while start < n:
            reader = csv.reader(map(lines.__getitem__, range(start, n)))
            base = start
            try:
                for record in reader:
                    end = base + reader.line_num
                    if (end - start > 1 or end == n) and not self._well_formed(start, end, record):
                        self.bad.append((number, self._unbalanced(lines[start])))
                        self.misshaped.append(lines[start].rstrip("\r\n").split(","))
                        start, number = start + 1, number + 1
                        break
                    self._add(number, record)
                    self.continued += end - start - 1
                    start, number = end, number + 1
                else:
                    start = n
            except csv.Error:  # a field beyond the csv module's limit: a quote never closed
                self.bad.append((number, self._unbalanced(lines[start])))
                self.misshaped.append(lines[start].rstrip("\r\n").split(","))
                start, number = start + 1, number + 1

    def columns(self, wanted: list[str]) -> list[pa.ChunkedArray]:
        """The kept records' wanted columns, stripped, as pyarrow text."""
        frame = pd.DataFrame(self.rows, columns=wanted, dtype=object)
        return [
            pa.chunked_array([pa.array(frame[c].astype(str).str.strip().to_numpy(), pa.string())])
            for c in wanted
        ]

    def _add(self, number: int, record: list[str]) -> None:
        if len(record) == self.width and "".join(record).strip():
            self.rows.append(self.pick(record))
            self.numbers.append(number)
        elif not "".join(record).strip():
            self.blank += 1
        else:
            self.bad.append(
                (number, f"has {len(record)} fields where the header has {self.width}")
            )
            self.misshaped.append(record)

    def _well_formed(self, start: int, end: int, record: list[str]) -> bool:
        """Whether lines start..end-1 make one record with its quotes closed (asked where the
        record spans lines, or ends the file, where the csv module takes an open quote as
        closed)."""
        if end - start > 1:
            if len(record) != self.width:
                return False
            if any(line.count(",") >= self.width - 1 for line in self.lines[start + 1 : end]):
                return False
        return end < len(self.lines) or _open_quote("".join(self.lines[start:end])) is None

    def _unbalanced(self, line: str) -> str:
        """The reason for a line whose quote is not closed on it, naming the column."""
        col = _open_quote(line)
        if col is None:  # no quote left open: a field too long for the csv module
            return f"a field is longer than {csv.field_size_limit():,} characters"
        name = self.header[col] if col < self.width else f"field {col + 1}"
        return f"unbalanced quote in {name}: the quoted field is not closed on its line"


def _open_quote(line: str) -> int | None:
    """The position of the field whose opening quote is not closed on the line, if any (as the
    csv module reads it: a quote opens a field only as its first character)."""
    col, i, n = 0, 0, len(line)
    while i < n:
        if line[i] == '"':
            j = i + 1
            while True:
                j = line.find('"', j)
                if j < 0:
                    return col
                if line.startswith('"', j + 1):  # a doubled quote inside the field
                    j += 2
                    continue
                break
            i = j + 1
        comma = line.find(",", i)
        if comma < 0:
            return None
        col, i = col + 1, comma + 1
    return None


# Characters on which the plain reader's result could differ from the csv module's and
# str.strip's: quotes, NUL, and whitespace other than space and tab.
_NOT_PLAIN = re.compile(
    '["\x00\x0b\x0c\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]'
)
_NOT_PLAIN_ASCII = [bytes([c]) for c in b'"\x00\x0b\x0c\x1c\x1d\x1e\x1f']
_BLANK_LINE = re.compile(rb"^[ \t,]*\r?$", re.MULTILINE)
_LONE_CR = re.compile(rb"\r(?!\n)")  # a carriage return but in CR LF (searched in place)


def _plain(source: Source) -> bool:
    """Whether the file may be read by the plain reader: no quote, no control character or
    space Python splits lines or strips on, and no carriage return but in CR LF (for ASCII
    bytes: a fast search per character)."""
    data = source.utf8
    if source.decoded is None:
        if any(data.find(ch) >= 0 for ch in _NOT_PLAIN_ASCII):
            return False
    elif _NOT_PLAIN.search(source.decoded) is not None:
        return False
    return data.find(b"\r") < 0 or _LONE_CR.search(data) is None


def _read_plain(
    data: bytes | mmap.mmap, width: int, index: list[int]
) -> list[pa.ChunkedArray] | None:
    """The wanted columns (not yet stripped) of a plain file with no blank line and every
    record as wide as the header, read by pyarrow; None when the file is not that plain
    (the general reader then gives the same result, slowly, with the reasons for the odd
    records)."""
    start = data.find(b"\n") + 1
    if not start or start == len(data):
        return [pa.chunked_array([], pa.string()) for _ in index]
    names = [f"c{i}" for i in range(width)]
    shaped = [True]

    def odd_row(_row) -> str:
        shaped[0] = False
        return "skip"

    table = pacsv.read_csv(
        pa.BufferReader(pa.py_buffer(data).slice(start)),
        read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(
            quote_char=False,
            double_quote=False,
            escape_char=False,
            ignore_empty_lines=False,
            invalid_row_handler=odd_row,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            include_columns=[names[i] for i in index],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    if not shaped[0]:
        return None
    arrays = [table.column(names[i]) for i in index]
    if _may_have_blank_line(arrays):
        end = len(data) - (2 if data[-2:] == b"\r\n" else data[-1:] == b"\n")
        if _BLANK_LINE.search(data, start, end):
            return None
    return arrays


def _may_have_blank_line(arrays: list[pa.ChunkedArray]) -> bool:
    """Whether some record is blank in every wanted column (it could be a blank line)."""
    blank = None
    for arr in arrays:
        here = pc.equal(pc.utf8_trim_whitespace(arr), "")
        blank = here if blank is None else pc.and_(blank, here)
        if not pc.any(blank).as_py():
            return False
    return True
