"""The data-quality report's reassessment table: of the clients seen for six months or more
at a site (in an LA, in the area), how many have an assessment there in the period's last six
months (the IMS user guide asks for reassessment at six-month intervals).

Only protected cells are shown (``Published.extra["reassessed"]``); the share is withheld
wherever either count it is made of is suppressed.
"""

from __future__ import annotations

import pandas as pd

from ..counting.rates import round_half_up
from ..disclosure.suppress import Published

COLUMNS = ("seen_six_months", "reassessed", "not_reassessed")  # the published counts
PARTS = dict(zip(COLUMNS, ("due", "with", "without")))  # their cells' parts


def reassessment_table(units: pd.DataFrame, published: Published) -> pd.DataFrame:
    """One row per unit of ``units`` (``unit``, ``code``, ``name``, ``la_name``, in the
    report's order): the individuals seen there for six months or more, those reassessed in
    the last six months and those not, and the share reassessed (one decimal)."""
    cells = published.extra["reassessed"].pivot(
        index="code", columns="reassessment", values="individuals"
    )
    out = units[["unit", "code", "name", "la_name"]].reset_index(drop=True)
    for column, part in PARTS.items():
        out[column] = out["code"].map(cells[part]).astype("Int64")
    due, done = (out[c].astype("Float64") for c in ("seen_six_months", "reassessed"))
    share = (100 * done / due.where(due > 0)).astype(float)
    out["reassessed_pct"] = round_half_up(share.where(due.notna() & done.notna()), 1)
    return out
