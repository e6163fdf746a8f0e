"""The year in numbers and the equipment table read back from a drop's files, for the audit
(called beside :func:`.published_model.read_model`): in
``reports/csv/monitoring_year_numbers.csv`` the people reviewed are cells bounded by their
reviews, and the quarterly wellbeing reviews of ``monitoring_la_activity.csv`` and
``data_quality_activity.csv`` are cells too (``counting.year_numbers.year_relations``, as the
build declares them); every year figure must be the sum of its published quarters (withheld
where one is), the share of visits with a return the share of the figures beside it, and
interventions by type and the count of type labels are shown only beside published
interventions (the area's only where every LA's are). ``monitoring_equipment.csv`` is checked
against the rule that publishes it (:func:`.equipment.rows_to_withhold`: a row only where
every visit figure behind it is published).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ..counting.rates import half_up
from ..counting.report_counts import CellSet, activity_id
from ..counting.tally import TOTAL
from ..counting.wellbeing import wb_id
from ..counting.year_numbers import (
    ACTIVITY_NAME,
    INTERVENTION_TYPES,
    PEOPLE_NAME,
    REVIEWS,
    YEAR_KINDS,
    same_people_reviewed,
    year_id,
    year_relations,
)
from ..extract.reader import ITEM_COLUMNS
from .equipment import rows_to_withhold
from .published_model import (
    REPORT_CSV,
    WELLBEING_CSV,
    FileModel,
    Reading,
    _cells,
    _Files,
    _place,
    read_files,
)

YEAR_CSV = REPORT_CSV + "monitoring_year_numbers.csv"
EQUIPMENT_CSV = REPORT_CSV + "monitoring_equipment.csv"
QUARTER_FILES = (
    REPORT_CSV + "monitoring_la_activity.csv",
    REPORT_CSV + "data_quality_activity.csv",
)


def read_year_files(files: dict[str, bytes], model: FileModel) -> None:
    """Add the year in numbers and the equipment table of a drop's files to ``model`` (the
    rest of the drop read by ``published_model.read_model``); a file that cannot be read as
    the drop writes it is a problem naming it."""
    f = _Files(files)
    if not f.has("tables/site_activity.csv"):
        return
    sites = f.csv("tables/site_activity.csv")
    la_of = dict(zip(sites["site_code"], sites["la_code"]))
    svc = "tables/service_la_cohorts.csv"
    las = sorted(set(f.csv(svc)["la_code"]) - {TOTAL}) if f.has(svc) else []
    readers: list[tuple[str, Callable[[], None]]] = [
        (YEAR_CSV, lambda: read_year(f, sites, la_of, las, model)),
        (EQUIPMENT_CSV, lambda: read_equipment(f, sites, model)),
        (REPORT_CSV + WELLBEING_CSV, lambda: read_reviewed_alike(f, model)),
    ]
    read_files(f, readers, model)


def read_reviewed_alike(f: _Files, model: FileModel) -> None:
    """The wellbeing section and the year in numbers publish one count of people reviewed per
    unit: one cell (``same_people_reviewed``) where both files show the unit; and the
    wellbeing section's reviews must be the sum of the unit's published quarterly reviews,
    withheld where one is (else the year figure gives a withheld quarter away)."""
    read = {r.cell for r in model.readings}
    t = f.csv(REPORT_CSV + WELLBEING_CSV)
    units = [
        u for u in t["la_code"] if wb_id(u, "reviewed") in read and year_id("reviewed", u) in read
    ]
    model.sets.append(same_people_reviewed(units))
    quarters = f.csv(QUARTER_FILES[0])
    for i, r in enumerate(t.to_dict("records")):
        shown = [v.strip() for v in quarters.loc[quarters["la_code"] == r["la_code"], REVIEWS]]
        want = "" if "" in shown or not shown else str(sum(int(v) for v in shown))
        if r["reviews"].strip() != want:
            model.problems.append(
                f"{_place(REPORT_CSV + WELLBEING_CSV, i)}: reviews is "
                f"{r['reviews'].strip() or 'withheld'}, but its published quarters give "
                f"{want or 'nothing (withheld)'}"
            )


def read_year(
    f: _Files, sites: pd.DataFrame, la_of: dict[str, str], las: list[str], model: FileModel
) -> None:
    """The year in numbers: the people reviewed and the quarterly reviews as cells with their
    relations; every year figure checked against its published quarters (withheld where one
    is), the share of visits with a return against the figures beside it, and the figures
    shown only beside published interventions."""
    t = f.csv(YEAR_CSV)
    text: dict[str, str] = {}

    def read(cell: str, shown: str, place: str, cells: list[str]) -> None:
        model.readings.append(Reading(cell, shown.strip(), place))
        text.setdefault(cell, shown.strip())
        cells.append(cell)

    activity: list[str] = []
    people: list[str] = []
    for path in QUARTER_FILES:
        if not f.has(path):
            continue
        q = f.csv(path)
        code = q["la_code"] if "la_code" in q else q["code"]
        for i, (c, quarter, shown) in enumerate(zip(code, q["quarter"], q[REVIEWS])):
            read(activity_id(REVIEWS, c, int(quarter)), shown, _place(path, i), activity)
    quarters = f.csv(QUARTER_FILES[0])
    area_shown = True
    for i, r in enumerate(t.to_dict("records")):
        place, u = _place(YEAR_CSV, i), r["la_code"]
        read(year_id("reviewed", u), r["people_reviewed"], place, people)
        mine = quarters[quarters["la_code"] == u]
        for kind in YEAR_KINDS:
            shown = [v.strip() for v in mine[kind]]
            want = "" if "" in shown or not shown else str(sum(int(v) for v in shown))
            if r[kind].strip() != want:
                model.problems.append(
                    f"{place}: {kind} is {r[kind].strip() or 'withheld'}, but its published "
                    f"quarters give {want or 'nothing (withheld)'}"
                )
        visits, returns = r["nsp_visits"].strip(), r["nsp_returns"].strip()
        pct = (
            f"{half_up(100 * int(returns) / int(visits), 1):.1f}"
            if visits and returns and int(visits) > 0
            else ""
        )
        if r["returns_pct"].strip() != pct:
            model.problems.append(
                f"{place}: returns_pct is {r['returns_pct'].strip() or 'withheld'}, but the "
                f"figures beside it give {pct or 'nothing (withheld)'}"
            )
        withheld = not r["interventions"].strip() or (u == TOTAL and not area_shown)
        if u != TOTAL and not r["interventions"].strip():
            area_shown = False
        for column in (*INTERVENTION_TYPES, "intervention_labels"):
            if withheld and r[column].strip():
                model.problems.append(
                    f"{place}: {column} is published beside withheld interventions"
                )

    def value(cell: str) -> float:
        shown = text.get(cell, "")
        return float(shown) if shown else np.nan

    codes = list(sites["site_code"])
    outside = [c for c in codes if la_of.get(c) not in set(las)]

    def reviews_add_up(q: int) -> bool:
        """Whether the area is the sum of its parts, as far as the files show (a withheld
        figure: assumed, as the reader would)."""
        parts = [value(activity_id(REVIEWS, u, q)) for u in [*las, *outside]]
        whole = value(activity_id(REVIEWS, TOTAL, q))
        return bool(np.isnan(whole) or np.isnan(parts).any() or np.nansum(parts) == whole)

    groups, bounds = year_relations(codes, la_of, las, value, reviews_add_up)
    model.sets.append(
        CellSet(ACTIVITY_NAME, _cells(list(dict.fromkeys(activity))), groups, people=False)
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
