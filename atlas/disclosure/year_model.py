"""The year in numbers and the equipment table read back from a drop's files, for the audit
(:mod:`.published_model`): ``reports/csv/monitoring_year_numbers.csv`` as the cells the build
declared (``counting.year_numbers``: the year's activity adding up its quarters, interventions
by type adding up to the year's, the people reviewed bounded by their reviews), the quarterly
wellbeing reviews of ``monitoring_la_activity.csv`` and ``data_quality_activity.csv`` as cells
too, and ``monitoring_equipment.csv`` checked against the rule that publishes it
(:func:`.equipment.rows_to_withhold`: a row only where every visit figure behind it is
published).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..counting.report_counts import CellSet, activity_id
from ..counting.tally import TOTAL
from ..counting.year_numbers import (
    ACTIVITY_NAME,
    INTERVENTION_TYPES,
    PEOPLE_NAME,
    REVIEWS,
    YEAR_KINDS,
    year_id,
    year_relations,
)
from ..extract.reader import ITEM_COLUMNS
from .equipment import rows_to_withhold
from .published_model import REPORT_CSV, Derived, FileModel, Reading, _cells, _Files, _place

YEAR_CSV = REPORT_CSV + "monitoring_year_numbers.csv"
EQUIPMENT_CSV = REPORT_CSV + "monitoring_equipment.csv"
QUARTER_FILES = (
    REPORT_CSV + "monitoring_la_activity.csv",
    REPORT_CSV + "data_quality_activity.csv",
)


def read_year(
    f: _Files, sites: pd.DataFrame, la_of: dict[str, str], las: list[str], model: FileModel
) -> None:
    """The year in numbers' cells, readings and relations (nothing without its file)."""
    t = f.csv(YEAR_CSV)
    text: dict[str, str] = {}

    def read(cell: str, shown: str, place: str, cells: list[str]) -> None:
        model.readings.append(Reading(cell, shown.strip(), place))
        text.setdefault(cell, shown.strip())
        cells.append(cell)

    activity: list[str] = []
    people: list[str] = []
    for i, r in enumerate(t.to_dict("records")):
        place, u = _place(YEAR_CSV, i), r["la_code"]
        for kind in (*YEAR_KINDS, *INTERVENTION_TYPES):
            read(year_id(kind, u), r[kind], place, activity)
        read(year_id("reviewed", u), r["people_reviewed"], place, people)
        model.derived.append(
            Derived(
                place,
                "returns_pct",
                r["returns_pct"].strip(),
                "share",
                year_id("nsp_returns", u),
                year_id("nsp_visits", u),
            )
        )
        if r["intervention_labels"].strip() and not r["interventions"].strip():
            model.problems.append(
                f"{place}: intervention_labels is published beside withheld interventions"
            )
    for path in QUARTER_FILES:
        if not f.has(path):
            continue
        q = f.csv(path)
        code = q["la_code"] if "la_code" in q else q["code"]
        for i, (c, quarter, shown) in enumerate(zip(code, q["quarter"], q[REVIEWS])):
            read(activity_id(REVIEWS, c, int(quarter)), shown, _place(path, i), activity)

    def value(cell: str) -> float:
        shown = text.get(cell, "")
        return float(shown) if shown else np.nan

    codes = list(sites["site_code"])
    outside = [c for c in codes if la_of.get(c) not in set(las)]

    def adds_up(total: str, parts: list[str]) -> bool:
        """Whether the area is the sum of its parts, as far as the files show (a withheld
        figure: assumed, as the reader would)."""
        shown = [value(p) for p in parts]
        whole = value(total)
        return bool(np.isnan(whole) or np.isnan(shown).any() or np.nansum(shown) == whole)

    def reviews_add_up(q: int) -> bool:
        parts = [activity_id(REVIEWS, u, q) for u in [*las, *outside]]
        return adds_up(activity_id(REVIEWS, TOTAL, q), parts)

    types_add_up = all(
        adds_up(year_id(k, TOTAL), [year_id(k, la) for la in las]) for k in INTERVENTION_TYPES
    )
    groups, bounds, at_most = year_relations(
        codes, la_of, las, value, reviews_add_up, types_add_up
    )
    model.sets.append(
        CellSet(
            ACTIVITY_NAME,
            _cells(list(dict.fromkeys(activity))),
            groups,
            people=False,
            at_most=at_most,
        )
    )
    reviewed_at_most = [(year_id("reviewed", la), year_id("reviewed", TOTAL)) for la in las]
    model.sets.append(
        CellSet(
            PEOPLE_NAME,
            _cells(list(dict.fromkeys(people))),
            bounds=bounds,
            at_most=reviewed_at_most,
        )
    )


def read_equipment(f: _Files, sites: pd.DataFrame, model: FileModel) -> None:
    """An equipment row showing items where a site's visits behind it are withheld (in
    ``data_quality_activity.csv``) is a finding."""
    t = f.csv(EQUIPMENT_CSV)
    act = f.csv(REPORT_CSV + "data_quality_activity.csv")
    act = act[act["unit"] == "site"]
    blank = {
        (c, int(q))
        for c, q, v in zip(act["code"], act["quarter"], act["nsp_visits"])
        if not v.strip()
    }
    hide = rows_to_withhold(
        t.assign(quarter=t["quarter"].astype(int)), sites, lambda c, q: (c, q) in blank
    )
    shown = (t[list(ITEM_COLUMNS)].apply(lambda col: col.str.strip()) != "").any(axis=1)
    for i in np.flatnonzero(hide & shown.to_numpy()):
        model.problems.append(
            f"{_place(EQUIPMENT_CSV, int(i))}: items are published beside withheld NSP visits"
        )
