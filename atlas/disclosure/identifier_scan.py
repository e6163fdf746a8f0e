"""The audit's scan of published bytes for client identifiers, vectorised over the bytes.

It finds, at every place one starts, what these find (the reference the tests compare against),
at a fraction of the cost of Python's ``re`` on the tens of megabytes of a national drop:

- a client's full postcode: ``personal.POSTCODE_TEXT``, in either case, with any run of spaces
  (also no-break), tabs and hyphens between its outward and inward codes, or none (``ZX1 1AD``,
  ``zx1-1ad``, ``ZX11AD``);
- a client's date of birth: ``personal.DATE_TEXT``, ISO or year-month-day, or day-month-year
  joined by ``.``, ``/`` or ``-``, with or without leading zeros, with a four-digit year or two
  digits standing for any century (``1976-12-27``, ``27.12.1976``, ``27/12/76``, ``7-1-1976``);
- a client_ref or attributor: its text anywhere, inside longer tokens too (``C000002`` in
  ``C000002-visit1``), unless it would split a run of ASCII letters and digits (its first or
  last byte is one and so is the byte beside it) or a decimal number (it starts with a digit
  just after ``d.``, or ends with one just before ``.d``).

How, in terms of maximal runs of ASCII letters and digits: a postcode ends with its inward
code (a digit and two letters ending a run), so only those places are examined, the outward code
read back from each, in the same run or before a run of spacing. A date is three runs of digits
joined by one separator twice, examined at each separator between two digits. A word is found
through its longest run of letters and digits (its anchor): wherever the word occurs, that is a
whole run of the text, so the text's runs are looked up among the anchors (after a test on their
length, first and last byte) and only the few that are one are compared in full.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..extract.personal import POSTCODE_KEY
from ..geography.directory import char_matrix

POSTCODE = "a client's full postcode"
DATE_OF_BIRTH = "a client's date of birth"
CLIENT_REF = "a client_ref"
ATTRIBUTOR = "a client attributor"
LINKAGE = "a keyed attributor or the linkage key"
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_DIGITS = b"0123456789"
# what may stand between a postcode's outward and inward codes: spaces, tabs, hyphens and the
# bytes of a no-break space (C2 A0; no other run of these bytes before a digit is text)
_SPACING = b" \t-\xc2\xa0"


def _table(members: bytes) -> bytes:
    """A byte table for ``bytes.translate``: 1 where a byte is one of ``members``."""
    return bytes(1 if b in members else 0 for b in range(256))


_ALNUM_TABLE, _DIGIT_TABLE, _SPACING_TABLE = (
    _table(_LETTERS + _DIGITS),
    _table(_DIGITS),
    _table(_SPACING),
)
_ALNUM_RUN = re.compile(rb"[A-Za-z0-9]+")

# base-37 value of a letter or digit, letters in either case (as directory.postcode_keys)
_VALUE = np.zeros(256, dtype=np.int64)
_VALUE[np.frombuffer(b"0123456789", np.uint8)] = np.arange(1, 11)
_VALUE[np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", np.uint8)] = np.arange(11, 37)
_VALUE[np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", np.uint8)] = np.arange(11, 37)
_POWERS = 37 ** np.arange(6, -1, -1, dtype=np.int64)


@dataclass(frozen=True)
class Words:
    """Texts to find inside longer ones (see the module's docstring): those that are one run of
    letters and digits (most references) are hits wherever a run of the text equals one; the
    others are found through their anchor run."""

    whole: pa.Array  # the words that are one run of letters and digits
    anchors: dict[bytes, set[tuple[int, int]]]  # the others': anchor -> (offset in word, length)
    others: frozenset[bytes]
    loose: tuple[bytes, ...]  # words without a letter or digit, searched for as they are
    signed: np.ndarray  # indexed by signature: whether a whole word or an anchor has it

    @classmethod
    def of(cls, values: Collection[str] | pa.Array) -> Words:
        values = _strings(values)
        values = values.filter(pc.greater(pc.binary_length(values), 0))
        one_run = pc.match_substring_regex(values, "^[A-Za-z0-9]+$")
        whole = values.filter(one_run)
        anchors: dict[bytes, set[tuple[int, int]]] = {}
        others: set[bytes] = set()
        loose: list[bytes] = []
        for word in values.filter(pc.invert(one_run)).to_pylist():
            data = word.encode()
            runs = [m.span() for m in _ALNUM_RUN.finditer(data)]
            if not runs:
                loose.append(data)
                continue
            start, end = max(runs, key=lambda r: r[1] - r[0])  # the first longest
            anchors.setdefault(data[start:end], set()).add((start, len(data)))
            others.add(data)
        signed = np.zeros(1 << 24, dtype=bool)
        if len(whole):
            offsets = np.frombuffer(whole.buffers()[1], dtype=np.int64)
            offsets = offsets[whole.offset : whole.offset + len(whole) + 1]
            arr = np.frombuffer(whole.buffers()[2], dtype=np.uint8)
            signed[_signatures(arr, offsets[:-1], offsets[1:])] = True
        for anchor in anchors:
            arr = np.frombuffer(anchor, dtype=np.uint8)
            signed[_signatures(arr, np.array([0]), np.array([len(arr)]))] = True
        return cls(whole, anchors, frozenset(others), tuple(sorted(set(loose))), signed)


@dataclass(frozen=True)
class Needles:
    """The identifiers in the forms the scan compares."""

    postcodes: np.ndarray  # sorted base-37 keys of the upper-case compact postcodes
    dates: np.ndarray  # sorted yyyymmdd of the ISO dates of birth
    short_dates: np.ndarray  # sorted yymmdd of the same (a two-digit year)
    client_refs: Words
    attributors: Words
    linkage: Words | None = None  # keyed attributors and the key's text ([linkage])

    @classmethod
    def of(
        cls,
        postcodes: Collection[str] | pa.Array,
        dates: Collection[str] | pa.Array,
        client_refs: Collection[str] | pa.Array,
        attributors: Collection[str] | pa.Array,
        linkage: Collection[str] = (),
    ) -> Needles:
        codes = _strings(postcodes)
        codes = codes.filter(pc.match_substring_regex(codes, f"^{POSTCODE_KEY.pattern}$"))
        text = _strings(dates)
        iso = text.filter(pc.match_substring_regex(text, f"^{ISO_DATE.pattern}$"))
        days = _distinct(pc.cast(pc.replace_substring(iso, "-", ""), pa.int64()).to_numpy())
        return cls(
            _distinct(_VALUE[char_matrix(codes, 7)] @ _POWERS),
            days,
            _distinct(days % 1_000_000),
            Words.of(client_refs),
            Words.of(attributors),
            Words.of(sorted({w for v in linkage for w in (v, v.upper())})) if linkage else None,
        )


def _distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (``np.unique`` without its cost on large arrays)."""
    values = np.sort(values)
    return values[np.r_[True, values[1:] != values[:-1]]] if len(values) else values


def _strings(values: Collection[str] | pa.Array) -> pa.Array:
    """The values (no nulls) as an Arrow large-string array."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        values = pa.array(list(values), type=pa.large_string())
    return pc.drop_null(values.cast(pa.large_string()))


def _signatures(arr: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """(length up to 255, first byte, last byte) of each non-empty slice, as one number under
    2**24 (longer slices share the length 255: a coarser test, still never a wrong one)."""
    return (
        (np.minimum(ends - starts, 255).astype(np.int64) << 16)
        | (arr[starts].astype(np.int64) << 8)
        | arr[ends - 1]
    )


def scan_files(
    files: Mapping[str, bytes], needles: Needles
) -> dict[str, list[tuple[int, int, str]]]:
    """(byte offset, line, kind) of every identifier found in each file (UTF-8; invalid bytes
    read as U+FFFD, offsets then in those bytes), in the order of their places, one per place
    and kind."""
    found: dict[str, list[tuple[int, int, str]]] = {}
    for path, data in files.items():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            data = data.decode("utf-8", "replace").encode("utf-8")
        found[path] = _lines(data, _scan(data, needles))
    return found


def _scan(data: bytes, needles: Needles) -> list[tuple[int, str]]:
    """(offset, kind) of every identifier in one text's bytes."""
    arr = np.frombuffer(data, dtype=np.uint8)
    alnum = _mask(data, _ALNUM_TABLE)
    digit = _mask(data, _DIGIT_TABLE)
    hits = [(p, POSTCODE) for p in _postcodes(data, arr, alnum, digit, needles).tolist()]
    hits += [(p, DATE_OF_BIRTH) for p in _dates(arr, digit, needles).tolist()]
    starts, ends = _runs(alnum)
    signature = _signatures(arr, starts, ends) if len(starts) else np.zeros(0, dtype=np.int64)
    kinds = [(CLIENT_REF, needles.client_refs), (ATTRIBUTOR, needles.attributors)]
    if needles.linkage is not None:
        kinds.append((LINKAGE, needles.linkage))
    for kind, words in kinds:
        hits += [(p, kind) for p in _words(data, arr, digit, starts, ends, signature, words)]
    return hits


def _lines(data: bytes, hits: list[tuple[int, str]]) -> list[tuple[int, int, str]]:
    """The hits sorted by place without repeats, with their line numbers."""
    if not hits:
        return []
    at, kinds = zip(*sorted(set(hits)))
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))
    lines = (np.searchsorted(newlines, np.array(at)) + 1).tolist()
    return list(zip(at, lines, kinds))


def _member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """Whether each value is in ``sorted_set`` (binary search: the set is sorted once)."""
    if len(sorted_set) == 0:
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return sorted_set[at] == values


def _mask(data: bytes, table: bytes) -> np.ndarray:
    """Whether each byte is one of the table's (``bytes.translate``: far faster than a numpy
    lookup indexed by the bytes)."""
    return np.frombuffer(data.translate(table), dtype=bool)


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) of every maximal run of True in ``mask``."""
    if len(mask) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    edges = np.flatnonzero(mask[1:] != mask[:-1]) + 1
    edges = np.r_[0, edges] if mask[0] else edges
    edges = np.r_[edges, len(mask)] if mask[-1] else edges
    return edges[0::2], edges[1::2]


def _values(arr: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Base-37 value of each run of at most 7 letters and digits, upper-cased, right-aligned."""
    idx = ends[:, None] - 7 + np.arange(7)
    digits = np.where(idx >= starts[:, None], _VALUE[arr[np.maximum(idx, 0)]], 0)
    return digits @ _POWERS


def _postcodes(
    data: bytes, arr: np.ndarray, alnum: np.ndarray, digit: np.ndarray, needles: Needles
) -> np.ndarray:
    """Offsets of the postcode matches that are client postcodes. Every match ends with its
    inward code (a digit and two letters ending a run): the few places where that happens are
    found over the whole text, the outward code read back from each (the rest of the same
    run, of 5 to 7 in all; or a run of 2 to 4 before a run of spacing and an inward code
    that is a run of 3)."""
    n = len(arr)
    if n < 5:
        return np.zeros(0, dtype=np.int64)
    letter = alnum & ~digit
    inward = digit[:-2] & letter[1:-1] & letter[2:]  # at the inward code's digit
    tail = np.flatnonzero(inward[:-1] & ~alnum[3:]) + 3
    ends = np.r_[tail, n] if inward[-1] else tail  # just after each candidate match
    size = _trailing(alnum, ends, 8)
    starts = ends - size
    whole = (size >= 5) & (size <= 7) & _at(letter, starts)
    hit = starts[whole][_member(_values(arr, starts[whole], ends[whole]), needles.postcodes)]
    spacing = _mask(data, _SPACING_TABLE)
    apart = (size == 3) & _at(spacing, ends - 4)
    inward_at, ends = ends[apart] - 3, ends[apart]
    gap_starts, gap_ends = _runs(spacing)
    gap = gap_starts[np.searchsorted(gap_ends, inward_at)]  # the run of spacing before
    outward = _trailing(alnum, gap, 5)
    first = gap - outward
    ok = (outward >= 2) & (outward <= 4) & _at(letter, first)
    first, gap, inward_at, ends = first[ok], gap[ok], inward_at[ok], ends[ok]
    keys = _values(arr, first, gap) * 37**3 + _values(arr, inward_at, ends)
    return np.concatenate([hit, first[_member(keys, needles.postcodes)]])


def _trailing(mask: np.ndarray, ends: np.ndarray, most: int) -> np.ndarray:
    """How many bytes just before each end are in ``mask`` (counting up to ``most``)."""
    back = _at(mask, ends[:, None] - 1 - np.arange(most))
    return np.where(back.all(axis=1), most, back.argmin(axis=1))


def _at(values: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``values[idx]``, zero (False) where ``idx`` falls outside."""
    if len(values) == 0:
        return np.zeros(idx.shape, dtype=values.dtype)
    inside = (idx >= 0) & (idx < len(values))
    return np.where(inside, values[np.clip(idx, 0, len(values) - 1)], 0).astype(values.dtype)


def _dates(arr: np.ndarray, digit: np.ndarray, needles: Needles) -> np.ndarray:
    """Offsets of the date matches that are clients' dates of birth: found at each ``-``, ``/``
    or ``.`` between two digits, then read as three runs of digits joined by it twice (4, 1-2
    and 1-2 digits long: year, month, day; or 1-2, 1-2 and 2 or 4: day, month, year)."""
    n = len(arr)
    if n < 5:
        return np.zeros(0, dtype=np.int64)
    sep = (arr == ord("-")) | (arr == ord("/")) | (arr == ord("."))
    # a separator between digits, the same one again after one or two more digits
    same_at_2 = np.r_[arr[:-2] == arr[2:], False, False]
    same_at_3 = np.r_[arr[:-3] == arr[3:], False, False, False]
    digit_at_2 = np.r_[digit[2:], False, False]
    at = np.flatnonzero(
        sep
        & np.r_[False, digit[:-1]]
        & np.r_[digit[1:], False]
        & (same_at_2 | (digit_at_2 & same_at_3))
    )
    if len(at) == 0:
        return at
    starts, ends = _runs(digit)
    first = np.searchsorted(starts, at - 1, "right") - 1  # the run before the separator
    second = first + 1  # the run just after it
    then = ends[np.minimum(second, len(ends) - 1)]  # where the second separator must be
    ok = (ends[second] - starts[second] <= 2) & (then < n - 1)
    at, first, second, then = at[ok], first[ok], second[ok], then[ok]
    ok = (arr[then] == arr[at]) & digit[np.minimum(then + 1, n - 1)]
    at, first, second = at[ok], first[ok], second[ok]
    third = second + 1
    size = [ends[r] - starts[r] for r in (first, second, third)]
    value = [_number(arr, starts[r], s) for r, s in zip((first, second, third), size)]
    ymd = (size[0] == 4) & (size[2] <= 2)
    dmy = (size[0] <= 2) & ((size[2] == 4) | (size[2] == 2))
    full = np.where(ymd, value[0], value[2]) * 10_000 + value[1] * 100
    full += np.where(ymd, value[2], value[0])
    known = np.where(
        dmy & (size[2] == 2),
        _member(full, needles.short_dates),
        (ymd | dmy) & _member(full, needles.dates),
    )
    return starts[first][known]


def _number(arr: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """The value of each run of up to four digits (longer runs: a number never compared)."""
    value = np.zeros(len(starts), dtype=np.int64)
    for k in range(4):
        more = k < sizes
        digit = arr[np.minimum(starts + k, len(arr) - 1)].astype(np.int64) - ord("0")
        value = np.where(more, value * 10 + digit, value)
    return value


def _words(
    data: bytes,
    arr: np.ndarray,
    digit: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    signature: np.ndarray,
    words: Words,
) -> list[int]:
    """Offsets where one of the words occurs (see the module's docstring), given the start,
    end and signature of every run of letters and digits."""
    hits: list[int] = []
    maybe = np.flatnonzero(words.signed[signature])
    if len(maybe):
        starts, ends = starts[maybe], ends[maybe]
        offsets = np.r_[0, np.cumsum(ends - starts)].astype(np.int64)
        keep = np.repeat(starts - offsets[:-1], ends - starts) + np.arange(offsets[-1])
        runs = pa.LargeStringArray.from_buffers(
            len(starts), pa.py_buffer(offsets), pa.py_buffer(arr[keep].tobytes())
        )
        # the runs are fewer than the words: the words are looked up in a table of the runs
        present = words.whole.filter(pc.is_in(words.whole, value_set=pc.unique(runs)))
        whole = pc.is_in(runs, value_set=present).to_numpy(zero_copy_only=False)
        s, e = starts[whole], ends[whole]
        decimal = (_at(digit, s) & (_at(arr, s - 1) == ord(".")) & _at(digit, s - 2)) | (
            _at(digit, e - 1) & (_at(arr, e) == ord(".")) & _at(digit, e + 1)
        )
        hits += s[~decimal].tolist()
        if words.anchors:
            anchors = pa.array([a.decode() for a in words.anchors], pa.large_string())
            anchored = pc.is_in(runs, value_set=anchors).to_numpy(zero_copy_only=False)
            for s, e in zip(starts[anchored].tolist(), ends[anchored].tolist()):
                for offset, length in words.anchors[data[s:e]]:
                    start = s - offset
                    end = start + length
                    if (
                        start >= 0
                        and data[start:end] in words.others
                        and _bounded(data, start, end)
                    ):
                        hits.append(start)
    for word in words.loose:
        at = data.find(word)
        while at >= 0:
            hits.append(at)
            at = data.find(word, at + 1)
    return hits


def _bounded(data: bytes, start: int, end: int) -> bool:
    """Whether the word at ``data[start:end]`` splits no run of letters and digits and no
    decimal number."""
    first, last = data[start], data[end - 1]
    before = data[start - 1] if start > 0 else 0
    after = data[end] if end < len(data) else 0
    if first in _ALNUM_SET and before in _ALNUM_SET:
        return False
    if last in _ALNUM_SET and after in _ALNUM_SET:
        return False
    if first in _DIGIT_SET and before == ord(".") and start > 1 and data[start - 2] in _DIGIT_SET:
        return False
    return not (
        last in _DIGIT_SET
        and after == ord(".")
        and end + 1 < len(data)
        and data[end + 1] in _DIGIT_SET
    )


_ALNUM_SET = frozenset(_LETTERS + _DIGITS)
_DIGIT_SET = frozenset(_DIGITS)
