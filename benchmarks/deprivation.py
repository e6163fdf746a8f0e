"""Time the counting by IMD decile and the SII (``[geography] imd``) at C&M and national scale.

    python benchmarks/deprivation.py               # both sizes
    python benchmarks/deprivation.py --only national

Synthetic: LSOAs in LAs of equal size, each LSOA a random decile and population, residents per
LSOA and cohort skewed (many small counts, as PWID counts are). Times the cells and groups
(``counting.deprivation``), the rate table and every SII with its 100,000-draw interval
(``counting.inequality``: the area and every LA, four cohorts), the second SII pass the audit
makes (from its cache), and the groups the audit rebuilds from the files. Times are CPU
seconds of this process (the machine may be shared).
Sizes: Cheshire & Merseyside (1,562 LSOAs, 9 LAs) and England (33,755 LSOAs, 300 LAs).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from atlas.counting.aggregate import Counts
from atlas.counting.deprivation import deprivation_cells, deprivation_groups
from atlas.counting.individuals import COHORT_ORDER, COHORTS
from atlas.counting.inequality import decile_table, sii_table

SIZES = {"cm": (1_562, 9), "national": (33_755, 300)}


def synthetic(n_lsoa: int, n_la: int, seed: int = 1) -> tuple[Counts, pd.Series, pd.Series]:
    rng = np.random.default_rng(seed)
    codes = np.array([f"E01{i:06d}" for i in range(n_lsoa)])
    la = np.array([f"E06{i % n_la:06d}" for i in range(n_lsoa)])
    per = rng.negative_binomial(1, 0.15, size=(n_lsoa, len(COHORTS)))
    counts = np.column_stack([per.sum(axis=1), per])
    rows = pd.DataFrame(
        {
            "lsoa_code": np.repeat(codes, len(COHORT_ORDER)),
            "lsoa_name": "x",
            "la_code": np.repeat(la, len(COHORT_ORDER)),
            "cohort": np.tile(COHORT_ORDER, n_lsoa),
            "individuals": counts.reshape(-1),
        }
    )
    unknown = pd.DataFrame(
        {
            "lsoa_code": np.repeat([f"{c}-UNKNOWN" for c in sorted(set(la))], len(COHORT_ORDER)),
            "lsoa_name": "LSOA not known",
            "la_code": np.repeat(sorted(set(la)), len(COHORT_ORDER)),
            "cohort": np.tile(COHORT_ORDER, n_la),
            "individuals": 3,
        }
    )
    lsoa = pd.concat([rows, unknown], ignore_index=True)
    empty = pd.DataFrame()
    counts_ = Counts(empty, lsoa, empty, empty, {}, "")
    deciles = pd.Series(rng.integers(1, 11, n_lsoa), index=codes)
    population = pd.Series(rng.integers(1_000, 3_000, n_lsoa).astype(float), index=codes)
    return counts_, deciles, population


def run(name: str) -> None:
    n_lsoa, n_la = SIZES[name]
    counts, deciles, population = synthetic(n_lsoa, n_la)
    t0 = time.process_time()
    cells = deprivation_cells(counts, deciles, population, by_la=True)
    t1 = time.process_time()
    published = cells.table.assign(
        individuals=cells.table["individuals"].astype("Int64"), suppressed=False
    )
    table = decile_table(published)
    t2 = time.process_time()
    sii = sii_table(published)
    t3 = time.process_time()
    sii_table(published)  # the audit's pass: the same inputs
    t4 = time.process_time()
    places = counts.residence_lsoa.drop_duplicates("lsoa_code")[["lsoa_code", "la_code"]]
    deprivation_groups(places, deciles, by_la=True)
    t5 = time.process_time()
    with_interval = int(sii["sii_lower"].notna().sum())
    print(
        f"{name}: {n_lsoa:,} LSOAs, {n_la} LAs: {len(cells.table):,} cells, "
        f"{len(cells.groups):,} groups in {t1 - t0:.2f} s; rates ({len(table):,} rows) "
        f"{t2 - t1:.2f} s; SII ({len(sii)} rows, {with_interval} intervals) {t3 - t2:.2f} s, "
        f"again (the audit) {t4 - t3:.2f} s; the audit's groups {t5 - t4:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(SIZES))
    args = parser.parse_args()
    for name in [args.only] if args.only else list(SIZES):
        run(name)


if __name__ == "__main__":
    main()
