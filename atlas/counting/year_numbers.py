"""The year in numbers (issue 16, item 1; the IMS overview's "Summary of activity recorded"):
per service LA (the LA a site lies in) and for the area, in the drop's 12 months, the sites by
type, NSP visits and returns, interventions by type and how many intervention type labels were
used, referrals in and out and how many referral organisations, wellbeing reviews and the
people reviewed.

What joins disclosure control (cells of ``report_counts.CellSet``):

- ``act:wellbeing_reviews:<site, LA or TOTAL>:q<n>``: the wellbeing reviews of the quarterly
  activity tables, now cells (an LA adds its sites, the area its LAs and the sites outside
  them), because they bound the people reviewed;
- ``yn:reviewed:<unit>``: people with a review in the year (a count of individuals): at most
  the unit's reviews and at least 1 where there is one (an ``ActivityBound``); an LA's at
  most the area's.

The year's NSP visits, returns, interventions and reviews are the sums of their published
quarters (withheld where one is), so they tell nothing the quarters do not; interventions by
type (a fixed list, ``INTERVENTION_TYPES``: a free-text label is never shown) split a year's
interventions that is published, and are shown only where it is (the area's only where every
LA's are too: ``render.year_tables``). Counts of labels (intervention types, referral
organisations), referrals (tied to no count of people) and sites (a fact about services, from
sites.csv) are plain figures (:class:`YearPlain`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..extract.reader import Extract
from .individuals import Individuals, row_persons
from .periods import Period, fiscal_quarter
from .report_counts import QUARTERS, ActivityBound, CellSet, activity_id
from .substances import normalise_label
from .tally import TOTAL, distinct_people, positions
from .wellbeing import wb_id

ACTIVITY_NAME = "year_activity"
PEOPLE_NAME = "year_people"
REVIEWS = "wellbeing_reviews"
YEAR_KINDS = ("nsp_visits", "nsp_returns", "interventions", REVIEWS)
# the intervention types shown (a fixed list); every other label is counted as "Other"
INTERVENTION_TYPES = {
    "brief_intervention": "Brief Intervention",
    "advice_information": "Advice & Information",
    "other_intervention": "Other",
}
# normalised labels (``substances.normalise_label``) of each named type
TYPE_LABELS = {
    "brief intervention": "brief_intervention",
    "brief interventions": "brief_intervention",
    "bi": "brief_intervention",
    "advice and information": "advice_information",
    "advice and info": "advice_information",
    "advice information": "advice_information",
    "a and i": "advice_information",
}
SITE_TYPES = ("agency", "pharmacy")


def year_id(kind: str, unit: str) -> str:
    """A year figure's cell: ``yn:<kind>:<LA code or TOTAL>`` (kind: a ``YEAR_KINDS`` name,
    an ``INTERVENTION_TYPES`` key, or ``reviewed`` for the people reviewed)."""
    return f"yn:{kind}:{unit}"


@dataclass
class YearPlain:
    """The year's figures that are no count of people nor bound one, per unit (``la_code``:
    the drop's LAs, then ``TOTAL``): sites open in the period by type, intervention type
    labels used, referrals in and out, referral organisations named; and whether the extract
    records an organisation at all (else the report says so rather than show 0)."""

    table: pd.DataFrame
    organisations_recorded: bool


def year_cells(
    extract: Extract,
    ind: Individuals,
    sites: pd.DataFrame,
    la_codes: list[str],
) -> list[CellSet]:
    """The year in numbers' cells of the drop's period, unprotected: the quarterly wellbeing
    reviews (activity) and the people reviewed."""
    period = ind.period
    units = [*la_codes, TOTAL]
    codes = list(sites["site_code"])
    la_of_site = positions(sites["la_code"], la_codes)
    la_of = dict(zip(codes, sites["la_code"]))

    w = extract["wellbeing.csv"]
    w = w[period.contains(w["review_date"])]
    w_site = positions(w["site_code"], sites["site_code"])
    w_la = np.append(la_of_site, -1)[w_site]
    w_quarter = fiscal_quarter(w["review_date"]).to_numpy()
    n = len(codes)
    reviews = np.bincount(
        np.where(w_site >= 0, w_site, n) * len(QUARTERS) + w_quarter - 1,
        minlength=(n + 1) * len(QUARTERS),
    ).reshape(n + 1, len(QUARTERS))

    ids: list[str] = []
    values: list[int] = []

    def add(cell: str, value: int) -> None:
        ids.append(cell)
        values.append(int(value))

    for i, code in enumerate(codes):
        for q in QUARTERS:
            add(activity_id(REVIEWS, code, q), reviews[i, q - 1])
    la_reviews = np.zeros((len(la_codes), len(QUARTERS)), dtype=np.int64)
    np.add.at(la_reviews, la_of_site[la_of_site >= 0], reviews[:-1][la_of_site >= 0])
    area_reviews = reviews.sum(axis=0)
    for u, row in zip(units, [*la_reviews, area_reviews]):
        for q in QUARTERS:
            add(activity_id(REVIEWS, u, q), row[q - 1])

    activity_table = pd.DataFrame(
        {"cell_id": ids, "individuals": np.asarray(values, dtype=np.int64)}
    )
    elsewhere_reviews = reviews[-1]  # at sites not listed (none once the extract is read)
    groups, bounds = year_relations(
        codes,
        la_of,
        la_codes,
        dict(zip(ids, map(float, values))).__getitem__,
        lambda q: not elsewhere_reviews[q - 1],
    )

    person = row_persons(w, extract["clients.csv"], ind.person_of)
    reviewed = np.concatenate(
        [
            distinct_people(w_la, person, len(la_codes)),
            [len(np.unique(person))],
        ]
    )
    people_table = pd.DataFrame(
        {
            "cell_id": [year_id("reviewed", u) for u in units],
            "individuals": reviewed.astype(np.int64),
        }
    )
    people_at_most = [(year_id("reviewed", la), year_id("reviewed", TOTAL)) for la in la_codes]
    return [
        CellSet(ACTIVITY_NAME, activity_table, groups, people=False),
        CellSet(PEOPLE_NAME, people_table, bounds=bounds, at_most=people_at_most),
    ]


def _intervention_type(labels: pd.Series) -> np.ndarray:
    """Each intervention's type key (``INTERVENTION_TYPES``): a known label's, else other."""
    key = normalise_label(labels)
    return key.map(TYPE_LABELS).fillna("other_intervention").to_numpy(dtype=object)


def year_relations(
    codes: list[str],
    la_of: dict[str, str],
    la_codes: list[str],
    value: Callable[[str], float],
    reviews_add_up: Callable[[int], bool],
) -> tuple[list[tuple[str, list[str]]], list[ActivityBound]]:
    """The groups of the quarterly wellbeing reviews and the bounds of the people reviewed by
    their reviews, declared once for the build and for the audit's reading of the files.
    ``value``: a cell's figure (NaN where withheld: no cap from it); ``reviews_add_up``
    (quarter): whether the area's reviews are its LAs' and the sites' outside them."""
    in_drop = set(la_codes)
    sites_of: dict[str, list[str]] = {la: [] for la in la_codes}
    for c in codes:
        if la_of.get(c) in in_drop:
            sites_of[la_of[c]].append(c)
    outside = [c for c in codes if la_of.get(c) not in in_drop]
    groups: list[tuple[str, list[str]]] = []
    for q in QUARTERS:
        for la in la_codes:
            groups.append(
                (activity_id(REVIEWS, la, q), [activity_id(REVIEWS, c, q) for c in sites_of[la]])
            )
        if reviews_add_up(q):
            parts = [activity_id(REVIEWS, la, q) for la in la_codes]
            parts += [activity_id(REVIEWS, c, q) for c in outside]
            groups.append((activity_id(REVIEWS, TOTAL, q), parts))
    area = sum(value(activity_id(REVIEWS, TOTAL, q)) for q in QUARTERS)
    bounds = []
    for u in [*la_codes, TOTAL]:
        quarters = [activity_id(REVIEWS, u, q) for q in QUARTERS]
        bounds.append(
            ActivityBound(
                year_id("reviewed", u),
                tuple(quarters),
                np.inf if u == TOTAL or np.isnan(area) else float(area),
                # blanked together: the quarters with a review (a zero blanked would only
                # need a complement in its area's quarter)
                tuple(c for c in quarters if value(c) != 0) or tuple(quarters),
            )
        )
    return groups, bounds


def year_plain(
    extract: Extract,
    ind: Individuals,
    sites: pd.DataFrame,
    la_codes: list[str],
    la_activity: pd.DataFrame,
) -> YearPlain:
    """The year's figures that are no count of people (:class:`YearPlain`)."""
    period = ind.period
    la_of_site = np.append(positions(sites["la_code"], la_codes), -1)
    i_la = la_of_site[positions(ind.interventions["site_code"], sites["site_code"])]
    units = [*la_codes, TOTAL]
    out = pd.DataFrame({"la_code": units})
    open_ = _open_in(sites, period)
    for t in SITE_TYPES:
        mine = sites[open_ & (sites["site_type"] == t)]
        per_la = mine["la_code"].value_counts()
        out[f"sites_{t}"] = [int(per_la.get(u, 0)) for u in la_codes] + [len(mine)]
    labels = normalise_label(ind.interventions["intervention_type"]).to_numpy(dtype=object)
    distinct_labels = []
    for i in range(len(la_codes)):
        distinct_labels.append(len(set(labels[(i_la == i) & (labels != "")])))
    distinct_labels.append(len(set(labels[labels != ""])))
    out["intervention_labels"] = distinct_labels
    kind = _intervention_type(ind.interventions["intervention_type"])
    for t in INTERVENTION_TYPES:
        mine = kind == t
        per_la = np.bincount(i_la[mine & (i_la >= 0)], minlength=len(la_codes))
        out[t] = [*per_la.astype(np.int64).tolist(), int(mine.sum())]
    year = la_activity.groupby("la_code")[["referrals_in", "referrals_out"]].sum()
    out["referrals_in"] = out["la_code"].map(year["referrals_in"]).fillna(0).astype(np.int64)
    out["referrals_out"] = out["la_code"].map(year["referrals_out"]).fillna(0).astype(np.int64)
    ref = extract["referrals.csv"]
    ref = ref[period.contains(ref["referral_date"])]
    org = (
        normalise_label(ref["organisation"]).to_numpy(dtype=object)
        if "organisation" in ref
        else np.full(len(ref), "", dtype=object)
    )
    r_la = np.append(positions(sites["la_code"], la_codes), -1)[
        positions(ref["site_code"], sites["site_code"])
    ]
    named = org != ""
    orgs = [len(set(org[named & (r_la == i)])) for i in range(len(la_codes))]
    out["referral_organisations"] = [*orgs, len(set(org[named]))]
    whole = extract["referrals.csv"]
    recorded = "organisation" in whole and bool((whole["organisation"].fillna("") != "").any())
    return YearPlain(out, recorded)


def _open_in(sites: pd.DataFrame, period: Period) -> pd.Series:
    """Which sites were open at some time in the period (opened on or before its end, not
    closed before its start; a date not given: open)."""
    ok = pd.Series(True, index=sites.index)
    if "opened" in sites:
        opened = pd.to_datetime(sites["opened"], errors="coerce")
        ok &= ~(opened > period.end).fillna(False).astype(bool)
    if "closed" in sites:
        closed = pd.to_datetime(sites["closed"], errors="coerce")
        ok &= ~(closed < period.start).fillna(False).astype(bool)
    return ok


def same_people_reviewed(units: list[str]) -> CellSet:
    """The people reviewed of the year in numbers and of the wellbeing section are one count
    (people with a review in the period at the unit's sites): for each unit the wellbeing
    section counts (``wellbeing.counted_units``), a group tying ``yn:reviewed:<unit>`` to
    ``wb:<unit>:reviewed``, so that disclosure control and the audit treat them as one cell
    (two cells, protected apart, let one published figure give the other away)."""
    table = pd.DataFrame({"cell_id": pd.Series([], dtype=object), "individuals": []})
    groups = [(wb_id(u, "reviewed"), [year_id("reviewed", u)]) for u in units]
    return CellSet("same_people_reviewed", table.astype({"individuals": np.int64}), groups)


def withhold_reviewed_alike(people: pd.DataFrame, wellbeing: pd.DataFrame) -> int:
    """Withhold (in place) the year in numbers' people reviewed of every unit whose wellbeing
    counts the build withheld together after disclosure control
    (``wellbeing.withhold_together``); returns how many more cells that withholds."""
    hidden = wellbeing.loc[wellbeing["suppressed"].astype(bool), "la_code"]
    cells = {year_id("reviewed", u) for u in hidden}
    more = people["cell_id"].isin(cells) & ~people["suppressed"].astype(bool)
    people.loc[more, "individuals"] = pd.NA
    people.loc[more, "suppressed"] = True
    return int(more.sum())
