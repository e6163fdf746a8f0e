"""The atlas page's packed rings (``atlas_data.encode_shapes``), written and read: the one
alphabet of the page, its writer and its readers. Light (numpy only), so that reading a drop
back (``published_drop``) does not load the pipeline."""

from __future__ import annotations

import numpy as np

# Rings travel as text: each integer zigzag-coded (0, -1, 1, -2 ... -> 0, 1, 2, 3 ...) and
# written 5 bits per character, low bits first, from a 64-character alphabet safe in JSON and
# in JavaScript strings: the first 32 characters mean "more to come", the last 32 end a number.
# A typical delta (under 16 units either way) takes one character instead of three or four.
ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_CHARS = np.frombuffer(ALPHABET, dtype=np.uint8)
_DIGIT = np.zeros(128, dtype=np.int64)  # character -> its value in the alphabet
_DIGIT[_CHARS] = np.arange(64)
_GROUPS = 13  # 5-bit groups in a 64-bit integer
_LIMITS = np.uint64(32) ** np.arange(1, _GROUPS, dtype=np.uint64)  # values needing k+2 groups


def pack_ints(values: np.ndarray) -> tuple[bytes, np.ndarray]:
    """The packed characters of ``values`` and how many characters each value took."""
    v = np.asarray(values, dtype=np.int64)
    z = np.where(v >= 0, v * 2, -v * 2 - 1).astype(np.uint64)
    n_groups = np.searchsorted(_LIMITS, z, side="right") + 1
    ends = np.cumsum(n_groups)
    k = np.arange(ends[-1] if len(ends) else 0) - np.repeat(ends - n_groups, n_groups)
    digits = (np.repeat(z, n_groups) >> (k * 5).astype(np.uint64)) & np.uint64(31)
    last = np.zeros(len(k), dtype=bool)
    last[ends - 1] = True
    return _CHARS[digits.astype(np.int64) + 32 * last].tobytes(), n_groups


def unpack_ints(text: str) -> list[int]:
    """The inverse of ``pack_ints`` (what the page script does), for tests."""
    out, value, shift = [], 0, 0
    for ch in text.encode("ascii"):
        c = ALPHABET.index(ch)
        value += (c & 31) << shift
        if c >= 32:
            out.append(value // 2 if value % 2 == 0 else -(value + 1) // 2)
            value, shift = 0, 0
        else:
            shift += 5
    return out


def ring_ints(text: str) -> np.ndarray:
    """The integers of one packed ring (``pack_ints``): 5 bits a character, low
    bits first, the last 32 characters of the alphabet ending a number; zigzag-decoded."""
    digits = _DIGIT[np.frombuffer(text.encode("ascii"), dtype=np.uint8)]
    ends = digits >= 32
    starts = np.flatnonzero(np.r_[True, ends[:-1]])
    group = np.cumsum(np.r_[False, ends[:-1]])
    shift = 5 * (np.arange(len(digits)) - starts[group])
    z = np.add.reduceat((digits & 31) << shift, starts) if len(digits) else digits
    return np.where(z % 2 == 0, z // 2, -(z + 1) // 2)
