"""Which rows of the equipment table (``counting.equipment``) may be published.

Items handed out say that a visit happened: needles given at an LA's pharmacies in a quarter
mean a visit there then, and a visit means at least one person. So a row (LA or area, quarter,
site type) is published only where the NSP visits of every site of that type in that LA (in
the area: every site of that type) in that quarter are published; otherwise every item of the
row is withheld. What a published row tells of people (a visit or none) is then already
published, and no sum of rows can give back a withheld one: the area's row is withheld
whenever one of its LAs' is (its sites are among the area's). The build applies the rule to
the protected activity; the audit checks it on the files (:func:`rows_to_withhold`, one rule
for both).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ..counting.equipment import EquipmentCounts
from ..counting.report_counts import activity_id
from ..counting.tally import TOTAL
from ..extract.reader import ITEM_COLUMNS
from .suppress import Published


def rows_to_withhold(
    table: pd.DataFrame, sites: pd.DataFrame, visits_withheld: Callable[[str, int], bool]
) -> np.ndarray:
    """Per row of an equipment table (``la_code``, ``quarter``, ``site_type``): whether it
    must be withheld, given the sites (``site_code``, ``site_type``, ``la_code``) and whether
    a site's NSP visits in a quarter are withheld."""
    by_unit: dict[tuple[str, str], list[str]] = {}  # (LA or TOTAL, type) -> its sites
    for code, kind, la in zip(sites["site_code"], sites["site_type"], sites["la_code"]):
        by_unit.setdefault((str(la), str(kind)), []).append(str(code))
        by_unit.setdefault((TOTAL, str(kind)), []).append(str(code))
    blanked: dict[tuple[str, str, int], bool] = {}
    out = np.zeros(len(table), dtype=bool)
    for i, (la, q, kind) in enumerate(zip(table["la_code"], table["quarter"], table["site_type"])):
        key = (str(la), str(kind), int(q))
        if key not in blanked:
            blanked[key] = any(
                visits_withheld(c, key[2]) for c in by_unit.get((key[0], key[1]), [])
            )
        out[i] = blanked[key]
    return out


def publish_equipment(
    counts: EquipmentCounts, published: Published, sites: pd.DataFrame
) -> pd.DataFrame:
    """The equipment table as published: items as nullable integers, withheld (blank, with
    ``withheld`` true) where :func:`rows_to_withhold` says so; ``items_recorded``: whether
    the extract records any item count in the period."""
    act = published.extra["activity"]
    hidden = set(act.loc[act["suppressed"].to_numpy(dtype=bool), "cell_id"])

    def withheld(code: str, q: int) -> bool:
        return activity_id("nsp_visits", code, q) in hidden

    out = counts.table.copy()
    hide = rows_to_withhold(out, sites, withheld)
    for item in ITEM_COLUMNS:
        out[item] = out[item].astype("Int64").mask(hide)
    out["withheld"] = hide
    out["items_recorded"] = counts.recorded  # else the report says the extract has none
    return out
