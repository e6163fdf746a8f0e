"""What of the siting plan may be published (disclosure control), and its two CSV tables.

The plan's counts are unprotected. Every published number here is derived from the already
protected residence tables, or is a sum whose publication reveals no suppressed count:

- an LSOA's demand (PWID psychoactive + PWID IPEDs) is *known* when both its cells are
  published, or when its ``all`` and ``bi`` cells are (demand = all - bi); the map shows only
  known demand of 0 or at least the threshold, anything else as suppressed;
- a percentage is a sum of LSOA demands (covered, uncovered, newly covered). It is published
  only when that sum contains no unknown LSOA demand, or at least two and is not a small count
  (1 to threshold-1): one unknown demand in a published sum could be worked out by subtraction;
- per-LA percentages are published only for an LA whose demand is known and at least the
  threshold; if exactly one LA is withheld, the next smallest is withheld too, so that the
  area's figure minus the others' gives nothing away;
- in ``nsp_siting.csv`` consecutive cumulative figures differ by what a site adds: a rank's
  figures are withheld when what it adds since the last published rank is not safe.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..counting.individuals import ALL
from ..counting.rates import format_fixed
from ..counting.tally import TOTAL
from ..disclosure.suppress import Published
from ..geography.geocode import OUTSIDE, UNKNOWN
from .model import PWID, Plan

SITING_COLUMNS = ["rank", "site_code", "site_name", "la_code", "added_pct", "cumulative_pct"]
COVERAGE_LA_COLUMNS = ["la_code", "coverage_pct", "coverage_pct_after"]


@dataclass
class PublishedPlan:
    """The siting results as published: tables, map data and report figures."""

    siting: pd.DataFrame  # SITING_COLUMNS, percentages as text with two decimals
    coverage_la: pd.DataFrame  # COVERAGE_LA_COLUMNS (+ la_name for the report)
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
        .where(direct, (wide[ALL] - wide["bi"]).where(by_rest))
    )
    return pd.DataFrame({"known": direct | by_rest, "value": value.astype("Int64")})


def publish_plan(
    plan: Plan,
    published: Published,
    candidates: pd.DataFrame,
    existing: pd.DataFrame,
    la_names: dict[str, str],
) -> PublishedPlan:
    """Apply the rules of this module to a plan; return what may be published."""
    t = published.threshold
    lsoa_cells = published.residence_lsoa
    known = known_demand(lsoa_cells, "lsoa_code")
    d = plan.demand.set_index("lsoa_code")
    unknown = ~known["known"].reindex(d.index).fillna(False).astype(bool)
    w = d["demand"]

    def safe(mask: pd.Series) -> bool:
        hidden = int(unknown[mask].sum())
        total = int(w[mask].sum())
        return hidden == 0 or (hidden >= 2 and not 0 < total < t)

    siting = _siting_table(plan, d, safe)
    coverage = _coverage_la(plan, d, safe, published, known, la_names)
    left_out, exact = _left_out(published)
    recommended = plan.ranked.merge(candidates[["site_code", "lat", "long"]], on="site_code")
    # the map publishes an LSOA's demand as a count of individuals: a small one (1..t-1) is
    # shown as suppressed, like any other count, even where it could be derived
    shown = known["value"].reindex(d.index)
    small = (shown > 0) & (shown < t)
    lsoas = pd.DataFrame(
        {
            "lsoa_code": d.index,
            "status": np.select(
                [d["covered_today"], d["added_by_rank"] > 0], ["covered", "added"], "uncovered"
            ),
            "rank": d["added_by_rank"].to_numpy(),
            "demand": shown.mask(small.fillna(False)).to_numpy(),
            "suppressed": (unknown | small.fillna(False)).to_numpy(),
        }
    )

    best = d["covered_today"] | d["reachable"]

    def pct(n: int | None) -> str:
        if n is None or plan.total == 0:
            return ""
        return format_fixed(pd.Series([100 * n / plan.total]), 2).iloc[0]

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
        best_possible_pct=pct(plan.best_possible) if safe(best) and safe(~best) else "",
    )


def _siting_table(plan: Plan, d: pd.DataFrame, safe) -> pd.DataFrame:
    """Rank 0 (today) then ranks 1..n; figures withheld where they would reveal a count."""
    covered = d["covered_today"]
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
    rows += plan.ranked.to_dict("records")
    table = pd.DataFrame(rows)
    show_cum = [safe(covered) and safe(~covered)]
    last = 0 if show_cum[0] else None  # last rank whose cumulative figure is published
    for r in range(1, len(table)):
        reached = covered | ((d["added_by_rank"] > 0) & (d["added_by_rank"] <= r))
        ok = safe(reached) and safe(~reached)
        if last is not None:
            ok = ok and safe((d["added_by_rank"] > last) & (d["added_by_rank"] <= r))
        show_cum.append(ok)
        if ok:
            last = r
    show_cum_s = pd.Series(show_cum)
    show_add = show_cum_s & show_cum_s.shift(1, fill_value=True).astype(bool)
    total = plan.total
    share = lambda s: 100 * s / total if total else s * np.nan  # noqa: E731
    table["added_pct"] = format_fixed(share(table["added"]).where(show_add), 2)
    table["cumulative_pct"] = format_fixed(share(table["cumulative"]).where(show_cum_s), 2)
    table["rank"] = table["rank"].astype(np.int64)
    return table[SITING_COLUMNS]


def _coverage_la(
    plan: Plan,
    d: pd.DataFrame,
    safe,
    published: Published,
    known: pd.DataFrame,
    la_names: dict[str, str],
) -> pd.DataFrame:
    """Coverage today and after the plan per LA, for LAs whose demand is published."""
    t = published.threshold
    la_known = known_demand(
        published.residence_la[published.residence_la["la_code"] != TOTAL], "la_code"
    )
    after = d["covered_today"] | (d["added_by_rank"] > 0)
    rows = []
    for la in sorted(la_names):
        in_la = d["la_code"] == la
        demand = int(d.loc[in_la, "demand"].sum())
        lsoa_route = bool(known["known"].reindex(d.index[in_la]).fillna(False).all())
        unk = f"{la}-UNKNOWN"
        la_route = (
            la in la_known.index
            and la_known.at[la, "known"]
            and unk in known.index
            and known.at[unk, "known"]
        )
        published_demand = lsoa_route or la_route
        before_ok = (
            published_demand
            and demand >= t
            and safe(in_la & d["covered_today"])
            and safe(in_la & ~d["covered_today"])
        )
        after_ok = (
            before_ok
            and safe(in_la & after)
            and safe(in_la & ~after)
            and safe(in_la & after & ~d["covered_today"])
        )
        rows.append(
            {
                "la_code": la,
                "la_name": la_names[la],
                "demand": demand,
                "zero": published_demand and demand == 0,
                "before": 100 * d.loc[in_la & d["covered_today"], "demand"].sum() / demand
                if before_ok
                else np.nan,
                "after": 100 * d.loc[in_la & after, "demand"].sum() / demand
                if after_ok
                else np.nan,
            }
        )
    table = pd.DataFrame(rows, columns=["la_code", "la_name", "demand", "zero", "before", "after"])
    for col in ("before", "after"):
        # The area's figure minus the other LAs' must not give one withheld LA's count away.
        withheld = table[col].isna() & ~table["zero"]
        if withheld.sum() == 1:
            shown = table[table[col].notna()]
            if len(shown):
                table.loc[shown["demand"].idxmin(), col] = np.nan
    table["coverage_pct"] = format_fixed(table["before"], 2)
    table["coverage_pct_after"] = format_fixed(table["after"], 2)
    return table[[*COVERAGE_LA_COLUMNS, "la_name"]]


def _left_out(published: Published) -> tuple[int, bool]:
    """PWID individuals with no LSOA in the area ("LSOA not known" cells, OUTSIDE and
    UNKNOWN), summed from published cells only; exact when none of them is suppressed."""
    lsoa = published.residence_lsoa
    unk = known_demand(lsoa[lsoa["lsoa_code"].str.endswith("-UNKNOWN")], "lsoa_code")
    la = published.residence_la
    rest = known_demand(la[la["la_code"].isin([OUTSIDE, UNKNOWN])], "la_code")
    parts = pd.concat([unk, rest])
    return int(parts["value"].fillna(0).sum()), bool(parts["known"].all())
