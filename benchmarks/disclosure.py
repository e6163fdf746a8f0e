"""Disclosure control at national size: suppress, attack and audit a synthetic England.

    python benchmarks/disclosure.py [--lsoas 33755] [--las 300] [--seed 1] [--rounding 0]

Builds counts shaped like a national drop (33,755 LSOAs x 4 cohorts under about 300 LAs, an
"LSOA not known" cell per LA, OUTSIDE/UNKNOWN, a service-LA table and 3,000 sites), then:

1. the simple heuristic (suppress one more cell in any group with one suppressed cell), and
   what the LP attack still finds in it;
2. ``suppress.protect`` (the heuristic, then complements until the attack finds nothing);
3. the audit of the result (every hidden cell's interval by LP).

It prints time, peak memory, and the share of cells and of people hidden by each. A cell's
people are its count, so a person is counted once per table they appear in.

Closing note (2 cores, 24 GB; 141,632 cells, 35,863 groups):

- ``python benchmarks/disclosure.py`` (12 people per LSOA): protect 7.0 s, audit 6.9 s
  (496 components, 30,630 LPs), suppress + audit 13.9 s, peak memory 286 MB. Hidden: 67,854
  cells (47.9%; 58,500 primary), 5.6% of people, the same as the simple heuristic: on these
  random tables the attack finds nothing left to fix. The crafted table of tests/test_audit.py
  is one where it does (two extra cells, 20 people).
- ``--mean 40``: suppress + audit 8.1 s; 24.9% of cells, 1.3% of people hidden.
- ``--rounding 5`` at Cheshire & Merseyside size (``--lsoas 1600 --las 9 --mean 17``):
  7.0 s, no secondary suppression needed; 26.1% of cells, 1.4% of people hidden. At national
  size rounding links every rounded cell into one component and the exact attack does not
  finish in 15 minutes (see the report of issue 5).

Issue 13 (activity bounds: a site's individuals are at most its visits and interventions and
at least 1 where there is one; sites now have such activity): the simple heuristic leaves 11
sites pinned at national size (13 at C&M size) by their published activity; ``protect``
blanks the activity of those sites (33 figures; 39 at C&M size) and suppresses exactly the
same counts of people as before (67,854 cells, 9,354 secondary holding 67,274 people; at C&M
size 2,994 and 512 holding 4,004). Back to back on a shared machine (load 4 on 2 cores):
protect 3.6 s before, 4.6 s after; the exact audit 12.6 s (14,880 LPs) before, 16.2 s
(15,270 LPs) after.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from atlas.counting.aggregate import Counts
from atlas.counting.individuals import ALL, COHORTS
from atlas.counting.tally import TOTAL
from atlas.disclosure import attack
from atlas.disclosure.suppress import CellTable, _register, knowledge, round_to

SHARES = (0.5, 0.35, 0.15)  # pwid_psychoactive, pwid_ipeds, bi: roughly as in IMS data


def national_counts(
    lsoas: int = 33_755, las: int = 300, seed: int = 1, mean: float = 12.0
) -> Counts:
    """Synthetic counts with the shape of a national drop (overdispersed, uneven LAs)."""
    rng = np.random.default_rng(seed)
    la_codes = np.array([f"E0{8000000 + i}" for i in range(las)])
    sizes = rng.multinomial(lsoas - las, rng.dirichlet(np.full(las, 8.0))) + 1
    la_of = np.repeat(la_codes, sizes)
    lsoa_codes = np.array([f"E0{1000000 + i}" for i in range(lsoas)])
    # LSOA people: negative binomial (many small areas, some hot spots); plus "not known"
    people = rng.negative_binomial(1.5, 1.5 / (1.5 + mean), lsoas)
    unknown = rng.poisson(0.05 * pd.Series(people).groupby(la_of).sum().to_numpy())
    codes = np.concatenate([lsoa_codes, la_codes + "-UNKNOWN"])
    la_col = np.concatenate([la_of, la_codes])
    totals = np.concatenate([people, unknown])
    split = np.array([rng.multinomial(n, SHARES) for n in totals])
    lsoa = _long(
        pd.DataFrame({"lsoa_code": codes, "lsoa_name": codes, "la_code": la_col}), totals, split
    )
    la_sum = lsoa[lsoa["cohort"] != ALL].groupby(["la_code", "cohort"])["individuals"].sum()
    la_split = la_sum.unstack()[list(COHORTS)].reindex(la_codes).to_numpy()
    extra = np.array([rng.multinomial(n, SHARES) for n in rng.poisson(40, 2)])
    area_split = np.vstack([la_split, extra])
    area_codes = np.concatenate([la_codes, ["OUTSIDE", "UNKNOWN"]])
    res_la = _long(
        pd.DataFrame({"la_code": area_codes, "la_name": area_codes}), area_split.sum(1), area_split
    )
    grand = area_split.sum(0)
    total_rows = pd.DataFrame(
        {
            "la_code": TOTAL,
            "la_name": "England",
            "cohort": [ALL, *COHORTS],
            "individuals": [grand.sum(), *grand],
        }
    )
    res_la = pd.concat([res_la, total_rows], ignore_index=True)
    svc_split = rng.binomial(la_split, 0.9) + rng.poisson(la_split * 0.1 + 0.5)
    svc = _long(
        pd.DataFrame({"la_code": la_codes, "la_name": la_codes}), svc_split.sum(1), svc_split
    )
    svc = pd.concat([svc, total_rows], ignore_index=True)
    svc["population"] = 150_000
    sites = pd.DataFrame(
        {
            "site_code": [f"S{i:05d}" for i in range(3000)],
            "site_name": "site",
            "site_type": "pharmacy",
            "la_code": rng.choice(la_codes, 3000),
            "nsp_visits": 0,
            "nsp_returns": 0,
            "interventions": 0,
            "individuals": rng.negative_binomial(1, 1 / 61, 3000),
        }
    )
    # activity consistent with the people: every person at least one visit or intervention
    people_at = sites["individuals"].to_numpy()
    sites["nsp_visits"] = people_at + rng.poisson(4.0 * people_at)
    sites["nsp_returns"] = rng.binomial(sites["nsp_visits"].to_numpy(), 0.3)
    sites["interventions"] = rng.poisson(1.0 * people_at)
    cohorts = {ALL: int(grand.sum()), **dict(zip(COHORTS, map(int, grand)))}
    return Counts(svc, lsoa, res_la, sites, cohorts, "England")


def _long(rows: pd.DataFrame, totals: np.ndarray, split: np.ndarray) -> pd.DataFrame:
    values = np.column_stack([totals, split])
    out = rows.loc[rows.index.repeat(4)].reset_index(drop=True)
    out["cohort"] = np.tile([ALL, *COHORTS], len(rows))
    out["individuals"] = values.reshape(-1).astype(np.int64)
    return out


def _hidden_share(cells: CellTable, hidden: set[str]) -> tuple[int, float, float]:
    """Hidden counts of people (activity cells left out): how many, and their share of the
    cells and of the people."""
    values = pd.Series(cells.values).drop(list(cells.activity))
    mask = np.fromiter((c in hidden for c in values.index), dtype=bool, count=len(values))
    return int(mask.sum()), mask.mean(), values[mask].sum() / values.sum()


def _secondary_people(cells: CellTable, hidden: set[str], threshold: int) -> tuple[int, int]:
    """Counts of people hidden to protect others (not small themselves), and their people."""
    extra = [
        v
        for c, v in cells.values.items()
        if c in hidden and c not in cells.activity and not 0 < v < threshold
    ]
    return len(extra), int(sum(extra))


def _attack(cells: CellTable, hidden: set[str], threshold: int, rounding: int):
    """The LP attack on every hidden count of people, with the activity bounds."""
    ids = list(cells.values)
    where = {c: i for i, c in enumerate(ids)}
    true = np.fromiter(cells.values.values(), dtype=np.int64, count=len(ids))
    mask = np.fromiter((c in hidden for c in ids), dtype=bool, count=len(ids))
    people = np.fromiter((c not in cells.activity for c in ids), dtype=bool, count=len(ids))
    published = np.where(people, round_to(true, rounding), true)
    lo, hi = knowledge(published, mask, threshold, rounding, exact=~people)
    bounds = cells._bound_matrix(where, published, mask)
    found = attack.intervals(attack.Problem(lo, hi, cells.matrix(where), mask & people, bounds))
    return found, int((mask & people & attack.exposed(found.low, found.high, threshold)).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lsoas", type=int, default=33_755)
    parser.add_argument("--las", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threshold", type=int, default=5)
    parser.add_argument("--rounding", type=int, default=0)
    parser.add_argument("--mean", type=float, default=12.0, help="mean people per LSOA")
    args = parser.parse_args()

    t0 = time.perf_counter()
    counts = national_counts(args.lsoas, args.las, args.seed, args.mean)
    cells = CellTable()
    _register(cells, counts)
    t1 = time.perf_counter()
    print(
        f"table: {len(cells.values):,} cells, {len(cells.groups):,} groups, "
        f"built and registered in {t1 - t0:.1f} s"
    )

    simple, _ = cells.suppress(args.threshold)
    t2 = time.perf_counter()
    n, share, people = _hidden_share(cells, simple)
    found, bad = _attack(cells, simple, args.threshold, 0)
    t3 = time.perf_counter()
    print(
        f"simple heuristic: {t2 - t1:.1f} s; hides {n:,} cells ({share:.2%}), "
        f"{people:.2%} of people; the LP attack ({t3 - t2:.1f} s, {found.components:,} "
        f"components, {found.solves:,} LPs) pins down {bad:,} cells"
    )

    ours, primary, _ = cells.protect(args.threshold, args.rounding)
    t4 = time.perf_counter()
    n, share, people = _hidden_share(cells, ours)
    extra, extra_people = _secondary_people(cells, ours, args.threshold)
    blanked = len(ours & cells.activity)
    print(
        f"protect (rounding={args.rounding}): {t4 - t3:.1f} s; hides {n:,} cells "
        f"({share:.2%}; {primary:,} primary), {people:.2%} of people; secondary: {extra:,} "
        f"cells that are not small, {extra_people:,} people; {blanked:,} activity figures "
        "blanked"
    )

    found, bad = _attack(cells, ours, args.threshold, args.rounding)
    t5 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"audit: {t5 - t4:.1f} s, {found.components:,} components, {found.solves:,} LPs, "
        f"{bad} exposed cells"
    )
    print(f"total suppress + audit: {t5 - t3:.1f} s; peak memory {peak:,.0f} MB")


if __name__ == "__main__":
    main()
