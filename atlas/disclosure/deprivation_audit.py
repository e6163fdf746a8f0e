"""The audit's reading of the tables by IMD decile (``[geography] imd``): the counts as cells
of the one model, tied by the groups the build declared (``counting.deprivation``), and every
rate and Slope Index of Inequality recomputed from the published counts.

The decile of each LSOA, which the groups need, is read from the atlas's deprivation layer
(the page data's ``imd``): public data the page publishes, as an attacker would use it.
"""

from __future__ import annotations

import math

import pandas as pd

from ..counting.deprivation import NAME, deprivation_groups, imd_id
from ..counting.individuals import COHORT_ORDER
from ..counting.inequality import RATE_COLUMNS, SII_COLUMNS, decile_table, sii_table
from ..counting.report_counts import CellSet
from ..counting.tally import TOTAL
from .published_model import (
    ATLAS_PAGE,
    IMD_DECILES,
    IMD_SII,
    REPORT_CSV,
    FileModel,
    _cells,
    _Files,
    _place,
    _read,
)

LSOA_TABLE = "tables/residence_lsoa_cohorts.csv"


def page_deciles(layer: object, lsoa_codes: list[str], model: FileModel) -> None:
    """The atlas's deprivation layer: one decile (1..10, or null) per LSOA of its LSOA level,
    in that order; anything else is a problem."""
    deciles = layer.get("deciles") if isinstance(layer, dict) else None
    extra = sorted(set(layer) - {"deciles", "label", "credit"}) if isinstance(layer, dict) else []
    if extra:
        model.problems.append(f"{ATLAS_PAGE}: the deprivation layer's {extra[0]!r} is no cell")
    if not isinstance(deciles, list) or len(deciles) != len(lsoa_codes):
        model.problems.append(f"{ATLAS_PAGE}: the deprivation layer gives no decile per LSOA")
        return
    bad = [d for d in deciles if d is not None and (type(d) is not int or not 1 <= d <= 10)]
    if bad:
        model.problems.append(f"{ATLAS_PAGE}: the deprivation layer holds a value not a decile")
        return
    model.lsoa_deciles = {c: d for c, d in zip(lsoa_codes, deciles) if d is not None}


def read_deprivation(f: _Files, model: FileModel) -> None:
    """``monitoring_imd.csv``: each row's count is the cell ``imd:<area>:<decile>:<cohort>``
    with the build's groups; its rate and interval, and ``monitoring_imd_sii.csv``'s SII,
    must be those the published counts give."""
    path = REPORT_CSV + IMD_DECILES
    t = f.csv(path)
    if model.lsoa_deciles is None:
        model.problems.append(
            f"{path}: the atlas gives no LSOA's IMD decile, so its groups cannot be known"
        )
        return
    lsoas = f.csv(LSOA_TABLE).drop_duplicates("lsoa_code")[["lsoa_code", "la_code"]]
    by_la = bool((t["la_code"] != TOTAL).any())
    present, groups = deprivation_groups(lsoas, pd.Series(model.lsoa_deciles), by_la)
    want = [(la, str(d), c) for la, ds in present.items() for d in ds for c in COHORT_ORDER]
    if sorted(zip(t["la_code"], t["decile"], t["cohort"])) != sorted(want):
        model.problems.append(
            f"{path}: its rows are not the areas and deciles the atlas gives the LSOAs"
        )
        return
    cells = []
    for i, r in enumerate(t.itertuples()):
        cell = imd_id(r.la_code, r.decile, r.cohort)
        _read(model, cell, r.individuals, path, i)
        cells.append(cell)
    model.sets.append(CellSet(NAME, _cells(cells), groups))
    shown = t.assign(
        individuals=pd.to_numeric(t["individuals"].str.strip()).astype("Int64"),
        suppressed=t["individuals"].str.strip() == "",
        population=pd.to_numeric(t["population"].str.strip()),
    )
    expected = decile_table(shown)
    for i in range(len(t)):
        for col in RATE_COLUMNS:
            if t.at[i, col].strip() != expected.at[i, col]:
                model.problems.append(
                    f"{_place(path, i)}: {col} is not the rate of the published count "
                    "and population"
                )
    if f.has(REPORT_CSV + IMD_SII):
        _sii(f.csv(REPORT_CSV + IMD_SII), sii_table(shown), model)


def _sii(t: pd.DataFrame, expected: pd.DataFrame, model: FileModel) -> None:
    """Each published SII (and interval) is the one the published counts give, and blank
    where they give none."""
    path = REPORT_CSV + IMD_SII
    want = {(r.la_code, r.cohort): r for r in expected.itertuples()}
    for i, r in enumerate(t.itertuples()):
        e = want.get((r.la_code, r.cohort))
        if e is None:
            model.problems.append(f"{_place(path, i)}: no area and cohort of the decile table")
            continue
        for col in SII_COLUMNS[:3]:
            text, value = str(getattr(r, col)).strip(), float(getattr(e, col))
            same = (not text and math.isnan(value)) or (
                bool(text) and not math.isnan(value) and float(text) == value
            )
            if not same:
                model.problems.append(
                    f"{_place(path, i)}: {col} is not the one the published counts give"
                )
