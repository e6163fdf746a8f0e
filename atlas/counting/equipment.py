"""Equipment distributed (issue 16, item 3; NICE PH52 recommendation 4: monitor the number and
types of equipment): the items of the NSP file's item columns (``needles``, ``syringes``,
``bins``, ``swabs``, ``foil``, ``citric``, ``other_items``) handed out in the drop's 12 months,
per service LA (the LA a site lies in; ``TOTAL``: every site of the extract), quarter and site
type.

Items are counts of things, not of people, and no linear relation ties them to a count of
people; what they do tell is that a visit happened (items > 0 at an LA's pharmacies in a
quarter: a visit there then). So a row is published only where every NSP visit figure of the
sites behind it is published (:mod:`atlas.disclosure.equipment`), and then it tells nothing of
people that the visits do not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..extract.reader import ITEM_COLUMNS
from .individuals import Individuals
from .periods import fiscal_quarter
from .report_counts import QUARTERS
from .tally import TOTAL, positions
from .year_numbers import SITE_TYPES

NAME = "equipment"
ITEM_LABELS = {
    "needles": "Needles",
    "syringes": "Syringes",
    "bins": "Bins",
    "swabs": "Swabs",
    "foil": "Foil",
    "citric": "Citric",
    "other_items": "Other items",
}


@dataclass
class EquipmentCounts:
    """Items per unit (the drop's LAs, then ``TOTAL``), quarter and site type (columns
    ``la_code``, ``quarter``, ``site_type``, then one per item); ``recorded``: whether any
    visit of the period records an item count (else the report says the extract has none)."""

    table: pd.DataFrame
    recorded: bool


def count_equipment(ind: Individuals, sites: pd.DataFrame, la_codes: list[str]) -> EquipmentCounts:
    """The items handed out in the period's NSP visits (a blank count adds nothing)."""
    nsp = ind.nsp
    site = positions(nsp["site_code"], sites["site_code"])
    la = np.append(positions(sites["la_code"], la_codes), -1)[site]
    kind = np.append(positions(sites["site_type"], list(SITE_TYPES)), -1)[site]
    quarter = fiscal_quarter(nsp["visit_date"]).to_numpy()
    n_la, n_q, n_t = len(la_codes), len(QUARTERS), len(SITE_TYPES)
    grid = pd.MultiIndex.from_product(
        [[*la_codes, TOTAL], list(QUARTERS), list(SITE_TYPES)],
        names=["la_code", "quarter", "site_type"],
    ).to_frame(index=False)
    recorded = False
    typed = kind >= 0
    for item in ITEM_COLUMNS:
        values = (
            nsp[item].astype("Int64").fillna(0).to_numpy(np.int64)
            if item in nsp
            else np.zeros(len(nsp), dtype=np.int64)
        )
        if item in nsp and bool(nsp[item].notna().any()):
            recorded = True
        cell = (quarter - 1) * n_t + kind
        in_la = typed & (la >= 0)
        per_la = np.bincount(
            la[in_la] * n_q * n_t + cell[in_la], weights=values[in_la], minlength=n_la * n_q * n_t
        )
        area = np.bincount(cell[typed], weights=values[typed], minlength=n_q * n_t)
        grid[item] = np.concatenate([per_la, area]).round().astype(np.int64)
    return EquipmentCounts(grid, recorded)
