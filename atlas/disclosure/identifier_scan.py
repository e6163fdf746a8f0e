"""The audit's scan of a published file for client identifiers, vectorised over its bytes.

It finds exactly what these regular expressions find when read left to right without overlaps
(the reference the tests compare against), at a fraction of the cost on the tens of megabytes of
a national drop (Python's ``re`` takes seconds over the LSOA GeoJSON):

- a full postcode: ``(?<![A-Za-z0-9])([A-Za-z]{1,2}[0-9][A-Za-z0-9]?) ?([0-9][A-Za-z]{2})
  (?![A-Za-z0-9])``, upper-cased without the space, among the clients' postcodes;
- a date of birth: ``(?<![0-9])(\\d{4})-(\\d{2})-(\\d{2})(?![0-9])`` or the same as
  ``dd/mm/yyyy``, read as ISO, among the clients' dates of birth;
- a client_ref or attributor: a whole token (``[^\\s,;:"'<>()\\[\\]{}=&]+``) equal to one, placed
  at the first place its text occurs.

How, in terms of maximal runs of letters and digits (``[A-Za-z0-9]``, ASCII only): a postcode
match is one run of 5 to 7 characters, or a run of 2 to 4 followed by one space and a run of 3;
a match never starts inside a run and the two forms cannot both start at the same run, and
since every client postcode has that shape, a run (or pair) is a hit exactly when its upper-case
text is a client postcode; every match ends with its inward code (a digit and two letters), so
only the places where one ends are examined. A date match is three runs of ASCII digits (4-2-2
joined by ``-`` or 2-2-4 joined by ``/``), examined where ``d-dd-`` or ``d/dd/`` occurs;
overlapping candidates (the last run of one starting the next) are taken left to right, as the
regular expression does. ``\\d`` also matches non-ASCII decimal digits: a text holding any is
searched for dates with the regular expression itself. Tokens are looked up only when their
length, first and last byte are those of an identifier.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..geography.directory import char_matrix

DATE_RE = re.compile(
    r"(?<![0-9])(\d{4})-(\d{2})-(\d{2})(?![0-9])|(?<![0-9])(\d{2})/(\d{2})/(\d{4})"
    r"(?![0-9])"
)
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
POSTCODE_SHAPE = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}")  # what a match reads as

# byte tables for bytes.translate: 1 where a byte is a letter or digit, a digit, a separator
_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_DIGITS = b"0123456789"
# token separators: Python's \s on ASCII, and the punctuation of the token pattern
_SEPARATORS = b"\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f ,;:\"'<>()[]{}=&"


def _table(members: bytes) -> bytes:
    return bytes(1 if b in members else 0 for b in range(256))


_ALNUM_TABLE, _DIGIT_TABLE, _SEP_TABLE = (
    _table(_LETTERS + _DIGITS),
    _table(_DIGITS),
    _table(_SEPARATORS),
)
# Python's \s beyond ASCII (str.isspace), as UTF-8: also token separators
UNICODE_SPACES = (
    "\x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
)
_SPACE_SEQS = [c.encode() for c in UNICODE_SPACES]

# base-37 value of a letter or digit, letters in either case (as directory.postcode_keys)
_VALUE = np.zeros(256, dtype=np.int64)
_VALUE[np.frombuffer(b"0123456789", np.uint8)] = np.arange(1, 11)
_VALUE[np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", np.uint8)] = np.arange(11, 37)
_VALUE[np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", np.uint8)] = np.arange(11, 37)
_POWERS = 37 ** np.arange(6, -1, -1, dtype=np.int64)


@dataclass(frozen=True)
class Words:
    """Whole tokens to look for, and which (length, first byte, last byte) signatures they
    have: a token whose signature none has cannot be one of them, so only the few that share
    one get compared in full."""

    values: pa.Array
    signed: np.ndarray  # indexed by signature: whether a value has it

    @classmethod
    def of(cls, values: pa.Array) -> Words:
        values = pc.drop_null(values)
        signed = np.zeros(1 << 24, dtype=bool)
        data = values.buffers()[2]
        if len(values) and data is not None:
            offsets = np.frombuffer(values.buffers()[1], dtype=np.int64)
            offsets = offsets[values.offset : values.offset + len(values) + 1]
            starts, ends = offsets[:-1], offsets[1:]
            keep = ends > starts  # an empty value is never a token
            signed[_signatures(np.frombuffer(data, dtype=np.uint8), starts[keep], ends[keep])] = (
                True
            )
        return cls(values, signed)


@dataclass(frozen=True)
class Needles:
    """The identifiers in the forms the scan compares."""

    postcodes: np.ndarray  # sorted base-37 keys of the upper-case compact postcodes
    dates: np.ndarray  # sorted yyyymmdd of the ISO dates of birth
    date_texts: pa.Array  # every date of birth as given
    client_refs: Words
    attributors: Words

    @classmethod
    def of(
        cls,
        postcodes: Collection[str] | pa.Array,
        dates: Collection[str] | pa.Array,
        client_refs: Collection[str] | pa.Array,
        attributors: Collection[str] | pa.Array,
    ) -> Needles:
        codes = _strings(postcodes)
        codes = codes.filter(pc.match_substring_regex(codes, f"^{POSTCODE_SHAPE.pattern}$"))
        text = _strings(dates)
        iso = text.filter(pc.match_substring_regex(text, f"^{ISO_DATE.pattern}$"))
        return cls(
            _distinct(_VALUE[char_matrix(codes, 7)] @ _POWERS),
            _distinct(pc.cast(pc.replace_substring(iso, "-", ""), pa.int64()).to_numpy()),
            text,
            Words.of(_strings(client_refs)),
            Words.of(_strings(attributors)),
        )


def _distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (``np.unique`` without its cost on large arrays)."""
    values = np.sort(values)
    return values[np.r_[True, values[1:] != values[:-1]]] if len(values) else values


def _strings(values: Collection[str] | pa.Array) -> pa.Array:
    """The values as an Arrow large-string array."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        values = pa.array(list(values), type=pa.large_string())
    return values.cast(pa.large_string())


def _signatures(arr: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """(length up to 255, first byte, last byte) of each non-empty slice, as one number under
    2**24 (longer slices share the length 255: a coarser test, still never a wrong one)."""
    return (
        (np.minimum(ends - starts, 255).astype(np.int64) << 16)
        | (arr[starts].astype(np.int64) << 8)
        | arr[ends - 1]
    )


def scan_files(files: Mapping[str, bytes], needles: Needles) -> dict[str, list[tuple[int, str]]]:
    """(line, kind) of every identifier found in each file (UTF-8; invalid bytes read as
    U+FFFD), in the order of their places, one per place and kind."""
    found: dict[str, list[tuple[int, str]]] = {}
    texts: dict[str, bytes] = {}  # each file's bytes, valid UTF-8
    for path, data in files.items():
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("utf-8", "replace")
            data = text.encode("utf-8")
        texts[path] = data
        arr = np.frombuffer(data, dtype=np.uint8)
        digit = _mask(data, _DIGIT_TABLE)
        hits = [
            (int(p), "a client's full postcode")
            for p in _postcodes(arr, _mask(data, _ALNUM_TABLE), digit, needles)
        ]
        if _unicode_digits(arr, text):
            wanted = set(needles.date_texts.to_pylist())
            hits += [
                (len(text[: m.start()].encode()), "a client's date of birth")
                for m in DATE_RE.finditer(text)
                if _iso(m) in wanted
            ]
        else:
            hits += [(int(p), "a client's date of birth") for p in _dates(arr, digit, needles)]
        starts, ends = _tokens(data, arr)
        signature = _signatures(arr, starts, ends)
        for kind, words in (
            ("a client_ref", needles.client_refs),
            ("a client attributor", needles.attributors),
        ):
            maybe = np.flatnonzero(words.signed[signature])
            hits += [
                (data.find(token.encode()), kind)
                for token in _among(arr, starts[maybe], ends[maybe], words.values)
            ]
        found[path] = hits
    return {path: _lines(texts[path], hits) for path, hits in found.items()}


def _among(arr: np.ndarray, starts: np.ndarray, ends: np.ndarray, values: pa.Array) -> list[str]:
    """The distinct slices of ``arr`` that are among ``values``."""
    if len(starts) == 0:
        return []
    offsets = np.r_[0, np.cumsum(ends - starts)].astype(np.int64)
    keep = np.repeat(starts - offsets[:-1], ends - starts) + np.arange(offsets[-1])
    slices = pc.unique(
        pa.LargeStringArray.from_buffers(
            len(starts), pa.py_buffer(offsets), pa.py_buffer(arr[keep].tobytes())
        )
    )
    # the slices are few: look them up in a table of theirs, not the values in a table of all
    present = values.filter(pc.is_in(values, value_set=slices))
    return slices.filter(pc.is_in(slices, value_set=present)).to_pylist()


def _lines(data: bytes, hits: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """The hits sorted by place without repeats, their offsets turned into line numbers."""
    if not hits:
        return []
    at, kinds = zip(*sorted(set(hits)))
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))
    return list(zip((np.searchsorted(newlines, np.array(at)) + 1).tolist(), kinds))


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
    arr: np.ndarray, alnum: np.ndarray, digit: np.ndarray, needles: Needles
) -> np.ndarray:
    """Offsets of the postcode matches that are client postcodes. Every match ends with a
    digit and two letters before a byte that is neither (its inward code): the few places
    where that happens are found over the whole text, the rest is read around them."""
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
    # outward code, one space, inward code (a run of exactly three)
    pair = (size == 3) & (_at(arr, ends - 4) == ord(" "))
    gap, ends = ends[pair] - 4, ends[pair]
    outward = _trailing(alnum, gap, 5)
    first = gap - outward
    ok = (outward >= 2) & (outward <= 4) & _at(letter, first)
    first, gap, ends = first[ok], gap[ok], ends[ok]
    keys = _values(arr, first, gap) * 37**3 + _values(arr, gap + 1, ends)
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


def _unicode_digits(arr: np.ndarray, text: str) -> bool:
    """Whether the text holds a decimal digit beyond ASCII (which ``\\d`` matches)."""
    if not (arr >= 0x80).any():
        return False
    points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    return any(chr(c).isdecimal() for c in np.unique(points[points >= 0x80]).tolist())


def _iso(m: re.Match[str]) -> str:
    y, mo, d = (
        (m.group(1), m.group(2), m.group(3))
        if m.group(1)
        else (m.group(6), m.group(5), m.group(4))
    )
    return f"{y}-{mo}-{d}"


def _dates(arr: np.ndarray, digit: np.ndarray, needles: Needles) -> np.ndarray:
    """Offsets of the date matches (ASCII digits) that are clients' dates of birth: found at
    each ``d-dd-`` or ``d/dd/`` in the text, then checked whole (runs of exactly 4, 2 and 2
    digits joined by ``-``, or 2, 2 and 4 joined by ``/``)."""
    n = len(arr)
    if n < 10:
        return np.zeros(0, dtype=np.int64)
    core = digit[:-4] & digit[2:-2] & digit[3:-1]
    dash = arr == ord("-")
    slash = arr == ord("/")
    p = np.flatnonzero(core & ((dash[1:-3] & dash[4:]) | (slash[1:-3] & slash[4:]))) + 1
    is_iso = arr[p] == ord("-")

    def exactly(first: int, last: int) -> np.ndarray:  # digits at these offsets from p, only
        out = ~_at(digit, p + first - 1) & ~_at(digit, p + last + 1)
        for k in range(first, last + 1):
            out &= _at(digit, p + k)
        return out

    ok = np.where(is_iso, exactly(-4, -1) & exactly(4, 5), exactly(-2, -1) & exactly(4, 7))
    start = np.where(is_iso, p - 4, p - 2)[ok]
    is_iso = is_iso[ok]
    order = np.argsort(start, kind="stable")
    start, is_iso = start[order], is_iso[order]
    if len(start) == 0:
        return start
    # a match overlapping the one before (its last two digits starting the next) is taken
    # only when that one was not: left to right, as the regular expression reads
    chain_start = np.r_[True, start[1:] >= start[:-1] + 10]
    first_of_chain = np.maximum.accumulate(np.where(chain_start, np.arange(len(start)), 0))
    keep = (np.arange(len(start)) - first_of_chain) % 2 == 0
    start, is_iso = start[keep], is_iso[keep]

    def number(offset: int, width: int) -> np.ndarray:
        idx = start[:, None] + offset + np.arange(width)
        return (arr[idx].astype(np.int64) - 48) @ (10 ** np.arange(width - 1, -1, -1))

    y = np.where(is_iso, number(0, 4), number(6, 4))
    mo = np.where(is_iso, number(5, 2), number(3, 2))
    d = np.where(is_iso, number(8, 2), number(0, 2))
    return start[_member(y * 10_000 + mo * 100 + d, needles.dates)]


def _tokens(data: bytes, arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end of every token of the text: the maximal runs between separators."""
    sep = _mask(data, _SEP_TABLE)
    if (arr >= 0x80).any():
        sep = sep.copy()
        _mark_unicode_spaces(arr, sep)
    return _runs(~sep)


def _mark_unicode_spaces(arr: np.ndarray, sep: np.ndarray) -> None:
    """Mark every byte of the non-ASCII white space characters in ``sep``."""
    lead = np.flatnonzero((arr == 0xC2) | (arr == 0xE1) | (arr == 0xE2) | (arr == 0xE3))
    for seq in _SPACE_SEQS:
        at = lead[arr[lead] == seq[0]]
        at = at[at + len(seq) <= len(arr)]
        for k in range(1, len(seq)):
            at = at[arr[at + k] == seq[k]]
        for k in range(len(seq)):
            sep[at + k] = True
