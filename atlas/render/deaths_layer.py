"""The drug-related deaths as a layer of the atlas page ([linkage] deaths): the latest year's
published deaths per local authority of residence, at the LA level only.

Added through the page's own layer data: one more entry of ``cohorts`` (id
``drd:<year>``, so that the audit knows the year of the cells it shows) with values in the
LA level's ``values``, like a cohort's. Only the published (protected) counts are shown; the
rate measure is left empty (the deaths' rate is per 100,000, in the report's table).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..disclosure.suppress import Published
from .classify import class_breaks

DEATHS_SET = "linkage_deaths"
LAYER = "drd"


def add_deaths_layer(data: dict[str, Any], published: Published, scheme: str) -> None:
    """Add the deaths layer to the page data (in place) when the drop counts deaths."""
    cells = published.extra.get(DEATHS_SET)
    la = next((lv for lv in data["levels"] if lv["id"] == "la"), None)
    if cells is None or la is None or not len(cells):
        return
    year = str(max(cells["year"]))
    deaths = cells[(cells["year"] == year) & (cells["measure"] == "deaths")]
    by_code = dict(zip(deaths["la_code"], deaths["individuals"]))
    n = [None if pd.isna(by_code.get(c, np.nan)) else int(by_code[c]) for c in la["codes"]]
    empty: list[Any] = [None] * len(n)
    layer = f"{LAYER}:{year}"
    la["values"][layer] = {"n": n, "rate": empty, "lo": empty, "hi": empty}
    counts = np.array([np.nan if v is None else v for v in n], dtype=float)
    la["breaks"][layer] = {"n": class_breaks(counts, scheme), "rate": []}
    data["cohorts"].append([layer, f"Drug-related deaths {year} (by LA of residence)"])
