"""Periods (spec sections 2 and 5): financial years and quarters, how they are named, and which
financial years a trend shows, each marked whole or partial."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import client, intervention, nsp, write_extract

from atlas.counting.periods import FinancialYear, Quarter, TwelveMonths, parse_period
from atlas.counting.trends import trend_years
from atlas.extract.reader import read_extract


def test_a_quarter_period_is_the_twelve_months_ending_with_it():
    period = parse_period("2018-19 Q2")
    assert period == TwelveMonths(Quarter(FinancialYear(2018), 2))
    assert (period.start, period.end) == (pd.Timestamp("2017-10-01"), pd.Timestamp("2018-09-30"))
    assert period.label == "2018-19 Q2"
    assert [q.short for q in period.quarters()] == [
        "Q3 2017-18",
        "Q4 2017-18",
        "Q1 2018-19",
        "Q2 2018-19",
    ]
    assert period.last_quarter.label == "2018-19 Q2"
    assert period.heading == "Quarter 2 2018-19: 12 months 1 October 2017 – 30 September 2018"
    dates = pd.Series(pd.to_datetime(["2017-09-30", "2017-10-01", "2018-09-30", "2018-10-01"]))
    assert period.contains(dates).tolist() == [False, True, True, False]


def test_a_q1_period_reaches_back_into_the_year_before():
    period = parse_period("2018-19 Q1")
    assert period.months == "1 July 2017 – 30 June 2018"
    assert [q.label for q in period.quarters()] == [
        "2017-18 Q2",
        "2017-18 Q3",
        "2017-18 Q4",
        "2018-19 Q1",
    ]


def test_a_financial_year_stays_one_with_q4_its_last_quarter():
    period = parse_period("2017-18")
    assert period == FinancialYear(2017)
    assert period.last_quarter.label == "2017-18 Q4"
    assert [q.short for q in period.quarters()] == [
        "Q1 2017-18",
        "Q2 2017-18",
        "Q3 2017-18",
        "Q4 2017-18",
    ]
    assert (period.start, period.end) == (pd.Timestamp("2017-04-01"), pd.Timestamp("2018-03-31"))
    q4 = parse_period("2017-18 Q4")  # the same 12 months, named by its quarter
    assert (q4.start, q4.end) == (period.start, period.end)


@pytest.mark.parametrize(
    "bad", ["2018-19 Q5", "2018-19 Q0", "2018/19 Q2", "2018-20", "2018-19Q2", "Q2 2018-19", ""]
)
def test_bad_periods_are_refused(bad):
    with pytest.raises(ValueError):
        parse_period(bad)


def _extract(tmp_path, dates: list[str]):
    """One client with an intervention on each date."""
    folder = write_extract(
        tmp_path / "ex",
        {
            "clients.csv": [client("C1")],
            "interventions.csv": [intervention(f"I{i}", "C1", d) for i, d in enumerate(dates)],
        },
    )
    return read_extract(folder)


def test_a_year_the_extract_covers_in_part_is_marked_partial(tmp_path):
    # 2016-17: activity from 15 June 2016 (10 months); 2017-18: every month, from 3 April to
    # 28 March (inside the week's grace at either end)
    dates = ["2016-06-15", "2016-08-01", *(f"2016-{m:02d}-10" for m in range(9, 13))]
    dates += ["2017-01-05", "2017-02-05", "2017-03-05", "2016-07-20"]
    dates += ["2017-04-03", *(f"2017-{m:02d}-05" for m in range(5, 13))]
    dates += ["2018-01-05", "2018-02-05", "2018-03-28"]
    ex = _extract(tmp_path, dates)
    years = trend_years(ex, FinancialYear(2017), 6)
    assert [(y.year.label, y.months, y.partial) for y in years] == [
        (
            "2016-17",
            10,
            "activity recorded in 10 of its 12 months; the extract's activity starts in June 2016",
        ),
        ("2017-18", 12, ""),
    ]
    # at most trend_years, the most recent
    assert [y.year.label for y in trend_years(ex, FinancialYear(2017), 1)] == ["2017-18"]
    # a quarter's trend stops at the last financial year ending by its end
    assert [y.year.label for y in trend_years(ex, parse_period("2018-19 Q2"), 6)] == [
        "2016-17",
        "2017-18",
    ]
    assert [y.year.label for y in trend_years(ex, parse_period("2017-18 Q3"), 6)] == ["2016-17"]


def test_a_year_with_every_month_but_an_extract_ending_inside_it_is_partial(tmp_path):
    dates = [f"2017-{m:02d}-01" for m in range(4, 13)] + ["2018-01-01", "2018-02-01", "2018-03-10"]
    years = trend_years(_extract(tmp_path, dates), FinancialYear(2017), 6)
    assert [(y.months, y.partial) for y in years] == [
        (12, "the extract's activity ends in March 2018")
    ]


def test_nsp_visits_count_as_activity_too(tmp_path):
    folder = write_extract(
        tmp_path / "ex",
        {
            "clients.csv": [client("C1")],
            "nsp_transactions.csv": [
                nsp(f"T{m}", "C1", f"{2017 + (m < 4)}-{m:02d}-01") for m in range(1, 13)
            ],
            "interventions.csv": [intervention("I1", "C1", "2018-03-31")],
        },
    )
    years = trend_years(read_extract(folder), FinancialYear(2017), 6)
    assert [(y.year.label, y.months, y.partial) for y in years] == [("2017-18", 12, "")]
