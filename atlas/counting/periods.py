"""Financial years and quarters (spec section 2, *Periods*).

Financial years run 1 April to 31 March and are written ``2017-18``; quarters are Q1 Apr-Jun,
Q2 Jul-Sep, Q3 Oct-Dec, Q4 Jan-Mar.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

_FY_RE = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class FinancialYear:
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

    def contains(self, dates: pd.Series) -> pd.Series:
        """Vectorised: which dates fall in this year (inclusive)."""
        return (dates >= self.start) & (dates <= self.end)

    def quarter_labels(self) -> list[str]:
        return [f"{self.label} Q{q}" for q in (1, 2, 3, 4)]

    def __str__(self) -> str:
        return self.label


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
