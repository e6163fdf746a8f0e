"""Cohort profiles per local authority, for the LA report packs: the individuals seen at an
LA's sites in the period by cohort and category of each profile dimension.

The categories (and their order) are the area's (``report_counts`` "profiles"), so a label
shown in an LA's pack says nothing the area's report does not. Every count is a cell of the
drop's single disclosure-control problem: ``laprofile:<la>:<dimension>:<category>:<cohort>``,
with the groups a reader can add up: an LA's categories add to its service-LA cohort count
(``svc:<la>:<cohort>``, the cell of ``service_la_cohorts.csv``), and its cohorts to its
``all`` cell per category. LAs do not add up to the area: a person seen in two LAs counts in
both, so no such group holds (and none is declared).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .individuals import ALL, COHORT_ORDER, COHORTS, Individuals
from .report_counts import RESIDUAL, CellSet, profile_categories, svc_id
from .tally import activity_rows, distinct_pairs, positions

NAME = "la_profiles"


def la_profile_cells(
    ind: Individuals,
    sites: pd.DataFrame,
    la_codes: list[str],
    area_profiles: pd.DataFrame,
    threshold: int = 5,
) -> CellSet:
    """The LA profile cells. ``area_profiles``: the area's profile table (dimension,
    category, cohort, order: the categories shown and their order); ``threshold``: the one
    the area's free-text labels were folded with."""
    person, site = activity_rows(ind, sites)
    la = np.append(positions(sites["la_code"], la_codes), -1)[site]
    la_of, who = distinct_pairs(la, person)  # each (LA, person) seen once
    people = ind.people.index
    row = pd.Index(people).get_indexer(who)
    cohort = positions(ind.people["cohort"], list(COHORTS))[row]
    cats = profile_categories(ind, threshold)
    n_la, n_c = len(la_codes), len(COHORTS)
    tables, groups = [], []
    for dim, part in area_profiles.groupby("dimension", sort=False):
        order = list(dict.fromkeys(part.sort_values("order", kind="stable")["category"]))
        code = positions(cats[dim].to_numpy()[row], order)
        keep = code >= 0
        per = np.bincount(
            (la_of[keep] * len(order) + code[keep]) * n_c + cohort[keep],
            minlength=n_la * len(order) * n_c,
        ).reshape(n_la * len(order), n_c)
        grid = pd.MultiIndex.from_product(
            [la_codes, order, list(COHORT_ORDER)], names=["la_code", "category", "cohort"]
        ).to_frame(index=False)
        grid.insert(1, "dimension", dim)
        grid["individuals"] = np.column_stack([per.sum(axis=1), per]).reshape(-1).astype(np.int64)
        grid["cell_id"] = (
            "laprofile:"
            + grid["la_code"]
            + ":"
            + dim
            + ":"
            + grid["category"]
            + ":"
            + grid["cohort"]
        )
        ids = grid["cell_id"].to_numpy().reshape(n_la, len(order), len(COHORT_ORDER))
        for i, la_code in enumerate(la_codes):
            for j, c in enumerate(COHORT_ORDER):
                groups.append((svc_id(la_code, c), list(ids[i, :, j])))
            for k in range(len(order)):
                groups.append((ids[i, k, 0], list(ids[i, k, 1:])))
        tables.append(grid)
    table = (
        pd.concat(tables, ignore_index=True)
        if tables
        else pd.DataFrame(
            columns=["la_code", "dimension", "category", "cohort", "individuals", "cell_id"]
        )
    )
    assert COHORT_ORDER[0] == ALL  # the grid's first cohort column is the categories' total
    residual = list(table.loc[table["category"].isin(RESIDUAL), "cell_id"])
    return CellSet(NAME, table, groups, residual=residual)
