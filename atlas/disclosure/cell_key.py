"""The cell-key perturbation (``[drop] protection = "cell_key"``), after the method ONS used
for Census 2021 outputs: a cell's published value is its count plus a perturbation looked up
in a fixed table (the *ptable*) by the count and the cell's key (the sum of its people's
record keys modulo 256, :mod:`atlas.counting.cell_keys`).

The ptable (``PTABLE``): one row per true count (counts of 6 or more share the last row),
each a list of (perturbation, weight) whose weights add to 256; a cell key ``k`` picks the
perturbation whose cumulative range of weights holds ``k``. Its properties, each checked by
the tests:

* the largest perturbation is ``D = 3``: the true count is within 3 of the published value;
* a zero stays 0 (an empty cell has no people and no key);
* no 1s and no 2s are published: counts of 1 and 2 become 0 or 4, counts of 3, 4 and 5 are
  kept off 1 and 2;
* a reader knowing the ptable learns the true count lies in :func:`possible` of the published
  value (0 -> 0..3, 3 -> 3..6, v -> v-3..v+3 from 9 up): the attack and the audit use it;
* every row has mean perturbation 0 (the published figures are unbiased), and from 6 up
  every count gets the same spread, -3..3 with weights 8, 24, 56, 80, 56, 24, 8 (variance
  1.75).

Because the key is a fixed function of the people in a cell, the same people give the same
published figure in every table and every issue; one late person changes the cell's key as
well as its count, so the published figure moves by an amount a reader cannot tell from
noise. Totals are perturbed as cells in their own right: a perturbed table need not add up.
"""

from __future__ import annotations

import numpy as np

MAX_PERTURBATION = 3
SMALL = 2  # published values 1..SMALL never occur

# count -> ((perturbation, weight in 256ths), ...); the last row serves every larger count
PTABLE: dict[int, tuple[tuple[int, int], ...]] = {
    0: ((0, 256),),
    1: ((-1, 192), (3, 64)),
    2: ((-2, 128), (2, 128)),
    3: ((-3, 43), (0, 124), (1, 57), (2, 24), (3, 8)),
    4: ((-1, 80), (0, 120), (1, 40), (2, 8), (3, 8)),
    5: ((-2, 32), (-1, 56), (0, 88), (1, 48), (2, 24), (3, 8)),
    6: ((-3, 8), (-2, 24), (-1, 56), (0, 80), (1, 56), (2, 24), (3, 8)),
}
LAST = max(PTABLE)


def _lookup() -> np.ndarray:
    """The ptable as an array: row = min(count, LAST), column = cell key -> perturbation."""
    out = np.zeros((LAST + 1, 256), dtype=np.int64)
    for count, row in PTABLE.items():
        out[count] = np.repeat([p for p, _ in row], [w for _, w in row])
    return out


_TABLE = _lookup()


def perturb(counts: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Each count's published value: count + the ptable's perturbation for (count, key)."""
    counts = np.asarray(counts, dtype=np.int64)
    keys = np.asarray(keys, dtype=np.int64) % 256
    return counts + _TABLE[np.minimum(counts, LAST), keys]


def _possible() -> np.ndarray:
    """Per published value 0..LAST + 2D: the least and the largest count the ptable turns into
    it (beyond: within D of it)."""
    top = LAST + 2 * MAX_PERTURBATION
    out = np.zeros((top + 1, 2), dtype=np.int64)
    for value in range(top + 1):
        counts = [
            c
            for c in range(value + MAX_PERTURBATION + 1)
            if any(c + p == value for p, _ in PTABLE[min(c, LAST)])
        ]
        out[value] = (min(counts), max(counts)) if counts else (value, value)
    return out


_POSSIBLE = _possible()


def possible(published: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What a reader who knows the ptable learns of each true count from its published value:
    the least and the largest count that can be published so (0 -> 0..3, 3 -> 3..6, 4 -> 1..7,
    and v -> v-3..v+3 from 9 up)."""
    v = np.asarray(published, dtype=np.int64)
    small = np.minimum(v, len(_POSSIBLE) - 1)
    lo = np.where(v < len(_POSSIBLE), _POSSIBLE[small, 0], v - MAX_PERTURBATION)
    hi = np.where(v < len(_POSSIBLE), _POSSIBLE[small, 1], v + MAX_PERTURBATION)
    return lo.astype(float), hi.astype(float)
