"""The monitoring report's "year in numbers" and "equipment distributed" tables (issue 16,
items 1 and 3): tidy frames written as ``reports/csv/monitoring_year_numbers.csv`` and
``monitoring_equipment.csv`` (an LA pack's ``csv/`` holds the LA's rows), and the rows their
templates (``templates/monitoring/year_numbers.html.j2``, ``equipment.html.j2``) show.

Only published values reach here: the year's cells as disclosure control left them, the share
of visits with a return computed from the published visits and returns (blank where either
is), the count of intervention type labels blank where the interventions are.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..counting.equipment import ITEM_LABELS
from ..counting.periods import Period
from ..counting.rates import round_half_up
from ..counting.tally import TOTAL
from ..counting.year_numbers import (
    INTERVENTION_TYPES,
    PEOPLE_NAME,
    SITE_TYPES,
    YEAR_KINDS,
    YearPlain,
    year_id,
)
from ..disclosure.suppress import Published
from ..extract.reader import ITEM_COLUMNS

YEAR_TABLE = "monitoring_year_numbers"
EQUIPMENT_TABLE = "monitoring_equipment"
SITE_TYPE_LABELS = {"agency": "Agencies", "pharmacy": "Pharmacies"}
YEAR_COLUMNS = [
    "la_code",
    "la_name",
    "sites",
    "sites_agency",
    "sites_pharmacy",
    "nsp_visits",
    "nsp_returns",
    "returns_pct",
    "interventions",
    *INTERVENTION_TYPES,
    "intervention_labels",
    "referrals",
    "referrals_in",
    "referrals_out",
    "referral_organisations",
    "organisations_recorded",
    "wellbeing_reviews",
    "people_reviewed",
    "people_reviewed_suppressed",
]


def year_tables(
    published: Published,
    tables: dict[str, pd.DataFrame],
    plain: YearPlain,
    equipment: pd.DataFrame,
    period: Period,
) -> dict[str, pd.DataFrame]:
    """The two tables, in the reports' order of units (``tables``: the area's report tables,
    whose cohort summary gives the LAs by name and the area last); ``equipment``: the
    published equipment table (``disclosure.equipment.publish_equipment``)."""
    summary = tables["monitoring_cohort_summary"]
    names = summary.drop_duplicates("la_code")[["la_code", "la_name"]].reset_index(drop=True)
    return {
        YEAR_TABLE: _year(published, tables, plain),
        EQUIPMENT_TABLE: _equipment(equipment, names, period),
    }


def _year(published: Published, tables: dict[str, pd.DataFrame], plain: YearPlain) -> pd.DataFrame:
    """The year's figures per unit: the activity the sum of its published quarters (withheld
    where one is), interventions by type only where the year's interventions are published
    (the area's only where every LA's are too), the people reviewed as protected."""
    summary = tables["monitoring_cohort_summary"]
    names = summary.drop_duplicates("la_code")[["la_code", "la_name"]].reset_index(drop=True)
    out = names.merge(plain.table, on="la_code", how="left")
    units = out["la_code"]
    act = tables["monitoring_la_activity"]
    for kind in YEAR_KINDS:
        by = act.groupby("la_code", sort=False)[kind]
        year = by.sum().astype("Float64").where(by.count() == by.size())  # a quarter withheld
        out[kind] = units.map(year).astype("Int64").array
    visits, returns = out["nsp_visits"].astype("Float64"), out["nsp_returns"].astype("Float64")
    share = (100 * returns / visits.where(visits > 0)).astype(float)
    out["returns_pct"] = round_half_up(share.where(returns.notna() & visits.notna()), 1)
    shown = out["interventions"].notna().to_numpy()
    is_area = (units == TOTAL).to_numpy()
    shown[is_area] &= bool(shown[~is_area].all())
    for col in (*INTERVENTION_TYPES, "intervention_labels"):
        out[col] = out[col].astype("Int64").mask(~shown)
    out["organisations_recorded"] = plain.organisations_recorded
    out["referral_organisations"] = out["referral_organisations"].astype("Int64")
    if not plain.organisations_recorded:
        out["referral_organisations"] = pd.array([pd.NA] * len(out), dtype="Int64")
    people = published.extra[PEOPLE_NAME].set_index("cell_id")["individuals"]
    reviewed = people.reindex([year_id("reviewed", u) for u in units])
    out["people_reviewed"] = reviewed.astype("Int64").array
    out["people_reviewed_suppressed"] = out["people_reviewed"].isna().to_numpy()
    for col in ("sites_agency", "sites_pharmacy", "referrals_in", "referrals_out"):
        out[col] = out[col].astype(np.int64)
    out["sites"] = out["sites_agency"] + out["sites_pharmacy"]
    out["referrals"] = out["referrals_in"] + out["referrals_out"]
    return out[YEAR_COLUMNS]


def _equipment(equipment: pd.DataFrame, names: pd.DataFrame, period: Period) -> pd.DataFrame:
    order = {c: i for i, c in enumerate(names["la_code"])}
    when = {q.number: i for i, q in enumerate(period.quarters())}
    kinds = {t: i for i, t in enumerate(SITE_TYPES)}
    out = equipment.merge(names, on="la_code")
    out = out.assign(
        _u=out["la_code"].map(order), _q=out["quarter"].map(when), _t=out["site_type"].map(kinds)
    )
    out = out.sort_values(["_u", "_q", "_t"], kind="stable").reset_index(drop=True)
    return out[
        ["la_code", "la_name", "quarter", "site_type", *ITEM_COLUMNS, "withheld", "items_recorded"]
    ]


def year_rows(tables: dict[str, pd.DataFrame], unit: str = TOTAL) -> dict[str, Any] | None:
    """The year in numbers for the template: ``unit``'s row (the area's, or an LA's in its
    pack) and every row of the table (the LAs and the area); None without the table."""
    frame = tables.get(YEAR_TABLE)
    if frame is None or not len(frame):
        return None
    rows = [dict(r, total=r["la_code"] == TOTAL) for r in frame.to_dict("records")]
    return {
        "own": next((r for r in rows if r["la_code"] == unit), rows[-1]),
        "rows": rows,
        "types": list(INTERVENTION_TYPES.items()),
        "site_types": SITE_TYPE_LABELS,
    }


def equipment_rows(tables: dict[str, pd.DataFrame], period: Period) -> dict[str, Any] | None:
    """The equipment table for the template: per unit, its rows by quarter and site type,
    and whether the extract records any item count; None without the table."""
    frame = tables.get(EQUIPMENT_TABLE)
    if frame is None:
        return None
    label = {q.number: q.short for q in period.quarters()}
    units: list[dict[str, Any]] = []
    for r in frame.to_dict("records"):
        if not units or units[-1]["la_code"] != r["la_code"]:
            units.append(
                {"la_code": r["la_code"], "la_name": r["la_name"], "total": r["la_code"] == TOTAL}
            )
            units[-1]["rows"] = []
        units[-1]["rows"].append(
            dict(
                r,
                label=label[r["quarter"]],
                type_label=SITE_TYPE_LABELS.get(r["site_type"], r["site_type"]),
            )
        )
    recorded = bool(frame["items_recorded"].any()) if len(frame) else False
    return {"units": units, "items": list(ITEM_LABELS.items()), "recorded": recorded}
