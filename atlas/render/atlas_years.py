"""The atlas page's years (issue 17, point 1): every trend year's published residents per area
and cohort, shipped compactly beside the page's own layer values.

Receives only published (protected) values: the ``atlas_years`` cell set
(:mod:`atlas.counting.year_residence`) as ``suppress.protect`` returned it. Another year's
counts travel as one packed string of integers per level and cohort (``ring_text.pack_ints``:
a count under 16 takes one character), ``-1`` where the count is suppressed; the page computes
rates and 95% intervals from them and each area's population (``pop``, packed the same way),
with the exact Poisson limits of counts under 10 given (``ci``) and Byar's method from 10, as
``counting.rates`` does. Class breaks per year are computed here, from the same published
values. The drop's own period keeps the page's ``values`` (its year entry is ``""``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..counting.individuals import COHORT_ORDER
from ..counting.rates import poisson_ci
from ..counting.year_residence import NAME, area_cell
from ..disclosure.suppress import Published
from .ring_text import pack_ints

OUTSIDE_UNKNOWN = ("OUTSIDE", "UNKNOWN")


def packed(values: np.ndarray) -> str:
    """Integers as page text (``ring_text.pack_ints``)."""
    return pack_ints(np.asarray(values, dtype=np.int64))[0].decode("ascii")


def packed_counts(values: pd.Series) -> str:
    """Published counts as page text, ``-1`` where suppressed."""
    return packed(values.astype("Int64").fillna(-1).to_numpy(dtype=np.int64))


def add_years(
    data: dict[str, Any],
    published: Published,
    populations: dict[str, pd.Series],
    parents: dict[str, list[int]],
    partial: dict[str, str],
    level_values: Callable[..., tuple[dict[str, Any], dict[str, Any]]],
    classification: str,
) -> None:
    """Add the years to the page data ``data`` (``page_data``'s): ``years`` (labels, partial
    reasons, the drop's own period, the area's residents and population, the residents outside
    the area or of no known LA, each LA's residents with no known LSOA, the small-count Poisson
    limits) and, per level, ``pop`` (its areas' populations), ``la`` (each area's LA, by
    position; -1: an MSOA straddling LAs), ``time`` (per cohort, per year, packed counts) and
    ``tbreaks`` (per year, per cohort, per measure, class breaks; None for the own period).
    ``level_values``: ``atlas_data.level_values``."""
    cells = published.extra.get(NAME)
    if cells is None:
        return
    labels = list(dict.fromkeys(cells["year"]))
    area_cells = cells[cells["level"] == "area"]
    own = [y for y in labels if not (cells["year"].eq(y) & cells["level"].ne("area")).any()]
    own_label = own[-1] if own else ""
    la_table = published.residence_la.set_index(["la_code", "cohort"])["individuals"]
    lsoa_table = published.residence_lsoa.set_index(["lsoa_code", "cohort"])["individuals"]
    by_year = {y: part for y, part in cells.groupby("year", sort=False)}
    la_level = next(lv for lv in data["levels"] if lv["id"] == "la")
    la_codes = list(la_level["codes"])

    def cell_values(year: str, level: str, codes: list[str], cohort: str) -> pd.Series:
        part = by_year[year]
        part = part[(part["level"] == level) & (part["cohort"] == cohort)]
        return part.set_index("code")["individuals"].reindex(codes)

    area_pop = int(populations["la"].sum())
    years: dict[str, Any] = {
        "labels": labels,
        "partial": [partial.get(y, "") for y in labels],
        "own": labels.index(own_label) if own_label in labels else -1,
        "ci": [
            [round(float(lo), 6), round(float(hi), 6)]
            for lo, hi in zip(*poisson_ci(np.arange(10)))
        ],
        "area_pop": area_pop,
        "area": {},
        "outside": {},
        "unknown": {},
        "nolsoa": {},
    }
    for cohort in COHORT_ORDER:
        years["area"][cohort] = [
            _int(area_cells.set_index("cell_id")["individuals"].get(area_cell(y, cohort), pd.NA))
            for y in labels
        ]
        for key, code in zip(("outside", "unknown"), OUTSIDE_UNKNOWN):
            years[key][cohort] = [
                _int(la_table.get((code, cohort), pd.NA))
                if y == own_label
                else _int(cell_values(y, "la", [code], cohort).iloc[0])
                for y in labels
            ]
        unknown = [f"{code}-UNKNOWN" for code in la_codes]
        years["nolsoa"][cohort] = [
            packed_counts(
                pd.Series([lsoa_table.get((u, cohort), pd.NA) for u in unknown], dtype="Int64")
            )
            if y == own_label
            else packed_counts(cell_values(y, "lsoa", unknown, cohort))
            for y in labels
        ]
    data["years"] = years
    for level in data["levels"]:
        lid = level["id"]
        pop = populations[lid].to_numpy(dtype=float)
        level["pop"] = packed(np.where(np.isnan(pop), -1, np.rint(pop)).astype(np.int64))
        if lid in parents:
            level["la"] = parents[lid]
        level["time"] = {c: [] for c in COHORT_ORDER}
        level["tbreaks"] = []
        for y in labels:
            if y == own_label:
                for c in COHORT_ORDER:
                    level["time"][c].append("")
                level["tbreaks"].append(None)
                continue
            part = by_year[y]
            part = part[part["level"] == lid].rename(columns={"code": f"{lid}_code"})
            part = part.assign(individuals=part["individuals"].astype("Int64"))
            values, breaks = level_values(
                part, f"{lid}_code", pd.Series(level["codes"]), populations[lid], classification
            )
            for c in COHORT_ORDER:
                n = pd.Series(values[c]["n"], dtype="Int64")
                level["time"][c].append(packed_counts(n))
            level["tbreaks"].append(breaks)


def _int(v: Any) -> int | None:
    return None if v is None or pd.isna(v) else int(v)
