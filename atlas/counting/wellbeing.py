"""Wellbeing reviews (WEMWBS, ``wellbeing.csv``; issue 16 item 4), per service LA and in the
area: the reviews dated in the period, the people reviewed, those reviewed once and those
reviewed two or more times, and for the latter the mean first score, mean latest score and
mean change (latest minus first), their reviews ordered by date, then line.

A person is the attributor-linked individual of the review's client record; an LA's figures
count the reviews at its sites (a person reviewed in two LAs counts in both), the area's every
review in the period.

Disclosure control: the counts of people are cells of the drop's one problem,
``wb:<unit>:<reviewed|once|repeat>`` (reviewed = once + repeat; an LA's at most the area's),
and the reviews are activity cells ``wbr:<unit>`` that bound them (people reviewed are at most
the reviews and at least 1 where there is one). The reviews are published in the activity
tables anyway, so they are never blanked (their ``row`` is empty). A unit with 1 to
threshold - 1 reviews has no counts of people at all: its published reviews alone say that
1 to threshold - 1 people were reviewed (the activity tables publish them, as before this
section), and no count of ours could be protected beside them. Where disclosure control
withholds one of a unit's three counts, the build withholds all three
(:func:`withhold_together`, counted as secondary suppression): one withheld count beside the
other two and the reviews would be narrowed by how many reviews a person can have, a relation
the attack does not model. The means are not counts: a
mean is published only beside a published count of people reviewed twice or more that is,
and whose true count is, at least the threshold (here and in ``render.wellbeing``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..extract.reader import Extract
from .individuals import Individuals, row_persons
from .report_counts import ActivityBound, CellSet
from .tally import TOTAL, positions

NAME = "wellbeing"
REVIEWS = "wellbeing_reviews"
MEASURES = ("reviewed", "once", "repeat")
MEANS = ("mean_first", "mean_latest", "mean_change")


def wb_id(unit: str, measure: str) -> str:
    """A wellbeing cell: ``wb:<LA code or TOTAL>:<measure>``; the reviews: ``wbr:<unit>``."""
    return f"wbr:{unit}" if measure == "reviews" else f"wb:{unit}:{measure}"


def _reviews(
    extract: Extract, ind: Individuals, sites: pd.DataFrame, la_codes: list[str]
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The reviews dated in the period, each one's person and its site's LA (position in
    ``la_codes``, -1: none of them)."""
    w = extract["wellbeing.csv"]
    w = w[ind.period.contains(w["review_date"]).to_numpy()]
    person = row_persons(w, extract["clients.csv"], ind.person_of)
    la = np.append(positions(sites["la_code"], la_codes), -1)[
        positions(w["site_code"], sites["site_code"])
    ]
    return w, person, la


def counted_units(
    extract: Extract, ind: Individuals, sites: pd.DataFrame, la_codes: list[str], threshold: int
) -> list[str]:
    """The units (LA codes, ``TOTAL``) whose people reviewed are counted: those with no
    review or at least ``threshold`` (module docstring)."""
    _, _, la = _reviews(extract, ind, sites, la_codes)
    n = [*np.bincount(la[la >= 0], minlength=len(la_codes)).tolist(), len(la)]
    return [u for u, k in zip([*la_codes, TOTAL], n) if not 0 < k < threshold]


def wellbeing_cells(
    extract: Extract,
    ind: Individuals,
    sites: pd.DataFrame,
    la_codes: list[str],
    threshold: int = 5,
    units: list[str] | None = None,
) -> tuple[CellSet, CellSet]:
    """The people reviewed and the reviews, per service LA and in the area, as cell sets
    (module docstring). The ``repeat`` rows carry the means, left out (NaN) where fewer than
    ``threshold`` people were reviewed twice or more. ``units``: those counted
    (:func:`counted_units` of the whole extract; given when counting a part of it)."""
    if units is None:
        units = counted_units(extract, ind, sites, la_codes, threshold)
    w, person, la = _reviews(extract, ind, sites, la_codes)
    order = np.lexsort((w["line"].to_numpy(), w["review_date"].to_numpy(), person))
    score = w["wemwbs_score"].to_numpy(dtype=float)
    rows, reviews = [], []
    for i, unit in enumerate([*la_codes, TOTAL]):
        if unit not in units:
            continue  # its published reviews alone say 1..threshold-1 people: none counted
        mine = order[la[order] == i] if unit != TOTAL else order
        who = person[mine]
        first = np.r_[True, who[1:] != who[:-1]] if len(who) else np.zeros(0, dtype=bool)
        last = np.r_[who[1:] != who[:-1], True] if len(who) else np.zeros(0, dtype=bool)
        times = np.diff(np.r_[np.flatnonzero(first), len(who)])
        repeat = times >= 2
        means = dict.fromkeys(MEANS, np.nan)
        if repeat.sum() >= threshold:
            s_first, s_last = score[mine][first][repeat], score[mine][last][repeat]
            means = {
                "mean_first": float(s_first.mean()),
                "mean_latest": float(s_last.mean()),
                "mean_change": float((s_last - s_first).mean()),
            }
        counts = {
            "reviewed": len(times),
            "once": int((~repeat).sum()),
            "repeat": int(repeat.sum()),
        }
        for m in MEASURES:
            rows.append({"la_code": unit, "measure": m, "individuals": counts[m], **means})
        reviews.append({"la_code": unit, "individuals": len(mine)})
    table = pd.DataFrame(rows, columns=["la_code", "measure", "individuals", *MEANS])
    table["cell_id"] = [wb_id(u, m) for u, m in zip(table["la_code"], table["measure"])]
    for m in MEANS:  # a mean belongs to the people reviewed twice or more
        table.loc[table["measure"] != "repeat", m] = np.nan
    table["individuals"] = table["individuals"].astype(np.int64)
    act = pd.DataFrame(reviews, columns=["la_code", "individuals"])
    act["cell_id"] = [wb_id(u, "reviews") for u in act["la_code"]]
    act["individuals"] = act["individuals"].astype(np.int64)
    groups, at_most, bounds = wellbeing_relations(units, float(len(w)))
    return (
        CellSet(NAME, table, groups, at_most=at_most),
        CellSet(REVIEWS, act, people=False, bounds=bounds),
    )


def wellbeing_relations(
    units: list[str], area_reviews: float = np.inf
) -> tuple[list[tuple[str, list[str]]], list[tuple[str, str]], list[ActivityBound]]:
    """The groups, ``at_most`` pairs and bounds of the wellbeing cells of ``units`` (LA codes
    and ``TOTAL``: those counted), declared once for the build and for the audit;
    ``area_reviews``: the area's published reviews (a cap of any LA's)."""
    la_codes = [u for u in units if u != TOTAL]
    at_area = TOTAL in units
    groups = [(wb_id(u, "reviewed"), [wb_id(u, "once"), wb_id(u, "repeat")]) for u in units]
    at_most = [(wb_id(u, m), wb_id(TOTAL, m)) for u in la_codes for m in MEASURES if at_area]
    at_most += [(wb_id(u, "repeat"), wb_id(u, "reviewed")) for u in units]
    bounds = [
        ActivityBound(
            wb_id(u, "reviewed"),
            (wb_id(u, "reviews"),),
            np.inf if u == TOTAL else area_reviews,
            (),  # published in the activity tables too: never blanked
        )
        for u in units
    ]
    return groups, at_most, bounds


def withhold_together(table: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The protected wellbeing cells (``wellbeing_cells``' table with ``suppressed``) with a
    unit's three counts withheld together wherever one is (module docstring); returns the
    table and how many more cells that withholds."""
    out = table.copy()
    hit = out.groupby("la_code", sort=False)["suppressed"].transform("any").astype(bool)
    more = hit & ~out["suppressed"].astype(bool)
    out.loc[more, "individuals"] = pd.NA
    out["suppressed"] = out["suppressed"].astype(bool) | hit
    return out, int(more.sum())
