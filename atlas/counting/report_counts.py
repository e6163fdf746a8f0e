"""Counting for the tabular reports (monitoring, activity & data quality), before disclosure
control.

Every count of individuals here is a *cell* with an id, and the cells that add up are tied by
*groups*, exactly as ``aggregate`` counts feed ``suppress``: a ``CellSet`` carries a long table
(one row per cell: its keys, ``cell_id`` and ``individuals``) and its additive groups.
``suppress.protect(..., extra=...)`` suppresses them together with the spec tables, so a total
published in two places is one cell: the area totals are the ``total:<cohort>`` cells, the
service-LA year counts the ``svc:<la>:<cohort>`` cells and a site's year count the
``site:<code>`` cell that ``suppress._register`` names.

Activity (NSP visits, returns, interventions, reviews, referrals) counts events, not people, and
is returned as plain frames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..extract.reader import Extract
from .individuals import ALL, COHORT_ORDER, COHORTS, Individuals, row_persons
from .periods import Period, fiscal_quarter
from .substances import LABELS, display_label, normalise_label
from .tally import TOTAL, activity_rows, cohort_of, distinct_pairs, distinct_people, positions
from .trends import (
    TREND_ACTIVITY,
    TrendYear,
    count_year,
    same_months,
    trend_years,
    year_individuals,
)

QUARTERS = (1, 2, 3, 4)  # a period's quarters by number (its 12 months hold each once)
AGE_BANDS = (
    (0, 17, "Under 18"),
    (18, 24, "18–24"),
    (25, 34, "25–34"),
    (35, 44, "35–44"),
    (45, 54, "45–54"),
    (55, 200, "55 and over"),
)
GENDERS = {"M": "Male", "F": "Female", "X": "Other"}
NOT_KNOWN = "Not known"
NOT_STATED = "Not stated"
OTHER = "Other"
RESIDUAL = (NOT_KNOWN, NOT_STATED, OTHER)  # rows that name no category: cheapest to hide
TOP_CATEGORIES = 8  # free-text profiles: the most common labels, the rest as "Other"
# The answers that record nothing (normalised: any case, spacing or punctuation), as blank
# does: shown as "Not stated" in the profiles, and not a completed item in the data-quality
# report's assessment items.
NOT_STATED_KEYS = ("not stated", "not known", "unknown")
REASSESS_MONTHS = 6  # the IMS user guide: reassess clients at six-month intervals
FREE_TEXT = (  # profile columns
    "substance_1",
    "substance_2",
    "accommodation",
    "employment",
    "ethnicity",
)
# The documented vocabularies of the free-text profile columns (normalised labels): the order
# in which their labels are shown; other labels follow, alphabetically. Substances: the labels
# of the substance mapping, in its order. Any free-text label (known or not) is shown only
# when at least ``threshold`` individuals share it, else counted in "Other".
SUBSTANCE_RANK = {
    key: i for i, key in enumerate(k for k, g in LABELS.items() if g != "not_stated")
}
ACCOMMODATION_VOCABULARY = (
    "settled",
    "unsettled",
    "nfa",
    "no fixed abode",
    "homeless",
    "rough sleeping",
    "temporary accommodation",
    "supported accommodation",
    "hostel",
    "prison",
)
EMPLOYMENT_VOCABULARY = (
    "employed",
    "full time employment",
    "part time employment",
    "self employed",
    "unemployed",
    "long term sick or disabled",
    "economically inactive",
    "student",
    "retired",
    "homemaker",
    "voluntary work",
)
VOCABULARY_RANK = {
    key: i for i, key in enumerate((*ACCOMMODATION_VOCABULARY, *EMPLOYMENT_VOCABULARY))
}
PROFILE_DIMENSIONS = {
    "gender": "Gender",
    "age_band": "Age at the end of the year",
    "substance_1": "Main substance",
    "substance_2": "Second substance",
    "accommodation": "Accommodation",
    "employment": "Employment",
    "ethnicity": "Ethnicity",
}
ASSESSMENT_ITEMS = {
    "assessment_date": "Date",
    "substance_1": "Substance 1",
    "accommodation": "Accommodation",
    "employment": "Employment",
    "parental_status": "Parental status",
    "postcode_or_la": "Postcode or LA",
}


def svc_id(la_code: str, cohort: str) -> str:
    """The id ``suppress._register`` gives a service-LA cell (TOTAL rows: the area totals)."""
    return f"total:{cohort}" if la_code == TOTAL else f"svc:{la_code}:{cohort}"


@dataclass(frozen=True)
class ActivityBound:
    """What a reader knows of a count of people from the activity rows (NSP visits,
    interventions) they made there: ``people`` is at most the sum of ``activity``, at least 1
    where that sum is not 0, and 0 where it is. ``cap``: a published upper bound of the sum
    (inf: none); ``row``: the activity figures shown with the count, blanked together when
    they would narrow a suppressed count."""

    people: str
    activity: tuple[str, ...]
    cap: float
    row: tuple[str, ...]


@dataclass
class CellSet:
    """Counts of individuals for one report table, with the groups that tie them. With
    ``people`` False, counts of events (activity): published as they are, except where
    disclosure control blanks them to protect a count of people (``bounds``)."""

    name: str
    table: pd.DataFrame  # keys..., cell_id, individuals
    groups: list[tuple[str, list[str]]] = field(default_factory=list)
    people: bool = True
    bounds: list[ActivityBound] = field(default_factory=list)
    at_most: list[tuple[str, str]] = field(default_factory=list)  # (a, b): a <= b
    floors: dict[str, int] = field(default_factory=dict)  # known least values of cells
    residual: list[str] = field(default_factory=list)  # "Not known"/"Other" rows' cells


@dataclass
class ReportCounts:
    """Everything the reports show, unprotected: cell sets and activity frames."""

    cells: list[CellSet]
    la_activity: pd.DataFrame  # la_code (TOTAL too), quarter, nsp_visits, nsp_returns, ...
    site_activity: pd.DataFrame  # site_code, quarter, the same activity columns
    completion: pd.DataFrame  # unit (site code, la code or TOTAL), assessments, item shares
    years: list[str]  # financial years of the trend, oldest first
    last_quarter: str  # e.g. "2017-18 Q4"
    period: Period  # the drop's 12 months (quarters: ``period.quarters()``, oldest first)
    trend: list[TrendYear] = field(default_factory=list)  # the years, each partial or whole

    def cell_set(self, name: str) -> CellSet:
        return next(c for c in self.cells if c.name == name)


def count_reports(
    extract: Extract,
    ind: Individuals,
    sites: pd.DataFrame,
    la_codes: list[str],
    threshold: int = 5,
    trend_years: int = 6,
) -> ReportCounts:
    """All report counts for the drop's period from its individuals and the placed sites;
    ``threshold``: the drop's disclosure threshold (free-text labels shared by fewer people
    are folded into "Other"); ``trend_years``: at most this many financial years in the
    trends."""
    la_of = sites.set_index("site_code")["la_code"]
    la_of = la_of[la_of.isin(la_codes)]
    rows = _Rows.of(ind, sites, la_codes)
    used = rows.distinct()
    trend, trend_activity, years = _trend(extract, ind, sites, la_codes, trend_years, rows)
    events = _site_events(extract, ind, rows, sites)
    la_activity = _activity(events, rows.la_of_site, "la_code", [*la_codes, TOTAL])
    site_activity = _activity(events, rows.la_of_site, "site_code", list(sites["site_code"]))
    return ReportCounts(
        cells=[
            _quarter_cells(ind, used, la_codes),
            _intervention_clients(rows, la_codes),
            _site_quarter_cells(used, sites),
            _assessed(extract, ind, used, la_codes, sites),
            _reassessed(extract, ind, used, la_codes, sites),
            _profiles(ind, threshold),
            trend,
            activity_cells(site_activity, la_activity, sites, la_codes, events),
            trend_activity,
        ],
        la_activity=la_activity,
        site_activity=site_activity,
        completion=_completion(
            extract["assessments.csv"], ind.period, la_of, la_codes, list(sites["site_code"])
        ),
        years=[y.year.label for y in years],
        last_quarter=ind.period.last_quarter.label,
        period=ind.period,
        trend=years,
    )


@dataclass
class _Rows:
    """Activity rows keyed by integers: the person, the site (position in ``sites``; -1: not
    listed), the site's LA (position in ``la_codes``; -1: not an LA of the drop) and the
    quarter (1..4). Made by :meth:`of` from every NSP visit, then every intervention, in the
    period; ``la_of_site``: each site's LA position."""

    person: np.ndarray
    site: np.ndarray
    la: np.ndarray
    quarter: np.ndarray
    la_of_site: np.ndarray
    visits: int = 0  # how many of the rows (the first) are NSP visits

    @classmethod
    def of(cls, ind: Individuals, sites: pd.DataFrame, la_codes: list[str]) -> _Rows:
        person, site = activity_rows(ind, sites)
        la_of_site = positions(sites["la_code"], la_codes)
        quarter = np.concatenate(
            [
                fiscal_quarter(ind.nsp["visit_date"]).to_numpy(),
                fiscal_quarter(ind.interventions["intervention_date"]).to_numpy(),
            ]
        )
        return cls(
            person, site, np.append(la_of_site, -1)[site], quarter, la_of_site, len(ind.nsp)
        )

    def take(self, which: np.ndarray | slice) -> _Rows:
        return _Rows(
            self.person[which],
            self.site[which],
            self.la[which],
            self.quarter[which],
            self.la_of_site,
        )

    def distinct(self) -> _Rows:
        """One row per distinct (person, site, quarter)."""
        key, person = distinct_pairs(
            (self.site + 1) * len(QUARTERS) + self.quarter - 1, self.person
        )
        site = key // len(QUARTERS) - 1
        return _Rows(
            person,
            site,
            np.append(self.la_of_site, -1)[site],
            key % len(QUARTERS) + 1,
            self.la_of_site,
        )


def _grid(**levels: list) -> pd.DataFrame:
    index = pd.MultiIndex.from_product(list(levels.values()), names=list(levels))
    return index.to_frame(index=False)


def _per_quarter(rows: _Rows, unit: np.ndarray, n: int) -> np.ndarray:
    """Distinct people per unit (0..n-1; -1: none) and quarter, then per quarter in all:
    the counts of ``_grid(unit=[...n units, TOTAL], quarter=QUARTERS)``."""
    q = rows.quarter - 1
    per_unit = distinct_people(
        np.where(unit >= 0, unit * len(QUARTERS) + q, -1), rows.person, n * len(QUARTERS)
    )
    return np.concatenate([per_unit, distinct_people(q, rows.person, len(QUARTERS))])


def _quarter_cells(ind: Individuals, used: _Rows, la_codes: list[str]) -> CellSet:
    """Individuals seen per service LA (and the area) and quarter: every quarter for ``all``,
    the period's last quarter per cohort too (cohort: the individual's cohort for the 12
    months). Quarters are keyed by number: a period's 12 months hold each once."""
    n = len(la_codes)
    last_quarter = ind.period.last_quarter.number
    last = used.take(used.quarter == last_quarter)  # the cohort cells' only quarter
    cohort = cohort_of(ind.people)[last.person]
    by_cohort = np.column_stack(
        [
            distinct_people(
                np.where(last.la >= 0, last.la * len(COHORTS) + cohort, -1),
                last.person,
                n * len(COHORTS),
            )
            .reshape(n, -1)
            .T,
            distinct_people(cohort, last.person, len(COHORTS)),
        ]
    )
    counts = {ALL: _per_quarter(used, used.la, n), **dict(zip(COHORTS, by_cohort))}
    rows = []
    for cohort in COHORT_ORDER:
        quarters = list(QUARTERS) if cohort == ALL else [last_quarter]
        grid = _grid(la_code=[*la_codes, TOTAL], quarter=quarters, cohort=[cohort])
        rows.append(grid.assign(individuals=counts[cohort]))
    table = pd.concat(rows, ignore_index=True)
    table["cell_id"] = (
        "laq:" + table["la_code"] + ":q" + table["quarter"].astype(str) + ":" + table["cohort"]
    )
    last = table[table["quarter"] == last_quarter].pivot(
        index="la_code", columns="cohort", values="cell_id"
    )
    groups = [(r[ALL], [r[c] for c in COHORTS]) for _, r in last.iterrows()]
    # seen in a quarter: seen in the year (the service-LA count)
    alls = table[table["cohort"] == ALL]
    year = [svc_id(la, ALL) for la in alls["la_code"]]
    return CellSet("quarter_individuals", table, groups, at_most=list(zip(alls["cell_id"], year)))


def _intervention_clients(rows: _Rows, la_codes: list[str]) -> CellSet:
    """Individuals who received an intervention, per service LA (and the area) and quarter."""
    ints = rows.take(slice(rows.visits, None))
    grid = _grid(la_code=[*la_codes, TOTAL], quarter=list(QUARTERS))
    table = grid.assign(individuals=_per_quarter(ints, ints.la, len(la_codes)))
    table["cell_id"] = "laqi:" + table["la_code"] + ":q" + table["quarter"].astype(str)
    # a client of an intervention in a quarter was seen there then
    seen = "laq:" + table["la_code"] + ":q" + table["quarter"].astype(str) + f":{ALL}"
    return CellSet("intervention_clients", table, at_most=list(zip(table["cell_id"], seen)))


def _site_quarter_cells(used: _Rows, sites: pd.DataFrame) -> CellSet:
    """Individuals seen per site and quarter (the year's count is the ``site:`` cell)."""
    grid = _grid(site_code=list(sites["site_code"]), quarter=list(QUARTERS))
    listed = used.site >= 0  # one row per person, site and quarter: count rows
    n = np.bincount(
        used.site[listed] * len(QUARTERS) + used.quarter[listed] - 1, minlength=len(grid)
    )
    table = grid.assign(individuals=n.astype(np.int64))
    table["cell_id"] = "siteq:" + table["site_code"] + ":q" + table["quarter"].astype(str)
    # seen in a quarter: seen in the year
    year = "site:" + table["site_code"].astype(str)
    return CellSet("site_quarter_individuals", table, at_most=list(zip(table["cell_id"], year)))


def _assessed(
    extract: Extract, ind: Individuals, used: _Rows, la_codes: list[str], sites: pd.DataFrame
) -> CellSet:
    """Individuals seen at a site (in an LA, in the area) in the period who have, or have not,
    an assessment dated in the period at that site (LA, area). Seen = with + without, and
    "seen" is the site's (LA's, area's) published year count."""
    a = extract["assessments.csv"]
    a = a[ind.period.contains(a["assessment_date"])]
    person = row_persons(a, extract["clients.csv"], ind.person_of)
    site = positions(a["site_code"], sites["site_code"])
    rows = []
    for unit, seen, done, ids in (
        ("site", used.site, site, list(sites["site_code"])),
        ("la", used.la, np.append(used.la_of_site, -1)[site], la_codes),
    ):
        # (unit, person) pairs seen, and whether the person was assessed there
        unit_of, who = distinct_pairs(seen, used.person)
        size = max(who.max(initial=0), person.max(initial=0)) + 1
        assessed = (
            pd.Series(unit_of * size + who)
            .isin(done[done >= 0].astype(np.int64) * size + person[done >= 0])
            .to_numpy()
        )
        frame = pd.DataFrame({"unit": unit, "code": ids})
        frame["with"] = np.bincount(unit_of[assessed], minlength=len(ids)).astype(np.int64)
        frame["without"] = (
            np.bincount(unit_of, minlength=len(ids)).astype(np.int64) - frame["with"]
        )
        rows.append(frame)
    people = ind.people.index
    total_with = int(people.isin(person).sum())
    rows.append(
        pd.DataFrame(
            {
                "unit": ["area"],
                "code": [TOTAL],
                "with": [total_with],
                "without": [len(people) - total_with],
            }
        )
    )
    wide = pd.concat(rows, ignore_index=True)
    table = wide.melt(
        id_vars=["unit", "code"],
        value_vars=["with", "without"],
        var_name="assessment",
        value_name="individuals",
    )
    table["cell_id"] = "assessed:" + table["code"] + ":" + table["assessment"]
    totals = {
        "site": lambda c: f"site:{c}",
        "la": lambda c: svc_id(c, ALL),
        "area": lambda c: svc_id(TOTAL, ALL),
    }
    groups = [
        (totals[r.unit](r.code), [f"assessed:{r.code}:with", f"assessed:{r.code}:without"])
        for r in wide.itertuples()
    ]
    return CellSet("assessed", table, groups)


def answered(values: pd.Series) -> np.ndarray:
    """Whether each free-text answer completes its item: not blank and not one of
    ``NOT_STATED_KEYS`` in any case or spacing ("Not stated", " NOT KNOWN ", "not-known")."""
    key = normalise_label(values)
    return ((key != "") & ~key.isin(NOT_STATED_KEYS)).to_numpy(dtype=bool)


def reassessment_start(period: Period) -> pd.Timestamp:
    """The first day of the period's last ``REASSESS_MONTHS`` months (its last two quarters):
    a client first seen before it has been seen for six months or more by the period's end."""
    return period.quarters()[-REASSESS_MONTHS // 3].start


def _reassessed(
    extract: Extract, ind: Individuals, used: _Rows, la_codes: list[str], sites: pd.DataFrame
) -> CellSet:
    """Reassessment at six-month intervals, per site, LA and the area: of the individuals seen
    there in the period, those *due* (their first contact there, an NSP visit, intervention or
    assessment at any date, is before the period's last six months: seen for six months or
    more), split into those *with* an assessment there dated in the last six months and those
    *without*. due = with + without; due is at most the unit's seen count, with at most its
    "with an assessment" count (an assessment in the last six months is one in the period)."""
    start = reassessment_start(ind.period)
    clients, site_codes = extract["clients.csv"], sites["site_code"]

    def rows(name: str, column: str, keep: Callable[[pd.Series], pd.Series]) -> pd.DataFrame:
        frame = extract[name]
        frame = frame[keep(frame[column]).to_numpy(dtype=bool)]
        return pd.DataFrame(
            {
                "person": row_persons(frame, clients, ind.person_of),
                "site": positions(frame["site_code"], site_codes),
            }
        )

    early = pd.concat(
        [
            rows(name, column, lambda d: d < start)
            for name, column in (
                ("nsp_transactions.csv", "visit_date"),
                ("interventions.csv", "intervention_date"),
                ("assessments.csv", "assessment_date"),
            )
        ],
        ignore_index=True,
    )
    recent = rows(
        "assessments.csv", "assessment_date", lambda d: (d >= start) & (d <= ind.period.end)
    )
    la_of_site = np.append(used.la_of_site, -1)  # a site's LA position (-1: none, unlisted)
    wide = []
    for unit, seen, ids, unit_of_site in (
        ("site", used.site, list(site_codes), lambda site: site),
        ("la", used.la, la_codes, lambda site: la_of_site[site]),
    ):
        unit_of, who = distinct_pairs(seen, used.person)
        early_at = unit_of_site(early["site"].to_numpy())
        recent_at = unit_of_site(recent["site"].to_numpy())
        due = _has_pair(unit_of, who, early_at, early["person"].to_numpy())
        done = due & _has_pair(unit_of, who, recent_at, recent["person"].to_numpy())
        frame = pd.DataFrame({"unit": unit, "code": ids})
        frame["with"] = np.bincount(unit_of[done], minlength=len(ids)).astype(np.int64)
        frame["due"] = np.bincount(unit_of[due], minlength=len(ids)).astype(np.int64)
        wide.append(frame)
    people = ind.people.index
    due = people.isin(early["person"])
    done = due & people.isin(recent["person"])
    wide.append(
        pd.DataFrame(
            {"unit": ["area"], "code": [TOTAL], "with": [int(done.sum())], "due": [int(due.sum())]}
        )
    )
    table = pd.concat(wide, ignore_index=True)
    table["without"] = table["due"] - table["with"]
    long = table.melt(
        id_vars=["unit", "code"],
        value_vars=["due", "with", "without"],
        var_name="reassessment",
        value_name="individuals",
    )
    long["cell_id"] = reassessed_id(long["code"], long["reassessment"])
    groups, at_most = [], []
    for r in table.itertuples():
        due_id, with_id, without_id = (
            f"reassessed:{r.code}:{part}" for part in ("due", "with", "without")
        )
        groups.append((due_id, [with_id, without_id]))
        at_most.append((due_id, seen_id(r.unit, r.code)))
        at_most.append((with_id, f"assessed:{r.code}:with"))
    return CellSet("reassessed", long, groups, at_most=at_most)


def reassessed_id(code: pd.Series, part: pd.Series) -> pd.Series:
    """The ids of the reassessment cells: ``reassessed:<site, LA code or TOTAL>:<due, with,
    without>``."""
    return "reassessed:" + code + ":" + part


def seen_id(unit: str, code: str) -> str:
    """The id of the count of individuals seen at a site (``site``), in a service LA (``la``)
    or in the area (``area``) in the year."""
    return f"site:{code}" if unit == "site" else svc_id(code, ALL)


def _has_pair(
    unit: np.ndarray, person: np.ndarray, r_unit: np.ndarray, r_person: np.ndarray
) -> np.ndarray:
    """Whether each (unit, person) pair is among the (r_unit, r_person) rows (negative units
    left out)."""
    keep = r_unit >= 0
    size = np.int64(max(person.max(initial=0), r_person.max(initial=0)) + 1)
    known = np.unique(r_unit[keep].astype(np.int64) * size + r_person[keep])
    return np.isin(unit.astype(np.int64) * size + person, known)


def _age_band(age: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The band of each age (``NOT_KNOWN`` where there is none): codes into the labels."""
    values = age.to_numpy(dtype=float, na_value=np.nan)
    code = np.full(len(values), len(AGE_BANDS))
    for i, (lo, hi, _) in enumerate(AGE_BANDS):
        code[(values >= lo) & (values <= hi)] = i
    return code, np.array([label for _, _, label in AGE_BANDS] + [NOT_KNOWN], dtype=object)


def _display_labels(values: pd.Series, threshold: int) -> np.ndarray:
    """Free text as categories, per value: spellings that normalise alike become one (shown in
    their most common spelling); blank is "Not stated". A label is published only when at
    least ``threshold`` individuals share it (it may be personal text; and a label shown only
    when present would say its count is not 0) and it is among the most common few: else
    "Other". Returns the label shown for each value."""
    # every step on the distinct values (a column repeats a few dozen), weighted by their counts
    codes, uniques = pd.factorize(values)  # missing: -1, shown as blank
    codes = np.where(codes < 0, len(uniques), codes)
    text = pd.Series([*uniques.astype(str), ""], dtype=object).str.strip()
    key = normalise_label(text)
    distinct = pd.DataFrame(
        {"key": key, "text": text, "count": np.bincount(codes, minlength=len(text))}
    )
    spelled = (
        distinct.groupby(["key", "text"], sort=False)["count"]
        .sum()
        .reset_index()
        .sort_values(["key", "count", "text"], ascending=[True, False, True])
        .drop_duplicates("key")
        .set_index("key")["text"]
    )
    shown_u = key.map(spelled).where(key != "", NOT_STATED)
    shown_u = shown_u.where(~key.isin(NOT_STATED_KEYS), NOT_STATED)
    named = shown_u != NOT_STATED
    per_key = distinct["count"][named].groupby(key[named]).sum()
    shared = per_key.index[(per_key >= threshold).to_numpy()]
    common = per_key[shared].sort_index(kind="stable").sort_values(ascending=False, kind="stable")
    keep = set(common.index[:TOP_CATEGORIES])
    shown_u = shown_u.where(key.isin(keep) | ~named, OTHER)
    return shown_u.to_numpy(dtype=object)[codes]


def _profile_codes(ind: Individuals, threshold: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per profile dimension: each individual's category, as codes into distinct labels
    (free-text labels shared by fewer than ``threshold`` individuals folded into "Other")."""
    p = ind.people
    main = p["main_substance"]
    # profiles only: where neither an assessment nor an NSP visit names a substance, the
    # substance of the latest intervention in the period (not used for the cohort)
    ints = ind.interventions
    if "substance" in ints:
        missing = main.isna().to_numpy()
        named = ints[
            (ints["substance"] != "").to_numpy()
            & ints["person"].isin(main.index[missing]).to_numpy()
        ]
        last = np.lexsort(
            (
                named["line"].to_numpy(),
                named["intervention_date"].to_numpy(),
                named["person"].to_numpy(),
            )
        )
        who = named["person"].to_numpy()[last]
        latest = np.ones(len(who), dtype=bool)  # each person's last (date, line)
        latest[:-1] = who[1:] != who[:-1]
        from_int = pd.Series(named["substance"].to_numpy()[last][latest], index=who[latest])
        main = main.where(~missing, from_int.reindex(p.index))
    gender, genders = pd.factorize(p["gender"])
    gender_labels = pd.Series([*genders, np.nan], dtype=object).map(GENDERS).fillna(NOT_KNOWN)
    gender_of = gender_labels.to_numpy()[np.where(gender < 0, len(genders), gender)]
    age_codes, age_labels = _age_band(p["age"])
    raw = {
        "gender": gender_of,
        "age_band": age_labels[age_codes],
        "substance_1": _display_labels(display_label(main), threshold),
        "substance_2": _display_labels(display_label(p["substance_2"]), threshold),
        "accommodation": _display_labels(p["accommodation"], threshold),
        "employment": _display_labels(p["employment"], threshold),
        "ethnicity": _display_labels(p["ethnicity"], threshold),
    }
    out = {}
    for dim, labels in raw.items():
        codes, distinct = pd.factorize(labels)
        out[dim] = codes, np.asarray(distinct, dtype=object)
    return out


def profile_categories(ind: Individuals, threshold: int = 5) -> pd.DataFrame:
    """Per individual seen: the category of each profile dimension (one column each)."""
    return pd.DataFrame(
        {dim: labels[codes] for dim, (codes, labels) in _profile_codes(ind, threshold).items()},
        index=ind.people.index,
    )


def _category_order(dimension: str, labels: list[str]) -> list[str]:
    """The categories of a dimension in the order shown, which never depends on a count:
    gender and age bands in their fixed order; free-text labels (``labels``, those present)
    known to the documented vocabulary in its order, then the others alphabetically, then
    "Other" and "Not stated" (both always shown)."""
    if dimension == "gender":
        return [*GENDERS.values(), NOT_KNOWN]
    if dimension == "age_band":
        return [label for _, _, label in AGE_BANDS] + [NOT_KNOWN]
    rank = SUBSTANCE_RANK if dimension.startswith("substance") else VOCABULARY_RANK
    named = [c for c in labels if c not in (OTHER, NOT_STATED)]
    keys = dict(zip(named, normalise_label(pd.Series(named, dtype=object))))
    named = sorted(named, key=lambda c: (rank.get(keys[c], len(rank)), c.casefold(), c))
    return [*named, OTHER, NOT_STATED]


def _profiles(ind: Individuals, threshold: int) -> CellSet:
    """Individuals per cohort and category of each profile dimension, in a fixed order of
    labels; categories add to the cohort's total, cohorts add to ``all``."""
    cohort = positions(ind.people["cohort"], list(COHORTS))
    rows, groups = [], []
    floors: dict[str, int] = {}
    for dim, (codes, labels) in _profile_codes(ind, threshold).items():
        present = np.bincount(codes, minlength=len(labels)) > 0
        order = _category_order(dim, list(labels[present]))
        code = positions(labels, order)[codes]
        keep = code >= 0
        per = np.bincount(
            code[keep] * len(COHORTS) + cohort[keep], minlength=len(order) * len(COHORTS)
        ).reshape(len(order), -1)
        table = _grid(category=order, cohort=list(COHORT_ORDER))
        table["individuals"] = np.column_stack([per.sum(axis=1), per]).reshape(-1).astype(np.int64)
        table.insert(0, "dimension", dim)
        table["order"] = range(len(table))
        table["cell_id"] = "profile:" + dim + ":" + table["category"] + ":" + table["cohort"]
        for c in COHORT_ORDER:
            groups.append((f"total:{c}", list(table.loc[table["cohort"] == c, "cell_id"])))
        for _, part in table.groupby("category", sort=False):
            by = dict(zip(part["cohort"], part["cell_id"]))
            groups.append((by[ALL], [by[c] for c in COHORTS]))
        rows.append(table)
        if dim in FREE_TEXT:  # a label is shown only when threshold people share it
            named = table[(table["cohort"] == ALL) & ~table["category"].isin([OTHER, NOT_STATED])]
            floors.update(dict.fromkeys(named["cell_id"], threshold))
    table = pd.concat(rows, ignore_index=True)
    residual = list(table.loc[table["category"].isin(RESIDUAL), "cell_id"])
    return CellSet("profiles", table, groups, floors=floors, residual=residual)


def _trend(
    extract: Extract,
    ind: Individuals,
    sites: pd.DataFrame,
    la_codes: list[str],
    limit: int,
    rows: _Rows,
) -> tuple[CellSet, CellSet, list[TrendYear]]:
    """Individuals per cohort and activity (NSP visits, returns, interventions) per service LA
    and in the area, in every financial year of the trend (:func:`trends.trend_years`), each
    counted by the same rules. The drop's own year is the service-LA and area cells; another
    year's cells are ``trend:<year>:<la>:<cohort>`` and, the area, ``trend:<year>:<cohort>``
    (cohorts add to all; an LA is at most the area) and ``tact:<kind>:<year>:<la or TOTAL>``
    (the LAs add to the area where no activity is elsewhere). The drop's own year has no
    activity cells: its activity is the sum of its published quarters
    (:func:`render.reports.trend_tables`). ``rows``: the drop's own activity rows, counted
    again only for another year."""
    years = trend_years(extract, ind.period, limit)
    units = [*la_codes, TOTAL]
    people_rows: list[tuple[str, str, list[str], np.ndarray]] = []
    activity_rows_: list[tuple[str, str, list[str], np.ndarray]] = []
    groups: list[tuple[str, list[str]]] = []
    act_groups: list[tuple[str, list[str]]] = []
    at_most: list[tuple[str, str]] = []
    act_at_most: list[tuple[str, str]] = []
    bounds: list[ActivityBound] = []
    for ty in years:
        label = ty.year.label
        own = same_months(ty.year, ind.period)
        counts = count_year(
            year_individuals(extract, ind, ty.year),
            sites,
            la_codes,
            (rows.person, rows.la) if own else None,
        )
        ids = [
            [
                svc_id(u, c)
                if own
                else (f"trend:{label}:{c}" if u == TOTAL else f"trend:{label}:{u}:{c}")
                for c in COHORT_ORDER
            ]
            for u in units
        ]
        for u, row_ids, values in zip(units, ids, counts.people):
            people_rows.append((label, u, row_ids, values))
            if not own:
                groups.append((row_ids[0], row_ids[1:]))
                if u != TOTAL:
                    at_most.extend(zip(row_ids, ids[-1]))
        if own:  # its activity is the sum of its published quarters (``act:`` cells)
            continue
        act = {(kind, u): f"tact:{kind}:{label}:{u}" for kind in TREND_ACTIVITY for u in units}
        for i, u in enumerate(units):
            activity_rows_.append(
                (label, u, [act[kind, u] for kind in TREND_ACTIVITY], counts.activity[i])
            )
        for k, kind in enumerate(TREND_ACTIVITY):
            if not counts.elsewhere[k]:  # the LAs add to the area
                act_groups.append((act[kind, TOTAL], [act[kind, la] for la in la_codes]))
        area_rows = float(counts.activity[-1][[0, 2]].sum())
        for i, u in enumerate(units):
            bounds.append(
                ActivityBound(
                    ids[i][0],
                    (act["nsp_visits", u], act["interventions", u]),
                    area_rows if u != TOTAL else np.inf,
                    tuple(act[kind, u] for kind in TREND_ACTIVITY),
                )
            )
            act_at_most.append((act["nsp_returns", u], act["nsp_visits", u]))
    partial = {ty.year.label: ty.partial for ty in years}

    def frame(rows: list, columns: list[str]) -> pd.DataFrame:
        records = [
            (year, unit, name, cell, int(v))
            for year, unit, cells, values in rows
            for name, cell, v in zip(columns, cells, values)
        ]
        out = pd.DataFrame(
            records, columns=["year", "la_code", "measure", "cell_id", "individuals"]
        )
        out.insert(1, "partial", out["year"].map(partial).fillna("") != "")
        return out

    people = frame(people_rows, list(COHORT_ORDER)).rename(columns={"measure": "cohort"})
    activity = frame(activity_rows_, list(TREND_ACTIVITY)).rename(columns={"measure": "kind"})
    activity["individuals"] = activity["individuals"].astype(np.int64)
    return (
        CellSet("trend", people, groups, at_most=at_most),
        CellSet(
            "trend_activity",
            activity,
            act_groups,
            people=False,
            bounds=bounds,
            at_most=act_at_most,
        ),
        years,
    )


ACTIVITY_COLUMNS = (
    "nsp_visits",
    "nsp_returns",
    "interventions",
    "wellbeing_reviews",
    "referrals_in",
    "referrals_out",
)


def _site_events(
    extract: Extract, ind: Individuals, rows: _Rows, sites: pd.DataFrame
) -> dict[str, np.ndarray]:
    """Events in the period per kind (an ``ACTIVITY_COLUMNS`` name): counts per site (rows:
    those of ``sites``, then one for sites not listed) and quarter (columns)."""
    n = len(sites)

    def count(site: np.ndarray, quarter: np.ndarray) -> np.ndarray:
        site = np.where(site >= 0, site, n)
        return np.bincount(
            site * len(QUARTERS) + quarter - 1, minlength=(n + 1) * len(QUARTERS)
        ).reshape(n + 1, len(QUARTERS))

    def events(frame: pd.DataFrame, date_col: str, mask: pd.Series | None = None) -> np.ndarray:
        keep = ind.period.contains(frame[date_col])
        if mask is not None:
            keep &= mask
        f = frame[keep]
        return count(
            positions(f["site_code"], sites["site_code"]), fiscal_quarter(f[date_col]).to_numpy()
        )

    visits = rows.take(slice(None, rows.visits))
    returned = (ind.nsp["returned"] == "Y").to_numpy()
    ints = rows.take(slice(rows.visits, None))
    ref = extract["referrals.csv"]
    return {
        "nsp_visits": count(visits.site, visits.quarter),
        "nsp_returns": count(visits.site[returned], visits.quarter[returned]),
        "interventions": count(ints.site, ints.quarter),
        "wellbeing_reviews": events(extract["wellbeing.csv"], "review_date"),
        "referrals_in": events(ref, "referral_date", ref["direction"] == "IN"),
        "referrals_out": events(ref, "referral_date", ref["direction"] == "OUT"),
    }


def _activity(
    events: dict[str, np.ndarray], la_of_site: np.ndarray, unit: str, codes: list[str]
) -> pd.DataFrame:
    """Activity per unit (site, or service LA with the area as ``TOTAL``) and quarter, from
    the events per site (:func:`_site_events`)."""
    out = _grid(**{unit: codes}, quarter=list(QUARTERS))
    for col in ACTIVITY_COLUMNS:
        per_site = events[col]
        if unit == "la_code":
            las = len(codes) - 1
            in_la = la_of_site >= 0
            per_la = np.zeros((las, len(QUARTERS)), dtype=np.int64)
            np.add.at(per_la, la_of_site[in_la], per_site[:-1][in_la])
            counts = np.vstack([per_la, per_site.sum(axis=0)])
        else:
            counts = per_site[:-1]
        out[col] = counts.reshape(-1).astype(np.int64)
    return out[[unit, "quarter", *ACTIVITY_COLUMNS]]


def _completion(
    assessments: pd.DataFrame,
    period: Period,
    la_of: pd.Series,
    la_codes: list[str],
    site_codes: list[str],
) -> pd.DataFrame:
    """Assessments dated in the period per site, per LA and in the area, and the percentage
    of them completing each assessment item (NaN where there are none): an item is complete
    when it is :func:`answered` ("Not stated", "Not known" or blank is not)."""
    a = assessments[period.contains(assessments["assessment_date"])]
    filled = pd.DataFrame(
        {
            "site_code": a["site_code"],
            "assessment_date": a["assessment_date"].notna(),
            "substance_1": answered(a["substance_1"]),
            "accommodation": answered(a["accommodation"]),
            "employment": answered(a["employment"]),
            "parental_status": answered(a["parental_status"]),
            "postcode_or_la": answered(a["postcode"]) | answered(a["local_authority"]),
        }
    )
    filled["la_code"] = filled["site_code"].map(la_of)
    parts = []
    for unit, key, codes in (
        ("site", "site_code", site_codes),
        ("la", "la_code", la_codes),
        ("area", None, [TOTAL]),
    ):
        grouped = (
            filled.groupby(key)[list(ASSESSMENT_ITEMS)]
            if key
            else filled.assign(_all=TOTAL).groupby("_all")[list(ASSESSMENT_ITEMS)]
        )
        out = grouped.mean().mul(100).reindex(codes)
        out.insert(0, "assessments", grouped.size().reindex(codes).fillna(0).astype(np.int64))
        out.index.name = "code"
        parts.append(out.reset_index().assign(unit=unit))
    return pd.concat(parts, ignore_index=True)


BOUNDED = ("nsp_visits", "nsp_returns", "interventions")  # activity that bounds people
ROWS_OF_PEOPLE = ("nsp_visits", "interventions")  # every activity row is one of these


def activity_id(kind: str, code: str, quarter: int | None = None) -> str:
    """The id of an activity cell: ``act:<kind>:<site or LA code>`` for a site's year (as
    ``suppress._register`` names it), with ``:q<n>`` for a quarter."""
    return f"act:{kind}:{code}" + ("" if quarter is None else f":q{quarter}")


def activity_cells(
    site_activity: pd.DataFrame,
    la_activity: pd.DataFrame,
    sites: pd.DataFrame,
    la_codes: list[str],
    events: dict[str, np.ndarray],
) -> CellSet:
    """The activity figures that bound counts of people (NSP visits, returns, interventions
    per site and quarter, per service LA and quarter, in the area per quarter) as cells: a
    site's quarters add to its year; the sites of an LA to the LA; the LAs and the sites
    outside them to the area. Bounds: individuals seen at a site (in an LA, the area) in a
    quarter or the year are at most its visits and interventions and at least 1 where there
    is one; intervention clients likewise from interventions; returns are at most visits."""
    codes = list(sites["site_code"])
    la_of = dict(zip(sites["site_code"], sites["la_code"]))
    ids, values = [], []
    for frame, key, unit in (
        (site_activity, "site_code", codes),
        (la_activity, "la_code", [*la_codes, TOTAL]),
    ):
        grid = pd.MultiIndex.from_product([unit, QUARTERS])  # per code, quarter, kind
        block = frame.set_index([key, "quarter"]).loc[grid, list(BOUNDED)]
        ids += [activity_id(kind, code, q) for code, q in grid for kind in BOUNDED]
        values += block.to_numpy(np.int64).reshape(-1).tolist()
    table = pd.DataFrame({"cell_id": ids, "individuals": np.asarray(values, dtype=np.int64)})
    value = dict(zip(ids, values))

    groups, bounds, at_most = activity_relations(
        codes, la_of, la_codes, value.__getitem__, lambda kind, q: not events[kind][-1, q - 1]
    )
    return CellSet("activity", table, groups, people=False, bounds=bounds, at_most=at_most)


def activity_relations(
    codes: list[str],
    la_of: dict[str, str],
    la_codes: list[str],
    value: Callable[[str], float],
    area_adds_up: Callable[[str, int], bool],
) -> tuple[list[tuple[str, list[str]]], list[ActivityBound], list[tuple[str, str]]]:
    """The groups, bounds and ``at_most`` pairs of the activity cells (:func:`activity_cells`),
    declared once for the build and for the audit's reading of the published files:
    ``value`` gives an activity cell's figure (NaN where not shown: no cap from it),
    ``area_adds_up`` (kind, quarter) whether the area adds its LAs and the sites outside them
    (no activity elsewhere)."""

    def rows(code: str, quarters: tuple[int, ...] = QUARTERS) -> float:
        total = sum(value(activity_id(k, code, q)) for k in ROWS_OF_PEOPLE for q in quarters)
        return np.inf if np.isnan(total) else float(total)

    groups: list[tuple[str, list[str]]] = []
    bounds: list[ActivityBound] = []
    at_most: list[tuple[str, str]] = []
    in_drop = set(la_codes)
    outside = [c for c in codes if la_of.get(c) not in in_drop]
    sites_of: dict[str, list[str]] = {la: [] for la in la_codes}  # each LA's sites, in order
    for c in codes:
        if la_of.get(c) in in_drop:
            sites_of[la_of[c]].append(c)
    for kind in BOUNDED:
        for code in codes:  # a site's quarters add to its year (site_activity.csv)
            groups.append(
                (activity_id(kind, code), [activity_id(kind, code, q) for q in QUARTERS])
            )
        for q in QUARTERS:
            for la in la_codes:
                parts = [activity_id(kind, c, q) for c in sites_of[la]]
                groups.append((activity_id(kind, la, q), parts))
            # the area: its LAs and the sites outside them (when no activity is elsewhere)
            if area_adds_up(kind, q):
                parts = [activity_id(kind, la, q) for la in la_codes]
                parts += [activity_id(kind, c, q) for c in outside]
                groups.append((activity_id(kind, TOTAL, q), parts))
    for code in codes:
        site_la = la_of.get(code)
        home = (
            str(site_la) if site_la in in_drop else TOTAL
        )  # the unit whose activity caps the site's
        year_row = tuple(activity_id(k, code, q) for q in (None, *QUARTERS) for k in BOUNDED)
        bounds.append(
            ActivityBound(
                f"site:{code}",
                tuple(activity_id(k, code) for k in ROWS_OF_PEOPLE),
                rows(home),
                year_row,
            )
        )
        for q in QUARTERS:
            bounds.append(
                ActivityBound(
                    f"siteq:{code}:q{q}",
                    tuple(activity_id(k, code, q) for k in ROWS_OF_PEOPLE),
                    rows(home, (q,)),
                    tuple(activity_id(k, code, q) for k in BOUNDED),
                )
            )
            at_most.append(
                (activity_id("nsp_returns", code, q), activity_id("nsp_visits", code, q))
            )
    for la in [*la_codes, TOTAL]:
        cap = rows(TOTAL) if la != TOTAL else np.inf
        bounds.append(
            ActivityBound(
                svc_id(la, ALL),
                tuple(activity_id(k, la, q) for k in ROWS_OF_PEOPLE for q in QUARTERS),
                cap,
                tuple(activity_id(k, la, q) for k in BOUNDED for q in QUARTERS),
            )
        )
        for q in QUARTERS:
            q_cap = rows(TOTAL, (q,)) if la != TOTAL else np.inf
            bounds.append(
                ActivityBound(
                    f"laq:{la}:q{q}:{ALL}",
                    tuple(activity_id(k, la, q) for k in ROWS_OF_PEOPLE),
                    q_cap,
                    tuple(activity_id(k, la, q) for k in BOUNDED),
                )
            )
            i_cap = value(activity_id("interventions", TOTAL, q)) if la != TOTAL else np.inf
            bounds.append(
                ActivityBound(
                    f"laqi:{la}:q{q}",
                    (activity_id("interventions", la, q),),
                    np.inf if np.isnan(i_cap) else float(i_cap),
                    (activity_id("interventions", la, q),),
                )
            )
            at_most.append((activity_id("nsp_returns", la, q), activity_id("nsp_visits", la, q)))
    return groups, bounds, at_most
