"""Counting primitives shared by the spec tables (``aggregate``) and the reports
(``report_counts``): rows keyed by integer positions, distinct people per group, the cohort
of each person, and the activity rows of the period."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .individuals import COHORTS, Individuals

TOTAL = "TOTAL"  # the row of a table that stands for the whole area


def positions(values: pd.Series | np.ndarray, codes: pd.Series | list[str]) -> np.ndarray:
    """The position of each value among ``codes`` (distinct), -1 where it is not one: rows
    keyed by integers, so that counting hashes each text once."""
    return pd.Index(codes).get_indexer(values)


def cohort_of(people: pd.DataFrame) -> np.ndarray:
    """Per person id (``people``' index, integers), the position of their cohort in
    ``COHORTS`` (-1 for ids not seen)."""
    out = np.full(people.index.max() + 1 if len(people) else 0, -1, dtype=np.int64)
    out[people.index.to_numpy()] = positions(people["cohort"], list(COHORTS))
    return out


def distinct_pairs(group: np.ndarray, person: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (group, person) pairs of the rows whose group is not negative."""
    keep = group >= 0
    size = np.int64(person.max() + 1) if len(person) else np.int64(1)
    pairs = pd.unique(group[keep].astype(np.int64) * size + person[keep])
    return pairs // size, pairs % size


def distinct_people(group: np.ndarray, person: np.ndarray, n: int) -> np.ndarray:
    """How many distinct people the rows of each group 0..n-1 hold (rows of a negative group
    are left out)."""
    return np.bincount(distinct_pairs(group, person)[0], minlength=n)


def activity_rows(ind: Individuals, sites: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Person and site (position in ``sites``, -1 if not listed) of every NSP visit, then
    every intervention, in the period."""
    person = np.concatenate(
        [ind.nsp["person"].to_numpy(np.int64), ind.interventions["person"].to_numpy(np.int64)]
    )
    site = positions(
        pd.concat([ind.nsp["site_code"], ind.interventions["site_code"]], ignore_index=True),
        sites["site_code"],
    )
    return person, site
