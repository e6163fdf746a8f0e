"""What of the siting plan may be published (disclosure control), and its two CSV tables.

Every published siting figure is a function of values already published, so it can reveal
nothing the protected tables do not: the plan is solved on the *published demand* of each LSOA
(:func:`published_demand`), never on the true counts, and every percentage, rank and LSOA
status follows from it and from the map (which LSOAs lie within the radius of which sites).

- an LSOA's published demand (PWID psychoactive + PWID IPEDs) is the sum of its two published
  cells, else its published ``all`` minus ``bi``; where neither can be read from the tables,
  each suppressed PWID cell counts as half the threshold, rounded down
  (:func:`suppressed_cell_value`: 2 when the threshold is 5), a figure the report declares;
- percentages are shares of the area's published demand, per LA of the LA's; they are blank
  only where the demand they divide by is 0;
- the map shows an LSOA's demand only where it can be read from the tables and is 0 or at least
  the threshold, anything else as suppressed.

Since an attacker can recompute every figure from the published tables, the figures add no
relation among the true counts (``tests/siting/test_siting_attack.py`` attacks them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..counting.deprivation import imd_weights
from ..counting.individuals import ALL
from ..counting.rates import format_fixed
from ..disclosure.suppress import Published
from ..geography.geocode import OUTSIDE, UNKNOWN
from .model import PWID, Plan

# la_name beside la_code, so the tables name LAs as every other table does
SITING_COLUMNS = [
    "rank",
    "site_code",
    "site_name",
    "la_code",
    "la_name",
    "added_pct",
    "cumulative_pct",
]
COVERAGE_LA_COLUMNS = ["la_code", "la_name", "coverage_pct", "coverage_pct_after"]


@dataclass
class PublishedPlan:
    """The siting results as published: tables, map data and report figures."""

    siting: pd.DataFrame  # SITING_COLUMNS, percentages as text with two decimals
    coverage_la: pd.DataFrame  # COVERAGE_LA_COLUMNS
    lsoas: pd.DataFrame  # lsoa_code, status, rank, demand (known or NA), suppressed
    existing: pd.DataFrame  # existing NSP sites: site_code, site_name, lat, long
    recommended: pd.DataFrame  # rank, site_code, site_name, la_code, lat, long
    radius_m: float
    new_sites: int
    threshold: int
    left_out: int  # PWID individuals with no LSOA in the area (published cells only)
    left_out_exact: bool  # False: some of those cells are suppressed, so "at least"
    target_pct: float | None
    target_sites: int | None
    best_possible_pct: str
    suppressed_as: int = 0  # what a suppressed PWID cell counts as in the published demand
    estimated_lsoas: int = 0  # LSOAs whose published demand counts a suppressed cell
    weighted: bool = False  # the demand weighted by IMD decile ([siting] weight_imd)


def suppressed_cell_value(threshold: int) -> int:
    """What a suppressed PWID cell counts as in the published demand: half the threshold,
    rounded down (a suppressed count is most often one of 1..threshold-1)."""
    return threshold // 2


def known_demand(cells: pd.DataFrame, key: str) -> pd.DataFrame:
    """Per row of a published residence table: the PWID demand if it can be derived from
    published cells (``value``), and whether it can (``known``)."""
    wide = cells.pivot(index=key, columns="cohort", values="individuals")
    hidden = cells.pivot(index=key, columns="cohort", values="suppressed").astype(bool)
    direct = ~hidden[list(PWID)].any(axis=1)
    by_rest = ~hidden[ALL] & ~hidden["bi"]
    value = (
        wide[list(PWID)]
        .sum(axis=1, min_count=len(PWID))
        .where(direct, (wide[ALL] - wide["bi"]).clip(lower=0).where(by_rest))
    )
    return pd.DataFrame({"known": direct | by_rest, "value": value.astype("Int64")})


def published_demand(published: Published) -> pd.DataFrame:
    """Per LSOA of the published residence table (not the "LSOA not known" rows): the demand
    the plan and every siting figure use (``demand``, whole people), a function of published
    cells only, and whether it counts a suppressed cell (``estimated``)."""
    lsoa = published.residence_lsoa
    lsoa = lsoa[~lsoa["lsoa_code"].str.endswith("-UNKNOWN")]
    known = known_demand(lsoa, "lsoa_code")
    pwid = lsoa[lsoa["cohort"].isin(PWID)]
    as_value = suppressed_cell_value(published.threshold)
    cells = pwid["individuals"].astype("Float64").where(~pwid["suppressed"].astype(bool), as_value)
    estimate = cells.groupby(pwid["lsoa_code"].to_numpy()).sum().astype("int64")
    demand = known["value"].astype("Float64").fillna(estimate.reindex(known.index).astype(float))
    return pd.DataFrame(
        {"demand": demand.fillna(0).astype("int64"), "estimated": ~known["known"]}
    ).rename_axis("lsoa_code")


def publish_plan(
    plan: Plan,
    published: Published,
    candidates: pd.DataFrame,
    existing: pd.DataFrame,
    la_names: dict[str, str],
    deciles: pd.Series | None = None,
) -> PublishedPlan:
    """What may be published of a plan solved on :func:`published_demand` (anything else is
    refused: a plan of the true counts would give suppressed cells away); ``deciles``: the
    demand was weighted by IMD decile (:mod:`.weights`)."""
    t = published.threshold
    model = published_demand(published)
    d = plan.demand.set_index("lsoa_code")
    expected = model["demand"].reindex(d.index).fillna(0).astype("int64")
    if deciles is not None:
        expected = expected * imd_weights(d.index, deciles)
    if not d["demand"].astype("int64").equals(expected):
        raise ValueError("the siting plan was not solved on the published demand")
    siting = _siting_table(plan, la_names)
    coverage = _coverage_la(d, la_names)
    left_out, exact = _left_out(published)
    recommended = plan.ranked.merge(candidates[["site_code", "lat", "long"]], on="site_code")
    # the map publishes an LSOA's demand as a count of individuals: only where the tables give
    # it, and a small one (1..t-1) is shown as suppressed, like any other count
    known = known_demand(published.residence_lsoa, "lsoa_code")
    shown = known["value"].where(known["known"]).reindex(d.index)
    small = ((shown > 0) & (shown < t)).fillna(False).astype(bool)
    lsoas = pd.DataFrame(
        {
            "lsoa_code": d.index,
            "status": np.select(
                [d["covered_today"], d["added_by_rank"] > 0], ["covered", "added"], "uncovered"
            ),
            "rank": d["added_by_rank"].to_numpy(),
            "demand": shown.mask(small).to_numpy(),
            "suppressed": (shown.isna() | small).to_numpy(),
        }
    )
    return PublishedPlan(
        siting=siting,
        coverage_la=coverage,
        lsoas=lsoas.reset_index(drop=True),
        existing=existing[["site_code", "site_name", "lat", "long"]].reset_index(drop=True),
        recommended=recommended[["rank", "site_code", "site_name", "la_code", "lat", "long"]],
        radius_m=plan.radius_m,
        new_sites=plan.new_sites,
        threshold=t,
        left_out=left_out,
        left_out_exact=exact,
        target_pct=plan.target_pct,
        target_sites=plan.target_sites,
        best_possible_pct=_pct(plan.best_possible, plan.total),
        suppressed_as=suppressed_cell_value(t),
        estimated_lsoas=int(model["estimated"].reindex(d.index).fillna(False).sum()),
        weighted=deciles is not None,
    )


def _pct(part: int | float, whole: int | float) -> str:
    """``part`` as a percentage of ``whole``, two decimals; blank when ``whole`` is 0."""
    if not whole:
        return ""
    return format_fixed(pd.Series([100 * part / whole]), 2).iloc[0]


def _siting_table(plan: Plan, la_names: dict[str, str]) -> pd.DataFrame:
    """Rank 0 (today) then ranks 1..n, as shares of the published demand; each site's LA by
    code and name (the code where the drop has no name for it)."""
    rows = [
        {
            "rank": 0,
            "site_code": "",
            "site_name": "",
            "la_code": "",
            "added": plan.covered_today,
            "cumulative": plan.covered_today,
        }
    ]
    table = pd.DataFrame(rows + plan.ranked.to_dict("records"))
    table["added_pct"] = [_pct(v, plan.total) for v in table["added"]]
    table["cumulative_pct"] = [_pct(v, plan.total) for v in table["cumulative"]]
    table["rank"] = table["rank"].astype(np.int64)
    table["la_name"] = [la_names.get(c, c) for c in table["la_code"]]
    return table[SITING_COLUMNS]


def _coverage_la(d: pd.DataFrame, la_names: dict[str, str]) -> pd.DataFrame:
    """Coverage today and after the plan per LA, as shares of the LA's published demand."""
    after = d["covered_today"] | (d["added_by_rank"] > 0)
    rows = []
    for la in sorted(la_names):
        in_la = d["la_code"] == la
        demand = int(d.loc[in_la, "demand"].sum())
        rows.append(
            {
                "la_code": la,
                "la_name": la_names[la],
                "coverage_pct": _pct(d.loc[in_la & d["covered_today"], "demand"].sum(), demand),
                "coverage_pct_after": _pct(d.loc[in_la & after, "demand"].sum(), demand),
            }
        )
    return pd.DataFrame(rows, columns=COVERAGE_LA_COLUMNS)


def _left_out(published: Published) -> tuple[int, bool]:
    """PWID individuals with no LSOA in the area ("LSOA not known" cells, OUTSIDE and
    UNKNOWN), summed from published cells only; exact when none of them is suppressed."""
    lsoa = published.residence_lsoa
    unk = known_demand(lsoa[lsoa["lsoa_code"].str.endswith("-UNKNOWN")], "lsoa_code")
    la = published.residence_la
    rest = known_demand(la[la["la_code"].isin([OUTSIDE, UNKNOWN])], "la_code")
    parts = pd.concat([unk, rest])
    return int(parts["value"].fillna(0).sum()), bool(parts["known"].all())
