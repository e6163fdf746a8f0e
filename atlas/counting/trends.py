"""Trends across financial years (spec section 5: ``[reports] trend_years``): which years the
extract covers, which only in part, and each year's counts, by the rules of spec section 2 with
the year as the period.

A year is shown when it ends on or before the drop's period does, from the first year with any
activity, at most ``limit`` of them (the most recent). It is *partial* when the extract records
no activity (NSP visit or intervention) in one of its 12 months, or starts or ends more than
``GRACE_DAYS`` inside it: such a year is marked, never drawn as a whole one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..extract.reader import Extract
from .individuals import COHORTS, Individuals, build_individuals
from .periods import FinancialYear, Period, financial_year_start
from .tally import activity_rows, cohort_of, distinct_people, positions

GRACE_DAYS = 7  # an extract starting on 3 April still covers the year from 1 April
TREND_ACTIVITY = ("nsp_visits", "nsp_returns", "interventions")


@dataclass(frozen=True)
class TrendYear:
    """A financial year of the trend and how much of it the extract covers."""

    year: FinancialYear
    months: int  # months of the year in which the extract records any activity
    partial: str  # why the extract covers the year only in part ("" when it covers it whole)


@dataclass
class YearCounts:
    """One year's counts per LA of the drop (rows, in ``la_codes`` order) and in the area (the
    last row): ``people`` columns all then each of ``COHORTS`` (service LA: a person counts in
    every LA where they used a site); ``activity`` columns ``TREND_ACTIVITY``. ``elsewhere``:
    the activity at sites outside the drop's LAs or not listed (the area minus its LAs)."""

    people: np.ndarray
    activity: np.ndarray
    elsewhere: np.ndarray


def trend_years(extract: Extract, period: Period, limit: int) -> list[TrendYear]:
    """The financial years of the trend, oldest first: from the first with any activity to the
    last ending on or before ``period``'s end, at most ``limit`` (the most recent)."""
    dates = np.concatenate(
        [
            extract["nsp_transactions.csv"]["visit_date"].to_numpy(dtype="datetime64[ns]"),
            extract["interventions.csv"]["intervention_date"].to_numpy(dtype="datetime64[ns]"),
        ]
    )
    dates = dates[~np.isnat(dates)]
    if not len(dates):
        return []
    first, last = pd.Timestamp(dates.min()), pd.Timestamp(dates.max())
    months = pd.Series(np.unique(dates.astype("datetime64[M]")).astype("datetime64[ns]"))
    per_year = financial_year_start(months).value_counts()
    end_year = int(financial_year_start(pd.Series([period.end + pd.Timedelta(days=1)]))[0]) - 1
    start_year = max(int(financial_year_start(pd.Series([first]))[0]), end_year - limit + 1)
    out = []
    for start in range(start_year, end_year + 1):
        fy = FinancialYear(start)
        covered = int(per_year.get(start, 0))
        why = []
        if covered < 12:
            why.append(f"activity recorded in {covered} of its 12 months")
        if first > fy.start + pd.Timedelta(days=GRACE_DAYS):
            why.append(f"the extract's activity starts in {first:%B %Y}")
        if last < fy.end - pd.Timedelta(days=GRACE_DAYS):
            why.append(f"the extract's activity ends in {last:%B %Y}")
        out.append(TrendYear(fy, covered, "; ".join(why)))
    return out


def same_months(a: Period, b: Period) -> bool:
    """Whether two periods cover the same 12 months (2017-18 and 2017-18 Q4 do)."""
    return (a.start, a.end) == (b.start, b.end)


def year_individuals(extract: Extract, ind: Individuals, year: FinancialYear) -> Individuals:
    """The individuals of a trend year: the drop's own where the year is its period, else
    built by the same rules (cohorts only)."""
    if same_months(year, ind.period):
        return ind
    return build_individuals(extract, year, ind.person_of, cohorts_only=True)


def count_year(
    ind: Individuals,
    sites: pd.DataFrame,
    la_codes: list[str],
    person_la: tuple[np.ndarray, np.ndarray] | None = None,
) -> YearCounts:
    """Individuals per cohort and activity per service LA and in the area, in ``ind``'s
    period. ``person_la``: the person and the LA (position in ``la_codes``, -1: none) of each of
    :func:`tally.activity_rows`, when the caller has them already."""
    n = len(la_codes)
    if person_la is None:
        person, site = activity_rows(ind, sites)
        la = np.append(positions(sites["la_code"], la_codes), -1)[site]
    else:
        person, la = person_la
    cohort = cohort_of(ind.people)[person]
    per_la = distinct_people(
        np.where(la >= 0, la * len(COHORTS) + cohort, -1), person, n * len(COHORTS)
    ).reshape(n, len(COHORTS))
    area = np.bincount(cohort_of(ind.people)[ind.people.index], minlength=len(COHORTS))
    by_cohort = np.vstack([per_la, area])
    people = np.column_stack([by_cohort.sum(axis=1), by_cohort]).astype(np.int64)
    visits = len(ind.nsp)
    returned = np.zeros(len(person), dtype=bool)
    returned[:visits] = (ind.nsp["returned"] == "Y").to_numpy()
    kinds = [np.arange(len(person)) < visits, returned, np.arange(len(person)) >= visits]
    activity = np.zeros((n + 1, len(TREND_ACTIVITY)), dtype=np.int64)
    elsewhere = np.zeros(len(TREND_ACTIVITY), dtype=np.int64)
    for k, rows in enumerate(kinds):
        activity[:n, k] = np.bincount(la[rows & (la >= 0)], minlength=n)
        activity[n, k] = int(rows.sum())
        elsewhere[k] = int((rows & (la < 0)).sum())
    return YearCounts(people, activity, elsewhere)
