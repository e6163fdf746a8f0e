"""The monitoring report's cohort descriptions (issue 16, item 2), for the area and each LA
pack: two tables, each with its CSV.

* ``monitoring_cohort_description``: per cohort, the gender split, the age span, main and
  second substance and ethnicity "recorded for N people (P%)" with shares among those recorded
  (:func:`counting.cohort_description.describe` of the unit's *published* profiles).
* ``monitoring_cohort_activity``: per unit (LAs, the area) and cohort, the published count of
  people, the NSP visits and interventions they made there (activity cells protected with the
  rest) and the averages per person: the quotient of the two published figures to one decimal,
  withheld where the count of people is withheld or under the threshold.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..counting.cohort_description import ELSEWHERE, KINDS, cact_id, describe
from ..counting.cohort_description import NAME as COHORT_ACTIVITY
from ..counting.individuals import ALL, COHORT_LABELS, COHORT_ORDER
from ..counting.rates import half_up
from ..counting.report_counts import PROFILE_DIMENSIONS
from ..counting.tally import TOTAL
from ..disclosure.suppress import Published

DESCRIPTION = "monitoring_cohort_description"
ACTIVITY = "monitoring_cohort_activity"
ELSEWHERE_NAME = "Services outside the area's local authorities"
PER_PERSON = {"nsp_visits": "visits_per_person", "interventions": "interventions_per_person"}
TOP_SHOWN = 3  # the most common categories named in a description's sentence


def per_person(events: Any, people: Any, threshold: int) -> float:
    """Events per person to one decimal (half up), from two published figures; NaN where
    either is withheld or the people are fewer than ``threshold`` (or none)."""
    if pd.isna(events) or pd.isna(people) or people < threshold or people <= 0:
        return np.nan
    return half_up(float(events) / float(people), 1)


def unit_description(profiles: pd.DataFrame, svc: pd.DataFrame, unit: str) -> pd.DataFrame:
    """The description table of one unit (``TOTAL``: the area) from its published profiles
    (the ``monitoring_profiles`` table shown for it) and the service-LA cohort counts."""
    own = svc[svc["la_code"] == unit]
    totals = dict(zip(own["cohort"], own["individuals"]))
    return describe(profiles, totals)


def cohort_activity_table(published: Published, names: pd.DataFrame) -> pd.DataFrame:
    """``monitoring_cohort_activity``: every LA (in the reports' order), the area, and the
    services outside the area's LAs where there is activity there."""
    if COHORT_ACTIVITY in published.extra:
        cells = published.extra[COHORT_ACTIVITY].set_index("cell_id")["individuals"]
    else:  # withheld whole (drop.compute_stages)
        cells = pd.Series(dtype="Int64")
    svc = published.service_la.set_index(["la_code", "cohort"])["individuals"]
    units = list(zip(names["la_code"], names["la_name"]))
    if cact_id(KINDS[0], ELSEWHERE, ALL) in cells.index:
        units.append((ELSEWHERE, ELSEWHERE_NAME))
    rows = []
    for code, name in units:
        for c in COHORT_ORDER:
            people = svc.get((code, c), pd.NA) if code != ELSEWHERE else pd.NA
            row: dict[str, Any] = {"la_code": code, "la_name": name, "cohort": c}
            row["individuals"] = people
            for kind in KINDS:
                events = cells.get(cact_id(kind, code, c), pd.NA)
                row[kind] = events
                row[PER_PERSON[kind]] = per_person(events, people, published.threshold)
            row["suppressed"] = code != ELSEWHERE and pd.isna(people)
            rows.append(row)
    out = pd.DataFrame(
        rows,
        columns=[
            "la_code",
            "la_name",
            "cohort",
            "individuals",
            "nsp_visits",
            "visits_per_person",
            "interventions",
            "interventions_per_person",
            "suppressed",
        ],
    )
    for col in ("individuals", "nsp_visits", "interventions"):
        out[col] = out[col].astype("Int64")
    return out


def cohort_tables(
    published: Published, names: pd.DataFrame, profiles: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """The area's two cohort tables (name -> tidy frame, as its CSV is written)."""
    return {
        DESCRIPTION: unit_description(profiles, published.service_la, TOTAL),
        ACTIVITY: cohort_activity_table(published, names),
    }


def _top(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The most common published categories (by published count, then as listed; "Other" and
    withheld ones left out): only published figures decide the order."""
    shown = [r for r in rows if not pd.isna(r["individuals"]) and r["category"] != "Other"]
    shown = [r for r in shown if r["individuals"] > 0]
    ranked = sorted(enumerate(shown), key=lambda p: (-int(p[1]["individuals"]), p[0]))
    return [r for _, r in ranked[:TOP_SHOWN]]


def cohort_rows(tables: dict[str, pd.DataFrame], unit: str) -> list[dict[str, Any]]:
    """Per cohort, what the template shows of ``unit`` (``TOTAL``: the area): its published
    count and averages per person (from ``monitoring_cohort_activity``) and its description
    (from ``monitoring_cohort_description``)."""
    act = tables[ACTIVITY]
    act_of = {r["cohort"]: r for r in act[act["la_code"] == unit].to_dict("records")}
    by_cohort: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for r in tables[DESCRIPTION].to_dict("records"):
        by_cohort.setdefault(r["cohort"], {}).setdefault(r["measure"], []).append(r)
    out = []
    for c in COHORT_ORDER:
        by_measure = by_cohort.get(c, {})
        a = act_of.get(c)
        recorded = []
        for dim in ("substance_1", "substance_2", "ethnicity"):
            head = by_measure.get(f"{dim}_recorded")
            if head:
                recorded.append(
                    {
                        "label": PROFILE_DIMENSIONS[dim],
                        "individuals": head[0]["individuals"],
                        "share": head[0]["share"],
                        "top": _top(by_measure.get(dim, [])),
                    }
                )
        out.append(
            {
                "cohort": c,
                "label": COHORT_LABELS[c],
                "individuals": None if a is None else a["individuals"],
                "nsp_visits": None if a is None else a["nsp_visits"],
                "visits_per_person": None if a is None else a["visits_per_person"],
                "interventions": None if a is None else a["interventions"],
                "interventions_per_person": None if a is None else a["interventions_per_person"],
                "gender": by_measure.get("gender", []),
                "age": next(iter(by_measure.get("age_span", [])), None),
                "recorded": recorded,
            }
        )
    return out
