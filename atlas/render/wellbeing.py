"""The monitoring report's wellbeing section (WEMWBS reviews; issue 16 item 4), for the area
and each LA pack, with its CSV ``monitoring_wellbeing``: per LA (and the area) the reviews,
the people reviewed, reviewed once and reviewed two or more times, and for those the mean
first and latest score and the mean change.

Only published counts reach the table. Where any of a unit's three counts of people is
withheld, all three are (reviewed = once + twice or more: one withheld count beside the other
two, with the reviews, would be narrowed by the reviews a person can have). A mean is shown
to one decimal only beside a published count of people reviewed twice or more of at least
the threshold, whose true count is at least the threshold too (a perturbed count may be
larger than the true one).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..counting.rates import half_up
from ..counting.tally import TOTAL
from ..counting.wellbeing import MEANS, MEASURES, NAME, wb_id
from ..disclosure.suppress import Published

TABLE = "monitoring_wellbeing"
COLUMNS = ["la_code", "la_name", "reviews", *MEASURES, *MEANS, "suppressed"]


def wellbeing_table(
    published: Published, names: pd.DataFrame, la_activity: pd.DataFrame
) -> pd.DataFrame:
    """``monitoring_wellbeing``: every LA (in the reports' order), then the area (the
    counting left out the means of fewer than the threshold people, and the counts of people
    of a unit with fewer than the threshold reviews, ``wellbeing_cells``). ``la_activity``:
    the activity per LA and quarter as the reports publish it: a unit's reviews are the sum
    of its published quarters, withheld where one is (as in the year in numbers)."""
    people = published.extra.get(NAME)  # None: not counted (reports rendered alone)
    if people is None:
        people = pd.DataFrame(columns=["cell_id", "individuals", *MEANS])
    people = people.set_index("cell_id")
    by = la_activity.groupby("la_code")["wellbeing_reviews"]
    reviews = by.sum().where(by.count() == by.size())  # withheld where a quarter is
    rows = []
    for code, name in zip(names["la_code"], names["la_name"]):
        row: dict[str, Any] = {"la_code": code, "la_name": name}
        row["reviews"] = reviews.get(code, pd.NA)
        counts = {m: people["individuals"].get(wb_id(code, m), pd.NA) for m in MEASURES}
        withheld = any(pd.isna(v) for v in counts.values())
        row.update({m: pd.NA if withheld else v for m, v in counts.items()})
        repeat = row["repeat"]
        shown = not pd.isna(repeat) and repeat >= published.threshold
        for m in MEANS:
            value = people[m].get(wb_id(code, "repeat"), np.nan) if m in people else np.nan
            row[m] = half_up(float(value), 1) if shown and not pd.isna(value) else np.nan
        row["suppressed"] = withheld
        rows.append(row)
    out = pd.DataFrame(rows, columns=COLUMNS)
    for col in ("reviews", *MEASURES):
        out[col] = out[col].astype("Int64")
    for col in MEANS:
        out[col] = out[col].astype(float)
    return out


def wellbeing_rows(tables: dict[str, pd.DataFrame], unit: str) -> list[dict[str, Any]]:
    """The rows the template shows: the unit's (``TOTAL``: every LA, then the area)."""
    t = tables[TABLE]
    if unit != TOTAL:
        t = t[t["la_code"] == unit]
    return [dict(r, total=r["la_code"] == TOTAL) for r in t.to_dict("records")]
