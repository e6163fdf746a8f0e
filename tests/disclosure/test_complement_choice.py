"""The complement disclosure control picks is the cell that costs least (issue 16, item 6):
fewest people, a "Not known"/"Not stated"/"Other" row at half its people, counting the
complement the pick would need in its other group.

The hand-made group is the age profile of the Cheshire & Merseyside-sized drop, whose
"55 and over" row was suppressed for every cohort (1,217 people in "All individuals") to
protect 3 people: with ``(55+, IPEDs) = 3`` hidden, the old choice took (55+, psychoactive)
449 for the row, (Not known, IPEDs) 35 for the column, then (Not known, BI) 45 for the Not
known row (fewer than its psychoactive 56) and so (55+, BI) 765 for the BI column and
(Not known, psychoactive) 56 for the psychoactive one: six cells, 1,353 people. Counting
the complement each pick sets off, (Not known, psychoactive) closes both its row and its
column: four cells, 543 people, and 55+ BI and the 55+ total stay published.
"""

from __future__ import annotations

import pandas as pd
import pytest

from atlas.counting.individuals import ALL, COHORTS
from atlas.disclosure.suppress import CellTable

PSY, IPEDS, BI = COHORTS
AGE = {  # category -> (psychoactive, IPEDs, BI)
    "18–24": (337, 1741, 1058),
    "25–34": (2114, 4300, 1794),
    "35–44": (4174, 1994, 2106),
    "45–54": (2373, 177, 1482),
    "55 and over": (449, 3, 765),
    "Not known": (56, 35, 45),
}


def _table(profile: dict[str, tuple[int, ...]], residual: tuple[str, ...] = ()) -> CellTable:
    """Categories x cohorts (all = the cohorts; each cohort's categories add to its total)."""
    cells = CellTable()
    ids, values = [], []
    for cat, row in profile.items():
        ids += [f"{cat}:{c}" for c in (ALL, *COHORTS)]
        values += [sum(row), *row]
        cells.group(f"{cat}:{ALL}", [f"{cat}:{c}" for c in COHORTS])
    for k, c in enumerate((ALL, *COHORTS)):
        ids.append(f"total:{c}")
        values.append(sum(sum(r) if c == ALL else r[k - 1] for r in profile.values()))
        cells.group(f"total:{c}", [f"{cat}:{c}" for cat in profile])
    cells.add(pd.Series(ids), pd.Series(values))
    cells.residual.update(f"{cat}:{c}" for cat in residual for c in (ALL, *COHORTS))
    return cells


def test_the_55_and_over_row_is_not_hidden_to_protect_three_people():
    hidden, primary = _table(AGE, residual=("Not known",)).suppress(5)
    assert primary == 1
    assert hidden == {
        f"55 and over:{IPEDS}",
        f"55 and over:{PSY}",
        f"Not known:{IPEDS}",
        f"Not known:{PSY}",
    }


@pytest.mark.parametrize(
    ("not_known", "smallest_real", "complement"),
    [
        (30, 20, "Not known"),  # 30 people in no category cost 15: hidden before 20 in one
        (30, 14, "B"),  # fewer people still win: 14 < 15
        (30, 40, "Not known"),
    ],
)
def test_a_not_known_row_costs_half_its_people(not_known, smallest_real, complement):
    """One cohort column: (A, IPEDs) = 2 is suppressed; its complement in the column is the
    Not known row or the smallest real category B, whichever costs least. Either row (its
    cohorts) would then need one more, at the same cost (B's 100 people; Not known's 200,
    halved), so the column's own cost decides."""
    profile = {
        "A": (100, 2, 100),
        "B": (100, smallest_real, 100),
        "C": (100, 500, 100),
        "Not known": (200, not_known, 200),
    }
    hidden, _ = _table(profile, residual=("Not known",)).suppress(5)
    assert f"{complement}:{IPEDS}" in hidden
    other = "B" if complement == "Not known" else "Not known"
    assert f"{other}:{IPEDS}" not in hidden
