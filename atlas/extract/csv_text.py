"""Reading a CSV file of the extract into columns of text (spec section 1).

The bytes are UTF-8 (with or without BOM) or Windows-1252. A plain file (no quotes, no blank
line, every record as wide as the header) is split by pyarrow; any other record by record by the
csv module, with the same result. A ``TextColumn`` then offers its values as the checks want
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
        self._packed: np.ndarray | bool | None = False  # False: not worked out yet

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
    """The well-formed records of a file: their line numbers and their columns of text; and
    the header and the fields of every mis-shaped record (set aside, but still read: the audit
    looks for the personal values of every record)."""

    lines: np.ndarray
    columns: dict[str, TextColumn]
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
    blank), ``case`` re-casing some; set aside blank and mis-shaped records (line, reason)."""
    plain = _plain(source)
    # a plain file's header is its first line; otherwise a record may span lines
    reader = csv.reader(io.StringIO(source.first_line() if plain else source.text, newline=""))
    header = next(reader, None)
    if not header:
        raise ExtractError(f"{name}: the file is empty (no header row)")
    header = [h.strip().lower() for h in header]
    missing = [c for c in required if c not in header]
    if missing:
        raise ExtractError(
            f"{name}: missing required column(s): {', '.join(missing)} "
            f"(found: {', '.join(h for h in header if h)})"
        )
    wanted = [c for c in (*required, *optional) if c in header]
    index = [header.index(c) for c in wanted]
    width = len(header)
    arrays = _read_plain(source.utf8, width, index) if plain else None
    bad: list[tuple[int, str]] = []
    misshaped: list[list[str]] = []
    if arrays is not None:
        lines = np.arange(2, 2 + len(arrays[0]), dtype=np.int64)
        plain = True
    else:
        reader = csv.reader(io.StringIO(source.text, newline=""))
        next(reader)
        frame, lines, bad, misshaped = _read_records(reader, width, wanted, index)
        arrays = [
            pa.chunked_array([pa.array(frame[col].to_numpy(), pa.string())]) for col in wanted
        ]
        plain = False
    columns = {col: TextColumn(arr, plain, case.get(col)) for col, arr in zip(wanted, arrays)}
    for col in optional:
        if col not in columns:
            columns[col] = TextColumn.blank(len(lines))
    bad_frame = pd.DataFrame(bad, columns=["line", "reason"])
    return Rows(np.asarray(lines, dtype=np.int64), columns, header, misshaped), bad_frame


def _read_records(
    reader, width: int, wanted: list[str], index: list[int]
) -> tuple[pd.DataFrame, list[int], list[tuple[int, str]], list[list[str]]]:
    """The general reader (quotes, blank and mis-shaped records): record by record. Also
    returns the fields of the mis-shaped records."""
    rows: list[list[str]] = []
    lines: list[int] = []
    bad: list[tuple[int, str]] = []
    misshaped: list[list[str]] = []
    pick = operator.itemgetter(*index) if len(index) > 1 else (lambda r: (r[index[0]],))
    for line, record in enumerate(reader, start=2):
        if len(record) == width and "".join(record).strip():
            rows.append(pick(record))
            lines.append(line)
        elif not "".join(record).strip():
            bad.append((line, "blank line"))
        else:
            bad.append((line, f"has {len(record)} fields; the header has {width}"))
            misshaped.append(record)
    frame = pd.DataFrame(rows, columns=wanted, dtype=object)
    for col in wanted:
        frame[col] = frame[col].astype(str).str.strip()
    return frame, lines, bad, misshaped


# Characters on which the plain reader's result could differ from the csv module's and
# str.strip's: quotes, NUL, and whitespace other than space and tab.
_NOT_PLAIN = re.compile(
    '["\x00\x0b\x0c\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]'
)
_NOT_PLAIN_ASCII = [bytes([c]) for c in b'"\x00\x0b\x0c\x1c\x1d\x1e\x1f']
_BLANK_LINE = re.compile(rb"^[ \t,]*\r?$", re.MULTILINE)


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
    return data.find(b"\r") < 0 or data[:].count(b"\r") == data[:].count(b"\r\n")


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
