"""Time the siting plan (coverage matrix + exact MCLP + ordering + fewest-for-target).

    python benchmarks/siting.py            # both sizes
    python benchmarks/siting.py --only cm  # 1,562 LSOAs x 500 candidates (target <= 10 s)
    python benchmarks/siting.py --only cm-real  # the same on the real C&M LSOAs and pharmacies

Synthetic but realistically clustered: LSOA demand points around towns (LSOAs are a few
hundred metres apart in cities, kilometres apart in the country), candidates and existing NSP
sites drawn near people, demand per LSOA skewed (many zeros, a long tail) as PWID counts are.
Sizes: Cheshire & Merseyside (1,562 LSOAs x 500 candidates, 60 existing sites) and England
(33,755 LSOAs x 5,000 candidates, 1,300 existing sites); radius 1,000 m; 5 and 50 new sites.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from atlas.siting.model import coverage_matrix, plan_sites

SIZES = {
    "cm": (1_562, 500, 60, 60_000.0, 40, 600.0),
    "national": (33_755, 5_000, 1_300, 500_000.0, 400, 500.0),
}


def synthetic(
    n_lsoa: int, n_cand: int, n_exist: int, extent: float, towns: int, spread: float, seed: int = 1
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, extent, (towns, 2))
    size = rng.pareto(1.2, towns) + 1
    share = size / size.sum()

    def around(n: int) -> np.ndarray:
        town = rng.choice(towns, n, p=share)
        scale = spread * np.sqrt(size[town])
        return centres[town] + rng.normal(0, 1, (n, 2)) * scale[:, None]

    pts = around(n_lsoa)
    demand = pd.DataFrame(
        {
            "lsoa_code": [f"E01{i:06d}" for i in range(n_lsoa)],
            "la_code": [f"E06{i % 40:06d}" for i in range(n_lsoa)],
            "demand": rng.negative_binomial(1, 0.25, n_lsoa),
            "x": pts[:, 0],
            "y": pts[:, 1],
        }
    )
    cpts = around(n_cand)
    cands = pd.DataFrame(
        {
            "site_code": [f"F{i:05d}" for i in range(n_cand)],
            "site_name": [f"Pharmacy {i}" for i in range(n_cand)],
            "la_code": "E06000000",
            "x": cpts[:, 0],
            "y": cpts[:, 1],
        }
    )
    epts = around(n_exist)
    exist = pd.DataFrame({"x": epts[:, 0], "y": epts[:, 1]})
    return demand, exist, cands


SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def real_cm(seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The 1,562 real C&M LSOAs (mean live-postcode positions), 500 real pharmacies as
    candidates and 60 others as existing sites; demand synthetic."""
    from atlas.geography.areas import load_geography
    from atlas.siting.model import lsoa_points, to_bng

    geo = load_geography(
        [SHARED / "derived" / "NSPL_CM_derived.csv"],
        sorted((SHARED / "raw" / "uk-geojson-lsoa11").glob("*.json")),
        SHARED / "raw" / "ons-sape-via-demographr" / "population19_lsoa11_9LA.csv",
    )
    rng = np.random.default_rng(seed)
    demand = lsoa_points(geo).assign(demand=lambda f: rng.negative_binomial(1, 0.25, len(f)))
    ph = pd.read_csv(
        SHARED / "raw" / "pharmacies-nhs-choices-2019" / "Pharmacy_9LA.csv",
        sep="\xac",
        encoding="latin-1",
        engine="python",
        dtype=str,
    )
    x, y = to_bng(ph["Latitude"].astype(float), ph["Longitude"].astype(float))
    ph = pd.DataFrame(
        {
            "site_code": ph["OrganisationCode"],
            "site_name": ph["OrganisationName"],
            "la_code": "",
            "x": x,
            "y": y,
        }
    ).sample(frac=1, random_state=seed)
    return demand, ph.iloc[500:560][["x", "y"]], ph.iloc[:500]


def run(name: str) -> None:
    if name == "cm-real":
        if not (SHARED / "derived" / "NSPL_CM_derived.csv").is_file():
            print("cm-real: skipped (../shared/data not found)")
            return
        demand, exist, cands = real_cm()
    else:
        demand, exist, cands = synthetic(*SIZES[name])
    t = time.perf_counter()
    m = coverage_matrix(demand[["x", "y"]].to_numpy(), cands[["x", "y"]].to_numpy(), 1000.0)
    t_matrix = time.perf_counter() - t
    print(
        f"{name}: {len(demand):,} LSOAs x {len(cands):,} candidates, {len(exist):,} existing; "
        f"coverage matrix {m.nnz:,} pairs in {t_matrix:.2f} s"
    )
    reach = plan_sites(demand, exist, cands, 1000.0, 1)
    target = round(50 * (reach.covered_today + reach.best_possible) / reach.total, 2)
    for k in (5, 50):
        t = time.perf_counter()
        plan = plan_sites(demand, exist, cands, 1000.0, k, target_pct=target)
        took = time.perf_counter() - t
        last = plan.ranked["cumulative"].iloc[-1] if len(plan.ranked) else plan.covered_today
        print(
            f"  new_sites={k:>2}: {took:6.2f} s  today {100 * plan.covered_today / plan.total:.2f}%"
            f" -> {100 * last / plan.total:.2f}%; fewest new sites for {target}%: "
            f"{plan.target_sites}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=[*SIZES, "cm-real"])
    args = ap.parse_args()
    for name in [args.only] if args.only else ["cm-real", *SIZES]:
        run(name)


if __name__ == "__main__":
    main()
