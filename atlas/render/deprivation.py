"""The monitoring report's section by IMD decile of residence (``[geography] imd``):
individuals and rate per 1,000 per decile with 95% intervals, and the Slope Index of
Inequality, from the protected cells only (:mod:`counting.inequality` says how each figure
is computed and when it is withheld).

Two CSV files beside the table: ``monitoring_imd.csv`` (one row per area, decile and
cohort; ``la_code`` ``TOTAL`` is the area, the other rows each LA's, which its pack shows) and
``monitoring_imd_sii.csv`` (one row per area and cohort).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..counting.deprivation import NAME
from ..counting.individuals import COHORT_ORDER
from ..counting.inequality import SII_PLACES, decile_table, sii_table
from ..counting.tally import TOTAL
from ..disclosure.suppress import Published
from ..geography.imd import Deprivation

DECILE_CSV = "monitoring_imd"
SII_CSV = "monitoring_imd_sii"
DECILE_LABELS = {
    "1": "1 (most deprived)",
    "10": "10 (least deprived)",
}


def deprivation_tables(published: Published, names: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The two published tables (name -> frame, as its CSV is written); none without an IMD
    file. ``names``: LA code -> name, the area last (the reports' order)."""
    cells = published.extra.get(NAME)
    if cells is None:
        return {}
    order = {code: i for i, code in enumerate(names["la_code"])}
    cells = cells.sort_values("la_code", key=lambda s: s.map(order), kind="stable")
    deciles = decile_table(cells).merge(names, on="la_code", how="left")
    sii = sii_table(cells).merge(names, on="la_code", how="left")
    first = ["la_code", "la_name"]
    deciles = deciles[first + [c for c in deciles if c not in first]]
    sii = sii[first + [c for c in sii if c not in first]]
    return {DECILE_CSV: deciles.reset_index(drop=True), SII_CSV: sii.reset_index(drop=True)}


def deprivation_rows(
    tables: dict[str, pd.DataFrame], unit: str = TOTAL, source: Deprivation | None = None
) -> dict[str, Any] | None:
    """The section's rows for ``unit`` (the area, or an LA from its pack's tables): per decile
    each cohort's count, rate and interval; per cohort the
    SII, its interval and why it is withheld. None without the tables."""
    if DECILE_CSV not in tables:
        return None
    deciles = tables[DECILE_CSV]
    deciles = deciles[deciles["la_code"] == unit]
    rows = []
    for decile, part in deciles.groupby("decile", sort=False):
        by = {r["cohort"]: r for r in part.to_dict("records")}
        rows.append(
            {
                "decile": DECILE_LABELS.get(str(decile), str(decile)),
                "population": _count(by[COHORT_ORDER[0]]["population"]),
                "cells": [
                    {
                        "individuals": by[c]["individuals"],
                        "rate": by[c]["rate_per_1000"],
                        "ci": _ci(by[c]["rate_lower"], by[c]["rate_upper"]),
                    }
                    for c in COHORT_ORDER
                ],
            }
        )
    sii = tables[SII_CSV]
    sii = sii[sii["la_code"] == unit]
    return {
        "rows": rows,
        "sii": [
            {
                "cohort": r["cohort"],
                "sii": _fixed(r["sii"]),
                "ci": _ci(_fixed(r["sii_lower"]), _fixed(r["sii_upper"])),
                "note": r["sii_note"],
            }
            for r in sii.to_dict("records")
        ],
        "label": source.label if source is not None else "IMD",
        "credit": source.credit if source is not None else "",
    }


def _fixed(value: Any) -> str:
    """An SII as the table shows it: two decimals, a true minus sign; blank when withheld."""
    return "" if pd.isna(value) else f"{float(value):.{SII_PLACES}f}".replace("-", "−")


def _count(value: Any) -> int | None:
    return None if pd.isna(value) else int(value)


def _ci(lo: Any, hi: Any) -> str:
    return f"{lo}–{hi}" if str(lo) and str(hi) else ""
