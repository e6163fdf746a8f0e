"""Individuals per postcode match level: counts of people, so cells like any other.

The ledger reports how well residence postcodes matched (spec section 2, *Geocoding*). Those
are counts of individuals, so they are registered with disclosure control as a ``CellSet``:
one cell per level, ``match:<level>``, the levels adding to the area's ``total:all`` cell.
Protected with the tables, a small level is suppressed (and another with it where one alone
could be worked out) and every level is rounded when the drop rounds.
"""

from __future__ import annotations

import pandas as pd

from ..geography.geocode import MATCH_LEVELS
from .individuals import ALL
from .report_counts import CellSet

NAME = "match_levels"


def match_level_cells(people: pd.DataFrame) -> CellSet:
    """One cell per match level (every level, 0 included) of ``people["match_level"]``."""
    counts = people["match_level"].value_counts()
    table = pd.DataFrame(
        {
            "match_level": list(MATCH_LEVELS),
            "cell_id": [f"match:{level}" for level in MATCH_LEVELS],
            "individuals": [int(counts.get(level, 0)) for level in MATCH_LEVELS],
        }
    )
    return CellSet(NAME, table, [(f"total:{ALL}", table["cell_id"].tolist())])
