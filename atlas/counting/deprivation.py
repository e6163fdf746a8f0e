"""Individuals by IMD decile of residence (issue 17 item 4), before disclosure control.

A resident whose LSOA of residence is one of the drop's and has an IMD decile counts in that
decile, for the area (``la_code`` ``TOTAL``) and for their LA. Every count is a cell of the
drop's one disclosure-control problem, ``imd:<la_code or TOTAL>:<decile>:<cohort>``, tied by
the groups a reader can add up: a decile's cell is the sum of the cells of its LSOAs in
``residence_lsoa_cohorts.csv`` (``lsoa:<code>:<cohort>``: the decile of each LSOA is public),
the deciles add to the total of residents with a decile (``imd:<la>:all:<cohort>``), and the
cohorts add to ``all`` in every row. The population of each row (the sum of its LSOAs'
populations, public figures) is the denominator of its rate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..geography.geocode import OUTSIDE, UNKNOWN
from .aggregate import Counts
from .individuals import ALL, COHORT_ORDER, COHORTS
from .report_counts import CellSet
from .tally import TOTAL

NAME = "deprivation"
DECILES = tuple(range(1, 11))  # 1: the most deprived 10% of England's LSOAs


def imd_id(la_code: str, decile: int | str, cohort: str) -> str:
    """The cell id of a row of the table by IMD decile."""
    return f"imd:{la_code}:{decile}:{cohort}"


def deprivation_cells(
    counts: Counts, deciles: pd.Series, lsoa_population: pd.Series, by_la: bool = True
) -> CellSet:
    """The cells by IMD decile of residence for the area and each LA, from the LSOA counts.

    ``deciles``: lsoa_code -> IMD decile (:func:`geography.imd.read_imd`); LSOAs without one
    are in no decile. ``lsoa_population``: lsoa_code -> population; a row's population is NaN
    when one of its LSOAs has none. ``by_la``: the LAs' rows too (for the report packs),
    beside the area's. The groups are :func:`deprivation_groups`'."""
    lsoa = counts.residence_lsoa
    places = lsoa.drop_duplicates("lsoa_code")[["lsoa_code", "la_code"]]
    present, groups = deprivation_groups(places, deciles, by_la)
    decile = lsoa["lsoa_code"].map(deciles)
    known = lsoa[decile.notna().to_numpy() & ~lsoa["lsoa_code"].str.endswith("-UNKNOWN")]
    known = known.assign(
        decile=decile[known.index].astype(int), cohort=known["cohort"].astype(str)
    )
    n_la = known.groupby(["la_code", "decile", "cohort"])["individuals"].sum().to_dict()
    n_area = known.groupby(["decile", "cohort"])["individuals"].sum().to_dict()
    places = places.assign(
        decile=places["lsoa_code"].map(deciles),
        population=places["lsoa_code"].map(lsoa_population),
    ).dropna(subset=["decile"])
    places = places.assign(
        decile=places["decile"].astype(int), missing=places["population"].isna()
    )
    pop_la = places.groupby(["la_code", "decile"]).agg(
        population=("population", "sum"), missing=("missing", "any")
    )
    pop_area = places.groupby("decile").agg(
        population=("population", "sum"), missing=("missing", "any")
    )
    rows = []
    for la, shown in present.items():
        for d in shown:
            pop = pop_area.loc[d] if la == TOTAL else pop_la.loc[(la, d)]
            population = np.nan if pop["missing"] else float(pop["population"])
            for c in COHORT_ORDER:
                n = n_area.get((d, c), 0) if la == TOTAL else n_la.get((la, d, c), 0)
                rows.append((la, str(d), c, population, int(n), imd_id(la, d, c)))
    table = pd.DataFrame(
        rows, columns=["la_code", "decile", "cohort", "population", "individuals", "cell_id"]
    )
    table["individuals"] = table["individuals"].astype(np.int64)
    return CellSet(NAME, table, groups)


def deprivation_groups(
    lsoas: pd.DataFrame, deciles: pd.Series, by_la: bool = True
) -> tuple[dict[str, list[int]], list[tuple[str, list[str]]]]:
    """The rows by IMD decile (area or LA code -> the deciles it has LSOAs in, the area
    first) and their additive groups, from the LSOAs of the residence table (``lsoa_code``,
    ``la_code``; each LA's "LSOA not known" cell too) and each LSOA's decile: the build and
    the audit declare the same.

    A decile's LSOAs add to it; its cohorts to its ``all``; an LA's deciles, its "LSOA not
    known" cell and its LSOAs without a decile add to the LA's residence cell, and the area's
    deciles with every such cell, ``OUTSIDE`` and ``UNKNOWN`` to the area total (so that a
    small "not known" cell is never the difference of two published figures unseen by
    disclosure control); the LAs' deciles add to the area's."""
    codes = lsoas["lsoa_code"].astype(str)
    decile = codes.map(deciles)
    unknown = codes.str.endswith("-UNKNOWN").to_numpy()
    known = lsoas[~unknown & decile.notna().to_numpy()].assign(
        decile=decile[~unknown & decile.notna().to_numpy()].astype(int)
    )
    rest = lsoas[unknown | decile.isna().to_numpy()]
    las = sorted(known["la_code"].unique()) if by_la else []
    known = known.sort_values("lsoa_code")
    in_area = known.groupby("decile")["lsoa_code"].agg(list).to_dict()
    in_la = known.groupby(["la_code", "decile"])["lsoa_code"].agg(list).to_dict() if las else {}
    present: dict[str, list[int]] = {TOTAL: sorted(int(d) for d in in_area)}
    for la, d in sorted(in_la):
        present.setdefault(la, []).append(int(d))
    rest_of = rest.sort_values("lsoa_code").groupby("la_code")["lsoa_code"].agg(list).to_dict()
    every_rest = sorted(rest["lsoa_code"])
    groups: list[tuple[str, list[str]]] = []
    for la, shown in present.items():
        members = {d: in_area[d] if la == TOTAL else in_la[(la, d)] for d in shown}
        others = every_rest if la == TOTAL else rest_of.get(la, [])
        for d in shown:
            for c in COHORT_ORDER:
                groups.append((imd_id(la, d, c), [f"lsoa:{x}:{c}" for x in members[d]]))
                if la == TOTAL and las:
                    groups.append(
                        (imd_id(la, d, c), [imd_id(x, d, c) for x in las if (x, d) in in_la])
                    )
            groups.append((imd_id(la, d, ALL), [imd_id(la, d, c) for c in COHORTS]))
        for c in COHORT_ORDER:
            if la == TOTAL:
                total, outside = f"total:{c}", [f"la:{OUTSIDE}:{c}", f"la:{UNKNOWN}:{c}"]
            else:
                total, outside = f"la:{la}:{c}", []
            parts = [imd_id(la, d, c) for d in shown]
            groups.append((total, parts + [f"lsoa:{x}:{c}" for x in others] + outside))
    return present, groups


# --- weighting the siting demand by deprivation ([siting] weight_imd) ----------------------
# Each LSOA's published PWID demand is multiplied by a factor of its IMD decile: 2.0 for decile
# 1 (the most deprived 10% of England's LSOAs) down to 1.0 for decile 10, in even steps of 1/9
# (``1 + (10 - decile) / 9``); an LSOA without a decile counts 1.0. So a person in the most
# deprived decile counts twice one in the least, and the plan favours sites that reach need
# where deprivation is greatest. The factors are kept as whole numbers, nine times the factor
# (``WEIGHTS``: 18 .. 9), so that the demand stays whole; every percentage is a share of
# the weighted demand, so the common factor of nine cancels.
#
# Deciles are public and the demand is the published one, so the weighted figures are still
# functions of published numbers only; the audit recomputes them with the same weights.

SCALE = 9  # the weights are nine times the factor
WEIGHTS = {d: SCALE + (10 - d) for d in range(1, 11)}  # decile -> 9 x factor: 18 .. 9


def imd_weights(
    lsoa_codes: pd.Series | pd.Index, deciles: pd.Series | dict[str, int]
) -> np.ndarray:
    """The weight of each LSOA (nine times its factor; ``SCALE`` where it has no decile)."""
    decile = pd.Series(list(lsoa_codes)).map(pd.Series(deciles))
    return decile.map(WEIGHTS).fillna(SCALE).astype("int64").to_numpy()
