"""Financial years, quarters and the 12 months a drop covers (spec section 2, *Periods*; spec
section 5, *Quarter periods*).

Financial years run 1 April to 31 March and are written ``2017-18``; quarters are Q1 Apr-Jun,
Q2 Jul-Sep, Q3 Oct-Dec, Q4 Jan-Mar. A drop's period is written ``2017-18`` (a financial year) or
``2018-19 Q2`` (a quarter: its 12 months are the four quarters ending with it, 1 October 2017 -
30 September 2018). Either way a period is 12 months holding each quarter number once, so a
quarter of the period is known by its number (1..4) and its place in the 12 months.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import pandas as pd

_FY_RE = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER_RE = re.compile(r"^(\d{4}-\d{2}) Q(\d)$")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def long_date(day: pd.Timestamp) -> str:
    """``1 October 2017``."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


class _Span(ABC):
    """What a financial year and the 12 months ending with a quarter share: 12 months from
    ``start`` to ``end`` (inclusive), written ``label``."""

    @property
    @abstractmethod
    def label(self) -> str: ...

    @property
    @abstractmethod
    def start(self) -> pd.Timestamp: ...

    @property
    @abstractmethod
    def end(self) -> pd.Timestamp:
        """The last day, inclusive."""

    def contains(self, dates: pd.Series) -> pd.Series:
        """Vectorised: which dates fall in the 12 months (inclusive)."""
        return (dates >= self.start) & (dates <= self.end)

    @property
    def months(self) -> str:
        """``1 April 2017 – 31 March 2018``."""
        return f"{long_date(self.start)} – {long_date(self.end)}"

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True, order=True)
class FinancialYear(_Span):
    """A financial year, e.g. ``FinancialYear(2017)`` is 2017-18."""

    start_year: int

    @classmethod
    def parse(cls, text: str) -> FinancialYear:
        """Parse ``YYYY-YY``; the second year must follow the first (``2017-18``)."""
        m = _FY_RE.match(text.strip())
        if not m or (int(m.group(1)) + 1) % 100 != int(m.group(2)):
            raise ValueError(f"not a financial year: {text!r}")
        return cls(int(m.group(1)))

    @property
    def label(self) -> str:
        return f"{self.start_year}-{(self.start_year + 1) % 100:02d}"

    @property
    def start(self) -> pd.Timestamp:
        return pd.Timestamp(self.start_year, 4, 1)

    @property
    def end(self) -> pd.Timestamp:
        """The last day of the year (31 March), inclusive."""
        return pd.Timestamp(self.start_year + 1, 3, 31)

    def quarters(self) -> list[Quarter]:
        """The year's quarters, Q1 to Q4."""
        return [Quarter(self, n) for n in (1, 2, 3, 4)]

    @property
    def last_quarter(self) -> Quarter:
        return Quarter(self, 4)

    @property
    def heading(self) -> str:
        """How titles name the period: ``financial year 2017-18 (1 April to 31 March)``."""
        return f"financial year {self.label} (1 April to 31 March)"

    @property
    def full_year(self) -> str:
        """How the reports name the 12 months: ``the full year 2017-18``."""
        return f"the full year {self.label}"


@dataclass(frozen=True, order=True)
class Quarter:
    """A quarter of a financial year: ``Quarter(FinancialYear(2018), 2)`` is 2018-19 Q2."""

    year: FinancialYear
    number: int  # 1..4: Q1 Apr-Jun ... Q4 Jan-Mar

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """Parse ``YYYY-YY Qn`` (n from 1 to 4), e.g. ``2018-19 Q2``."""
        m = _QUARTER_RE.match(text.strip())
        if not m or not 1 <= int(m.group(2)) <= 4:
            raise ValueError(f"not a quarter: {text!r}")
        return cls(FinancialYear.parse(m.group(1)), int(m.group(2)))

    @property
    def label(self) -> str:
        """``2018-19 Q2``, as a recipe writes it."""
        return f"{self.year.label} Q{self.number}"

    @property
    def short(self) -> str:
        """``Q2 2018-19``, as a report's quarter column is headed."""
        return f"Q{self.number} {self.year.label}"

    @property
    def start(self) -> pd.Timestamp:
        return self.year.start + pd.DateOffset(months=3 * (self.number - 1))

    @property
    def end(self) -> pd.Timestamp:
        return self.start + pd.DateOffset(months=3) - pd.Timedelta(days=1)

    def previous(self) -> Quarter:
        if self.number == 1:
            return Quarter(FinancialYear(self.year.start_year - 1), 4)
        return Quarter(self.year, self.number - 1)


@dataclass(frozen=True)
class TwelveMonths(_Span):
    """The 12 months ending with a quarter, a drop's period written ``2018-19 Q2``: the four
    quarters ending with it (here 1 October 2017 – 30 September 2018)."""

    last_quarter: Quarter

    @property
    def label(self) -> str:
        return self.last_quarter.label

    def quarters(self) -> list[Quarter]:
        """The four quarters, oldest first (the last is ``last_quarter``)."""
        out = [self.last_quarter]
        while len(out) < 4:
            out.insert(0, out[0].previous())
        return out

    @property
    def start(self) -> pd.Timestamp:
        return self.quarters()[0].start

    @property
    def end(self) -> pd.Timestamp:
        return self.last_quarter.end

    @property
    def heading(self) -> str:
        """``Quarter 2 2018-19: 12 months 1 October 2017 – 30 September 2018``."""
        q = self.last_quarter
        return f"Quarter {q.number} {q.year.label}: 12 months {self.months}"

    @property
    def full_year(self) -> str:
        """How the reports name the 12 months: ``the 12 months 1 October 2017 – ...``."""
        return f"the 12 months {self.months}"


Period = FinancialYear | TwelveMonths  # what a drop covers: 12 months, its quarters by number


def parse_period(text: str) -> Period:
    """A drop's period: ``2017-18`` (a financial year) or ``2018-19 Q2`` (the 12 months ending
    with that quarter). ``ValueError`` for anything else."""
    text = text.strip()
    if _FY_RE.match(text):
        return FinancialYear.parse(text)
    return TwelveMonths(Quarter.parse(text))


def financial_year_start(dates: pd.Series) -> pd.Series:
    """Vectorised: the start year of the financial year of each date (2018-02-01 -> 2017)."""
    years = dates.dt.year
    return (years - (dates.dt.month < 4).astype(int)).astype("Int64")


def fiscal_quarter(dates: pd.Series) -> pd.Series:
    """Vectorised: the quarter number 1..4 of each date within its financial year."""
    month = dates.dt.month
    return pd.Series(
        np.where(month.isna(), 0, ((month - 4) % 12) // 3 + 1), index=dates.index
    ).astype(int)
