"""Cell keys (the ONS cell-key method, as used for Census 2021 outputs): every person a fixed
*record key*, every cell the sum of its people's record keys modulo 256.

A person's record key (0..255) is the first byte of HMAC-SHA256, keyed by the drop's secret
(``[drop] cell_key_secret_file``), of the person's linking key: their attributor, or
``#client_ref`` for a record whose attributor is incomplete (:func:`individuals.link_clients`).
The secret keeps the keys from being recomputed by anyone holding the published files; the
hash keeps them fixed, so the same people give the same cell key in every table and every issue.

A cell's key is worked out without tracing which people each cell holds: the record key's
bits are counted apart. For bit ``b``, the people whose record key has that bit set (and
their rows of the extract) are counted by the very code that counts everyone; a cell's key
is then the sum over bits of ``2**b`` times its count there, modulo 256. Every count of people
is additive over people, so this is the sum of its people's record keys. The profiles are the
exception: which free-text labels are shown (and in which spelling) depends on how many people
share them, so a subset would fold them differently; their keys are summed directly from each
person's category (:func:`report_counts.profile_categories`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd

from ..extract.reader import Extract
from .aggregate import Counts
from .individuals import ALL, Individuals, _attributors
from .report_counts import CellSet, profile_categories

BITS = 8  # record keys 0..255
PROFILES = "profiles"  # the cell set whose keys are summed directly
COUNT_TABLES = ("service_la", "residence_lsoa", "residence_la", "site_activity", "residence_msoa")

# counts every table of an extract and its individuals: the spec tables and the cell sets
Counter = Callable[[Extract, Individuals, int], tuple[Counts, list[CellSet]]]


def record_keys(clients: pd.DataFrame, person_of: pd.Series, secret: bytes) -> np.ndarray:
    """Each person id's record key (0..255), from the accepted client records."""
    text, complete = _attributors(clients)
    refs = clients["client_ref"].astype(str).to_numpy()
    link = np.where(complete, text.to_numpy(zero_copy_only=False), "#" + refs)
    person = person_of.reindex(clients["client_ref"]).to_numpy()
    keys = np.zeros(int(person_of.max()) + 1 if len(person_of) else 0, dtype=np.int64)
    known = ~pd.isna(person)
    for p, value in zip(person[known].astype(np.int64), link[known]):
        keys[p] = hmac.new(secret, str(value).encode("utf-8"), hashlib.sha256).digest()[0]
    return keys


def key_sums(
    extract: Extract,
    ind: Individuals,
    keys: np.ndarray,
    counts: Counts,
    cells: list[CellSet],
    count: Counter,
    threshold: int,
) -> tuple[dict[str, np.ndarray], dict[str, int], dict[str, dict[str, int]]]:
    """The cell key of every count of people: per table of ``counts`` (row-aligned arrays of
    ``individuals``), for the cohorts, and per cell set (cell id -> key).

    ``count`` counts an extract and its individuals as the build did, with ``threshold``."""
    tables = {
        name: np.zeros(len(getattr(counts, name)), dtype=np.int64)
        for name in COUNT_TABLES
        if getattr(counts, name) is not None
    }
    cohorts = dict.fromkeys(counts.cohorts, 0)
    sets: dict[str, dict[str, int]] = {c.name: dict.fromkeys(c.table["cell_id"], 0) for c in cells}
    for bit in range(BITS):
        sub_extract, sub_ind = _subset(extract, ind, (keys >> bit) & 1 == 1)
        sub_counts, sub_cells = count(sub_extract, sub_ind, threshold)
        weight = 1 << bit
        for name in tables:
            table, sub = getattr(counts, name), getattr(sub_counts, name)
            same = [c for c in table.columns if c not in ("individuals", "population")]
            same = [c for c in same if c not in ("nsp_visits", "nsp_returns", "interventions")]
            if len(sub) != len(table) or not table[same].reset_index(drop=True).equals(
                sub[same].reset_index(drop=True)
            ):
                raise AssertionError(f"cell keys: the rows of {name} differ between counts")
            tables[name] += weight * sub["individuals"].to_numpy(dtype=np.int64)
        for cohort in cohorts:
            cohorts[cohort] += weight * int(sub_counts.cohorts.get(cohort, 0))
        for cell_set in sub_cells:
            if cell_set.name not in sets or not cell_set.people or cell_set.name == PROFILES:
                continue
            target = sets[cell_set.name]
            for cell, n in zip(cell_set.table["cell_id"], cell_set.table["individuals"]):
                if cell not in target:
                    raise AssertionError(f"cell keys: {cell} is not among the full count's")
                target[cell] += weight * int(n)
    if PROFILES in sets:
        sets[PROFILES] = _profile_keys(ind, keys, threshold, sets[PROFILES])
    return (
        {k: v % 256 for k, v in tables.items()},
        {k: v % 256 for k, v in cohorts.items()},
        {name: {c: v % 256 for c, v in got.items()} for name, got in sets.items()},
    )


def _profile_keys(
    ind: Individuals, keys: np.ndarray, threshold: int, cells: dict[str, int]
) -> dict[str, int]:
    """The profiles' cell keys (``cells``: their ids), summed from each person's category."""
    categories = profile_categories(ind, threshold)
    person = categories.index.to_numpy(dtype=np.int64)
    cohort = ind.people["cohort"].reindex(categories.index).astype(str).to_numpy()
    out = dict.fromkeys(cells, 0)
    for dim in categories:
        frame = pd.DataFrame({"category": categories[dim].to_numpy(), "key": keys[person]})
        for cohort_of, part in ((ALL, frame), *frame.groupby(cohort, sort=True)):
            for category, total in part.groupby("category")["key"].sum().items():
                cell = f"profile:{dim}:{category}:{cohort_of}"
                if cell not in out:
                    raise AssertionError(f"cell keys: {cell} is not among the profiles' cells")
                out[cell] = int(total)
    return out


def _subset(extract: Extract, ind: Individuals, chosen: np.ndarray) -> tuple[Extract, Individuals]:
    """The extract and individuals of the chosen person ids only: the rows of other people
    out, but every client record kept (rows refer to client records by position)."""
    person_of = ind.person_of
    refs = set(person_of.index[chosen[person_of.to_numpy(dtype=np.int64)]].astype(str))
    frames = {
        name: frame[frame["client_ref"].astype(str).isin(refs)]
        if "client_ref" in frame and name not in ("sites.csv", "clients.csv")
        else frame
        for name, frame in extract.frames.items()
    }
    in_people = chosen[ind.people.index.to_numpy(dtype=np.int64)]

    def of_people(frame: pd.DataFrame) -> pd.DataFrame:
        person = frame["person"].to_numpy(dtype=np.int64)
        return frame[(person >= 0) & chosen[np.maximum(person, 0)]]

    return replace(extract, frames=frames), replace(
        ind,
        people=ind.people[in_people],
        nsp=of_people(ind.nsp),
        interventions=of_people(ind.interventions),
    )
