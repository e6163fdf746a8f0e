"""The siting stage as the drop and ``ims-atlas site-plan`` run it (issue 7).

Reads the candidates, places demand and sites, solves the plan (``model``) and decides what
may be published (``publish``); ``render.tables.siting_tables`` writes its two CSV tables.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..counting.aggregate import Counts
from ..counting.deprivation import imd_weights
from ..disclosure.suppress import Published
from ..geography.areas import Geography
from .model import (
    Candidates,
    Plan,
    existing_nsp_sites,
    lsoa_points,
    plan_sites,
    pwid_demand,
    read_candidates,
)
from .publish import PublishedPlan, publish_plan, published_demand

log = logging.getLogger(__name__)


@dataclass
class SitingResult:
    """Everything the siting stage adds to a drop."""

    plan: Plan
    published: PublishedPlan
    candidates: Candidates
    ledger: dict[str, Any] = field(default_factory=dict)
    private: dict[str, Any] = field(default_factory=dict)  # exact figures: analyst's ledger

    @property
    def rejects(self) -> pd.DataFrame:
        return self.candidates.rejects


def run_siting(
    options: dict[str, Any],
    geo: Geography,
    sites: pd.DataFrame,
    counts: Counts,
    published: Published,
    deciles: pd.Series | None = None,
) -> SitingResult:
    """Plan new NSP sites from the recipe's [siting] options and decide what may be
    published. ``deciles``: each LSOA's IMD decile, with which ``weight_imd`` weights the
    demand (:mod:`.weights`)."""
    candidates = read_candidates(
        options["candidates"], geo, options.get("candidates_format", "auto")
    )
    points = lsoa_points(geo)
    # the plan is solved on the published demand, so that nothing it publishes (ranks,
    # percentages, which LSOAs a site covers) rests on a suppressed count
    model = published_demand(published)["demand"]
    weighted = bool(options.get("weight_imd")) and deciles is not None
    if weighted:
        assert deciles is not None
        model = model * imd_weights(model.index, deciles)
    demand = points.assign(demand=points["lsoa_code"].map(model).fillna(0).astype("int64"))
    existing = existing_nsp_sites(sites)
    radius, k = float(options.get("radius_m", 1000)), int(options.get("new_sites", 5))
    plan = plan_sites(demand, existing, candidates.sites, radius, k, options.get("target_pct"))
    la_names = dict(zip(geo.las["la_code"], geo.las["la_name"]))
    pub = publish_plan(
        plan, published, candidates.sites, existing, la_names, deciles if weighted else None
    )
    if len(plan.ranked) < k:
        log.warning(
            "siting: only %d of the %d new sites asked for would add coverage", len(plan.ranked), k
        )
    ledger = {
        "candidates": {
            "file": options["candidates"].name,
            "read": candidates.read,
            "accepted": len(candidates.sites),
            "rejected": len(candidates.rejects),
            **({"skipped": candidates.skipped} if candidates.skipped else {}),
            "placed_by": {
                k2: int(v)
                for k2, v in candidates.sites["placed_by"].value_counts().sort_index().items()
            },
        },
        "existing_nsp_sites": len(existing),
        "radius_m": radius,
        "new_sites": k,
        "recommended": len(plan.ranked),
        **({"demand_weighted_by": "imd_decile"} if weighted else {}),
        "demand_points_placed_by": {
            k2: int(v) for k2, v in points["placed_by"].value_counts().sort_index().items()
        },
    }
    return SitingResult(plan, pub, candidates, ledger, _exact_coverage(plan, counts))


def _exact_coverage(plan: Plan, counts: Counts) -> dict[str, Any]:
    """Coverage today and after the plan on the true PWID counts, for the analyst's private
    ledger only (never published: these percentages would give suppressed cells away)."""
    d = plan.demand.set_index("lsoa_code")
    true = pwid_demand(counts.residence_lsoa).reindex(d.index).fillna(0)
    total = float(true.sum())
    after = d["covered_today"] | (d["added_by_rank"] > 0)

    def pct(mask: pd.Series) -> float | None:
        return round(100 * float(true[mask].sum()) / total, 2) if total else None

    return {
        "exact_demand": int(total),
        "exact_coverage_today_pct": pct(d["covered_today"]),
        "exact_coverage_after_pct": pct(after),
    }


def describe(result: SitingResult, area_name: str) -> str:
    """The plan as text for the terminal: the published table and the target answer."""
    pub = result.published
    lines = [
        f"NSP coverage within {pub.radius_m:,.0f} m in {area_name} "
        f"(percentages of PWID individuals living in the area's LSOAs):",
        "",
    ]
    header = ["rank", "site_code", "site_name", "la_code", "added_pct", "cumulative_pct"]
    table = pub.siting.astype(str)
    widths = [max(len(h), *(len(v) for v in table[h])) for h in header]
    lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    for row in table[header].itertuples(index=False):
        lines.append("  ".join(str(v).ljust(w) for v, w in zip(row, widths)))
    if len(result.plan.ranked) < pub.new_sites:
        lines.append(
            f"only {len(result.plan.ranked)} of the {pub.new_sites} new sites asked "
            "for would add coverage"
        )
    if pub.target_pct is not None:
        if pub.target_sites is None:
            lines.append(
                f"target {pub.target_pct:g}%: out of reach; opening every candidate "
                f"would cover {pub.best_possible_pct or 'a withheld share'}%"
            )
        else:
            lines.append(
                f"target {pub.target_pct:g}%: the fewest new sites that reach it: "
                f"{pub.target_sites}"
            )
    lines.append(
        f"PWID individuals left out (no LSOA in the area): "
        f"{'' if pub.left_out_exact else 'at least '}{pub.left_out:,}"
    )
    return "\n".join(lines)
