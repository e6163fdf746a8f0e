"""Time the treatment match at national scale (issue 18): 1 million IMS individuals against
300,000 keyed treatment rows (target <= 5 s for keying, reading and matching).

    python benchmarks/linkage.py                  # 1,000,000 individuals, 300,000 rows
    python benchmarks/linkage.py --people 100000 --rows 30000 --runs 3

Synthetic: one client record per individual (complete attributors, a few incomplete), each
seen once in the period at one of 1,300 sites in 300 LAs; the treatment file holds 30% of the
individuals (keyed with the same key) and people IMS never saw, with an LA and dates. Timed
apart: keying the IMS individuals' attributors (HMAC-SHA256, one per person), reading the keyed
file (as a build reads a partner file: columns checked, rows set aside), and the match (the
joins and the cells per LA and cohort).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from atlas.counting.individuals import Individuals, link_clients
from atlas.counting.periods import parse_period
from atlas.linkage.keys import KEY_COLUMN, keyed, person_keys
from atlas.linkage.partner_files import read_partner
from atlas.linkage.treatment import match_treatment

KEY = b"benchmark linkage key, not a real one"
LETTERS = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), dtype=object)


def synthetic(people: int, rows: int, seed: int = 18):
    rng = np.random.default_rng(seed)
    dob = pd.Timestamp("1940-01-01") + pd.to_timedelta(rng.integers(0, 60 * 365, people), "D")
    clients = pd.DataFrame(
        {
            "client_ref": [f"C{i:07d}" for i in range(people)],
            "first_initial": rng.choice(LETTERS, people),
            "last_initial": rng.choice(LETTERS, people),
            "date_of_birth": dob,
            "gender": rng.choice(
                np.array(["M", "F", "U"], dtype=object), people, p=[0.6, 0.38, 0.02]
            ),
        }
    )
    las = [f"E06{i:06d}" for i in range(300)]
    sites = pd.DataFrame(
        {"site_code": [f"S{i:04d}" for i in range(1_300)], "la_code": np.repeat(las, 5)[:1_300]}
    )
    return clients, sites, las, rng


def individuals(clients: pd.DataFrame, sites: pd.DataFrame, rng) -> Individuals:
    person_of = link_clients(clients)
    ids = np.unique(person_of.to_numpy())
    cohort = rng.choice(
        np.array(["pwid_psychoactive", "pwid_ipeds", "bi"], dtype=object), len(ids)
    )
    people = pd.DataFrame({"cohort": cohort}, index=pd.Index(ids, name="person"))
    site = rng.choice(sites["site_code"].to_numpy(), len(ids))
    nsp = pd.DataFrame({"person": ids, "site_code": site})
    return Individuals(parse_period("2017-18"), person_of, people, nsp, nsp.iloc[:0])


def treatment_file(
    folder: Path, clients: pd.DataFrame, person_key: pd.Series, rows: int, las, rng
) -> Path:
    ims = min(int(rows * 0.3), len(person_key))
    mine = rng.choice(person_key.to_numpy(), ims, replace=False)
    others = keyed(np.array([f"X|Y|{i}|M" for i in range(rows - ims)], dtype=object), b"other")
    frame = pd.DataFrame(
        {
            KEY_COLUMN: np.concatenate([mine, others]),
            "la_code": rng.choice(np.array([*las, ""], dtype=object), rows),
            "start_date": "2017-01-01",
            "end_date": "",
        }
    )
    path = folder / "treatment_hashed.csv"
    frame.to_csv(path, index=False)
    return path


def run(people: int, rows: int) -> dict[str, tuple[float, float]]:
    clients, sites, las, rng = synthetic(people, rows)
    ind = individuals(clients, sites, rng)
    times: dict[str, tuple[float, float]] = {}  # wall and CPU seconds

    def clock() -> tuple[float, float]:
        return time.perf_counter(), time.process_time()

    def since(start: tuple[float, float]) -> tuple[float, float]:
        now = clock()
        return now[0] - start[0], now[1] - start[1]

    t0 = clock()
    person_key = person_keys(clients, ind.person_of, KEY)
    times["key the IMS individuals"] = since(t0)
    with tempfile.TemporaryDirectory() as tmp:
        path = treatment_file(Path(tmp), clients, person_key, rows, las, rng)
        t0 = clock()
        file = read_partner(
            path,
            (KEY_COLUMN,),
            ("la_code", "start_date", "end_date"),
            dates=("start_date", "end_date"),
            codes=("la_code",),
        )
        times["read the keyed file"] = since(t0)
    t0 = clock()
    match = match_treatment(file, ind, person_key, sites, las)
    times["match and count"] = since(t0)
    times["total"] = (sum(t[0] for t in times.values()), sum(t[1] for t in times.values()))
    assert match.private["both"] > 0
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    results = [run(args.people, args.rows) for _ in range(args.runs)]
    print(
        f"treatment match: {args.people:,} IMS individuals x {args.rows:,} keyed rows "
        f"(median of {args.runs}; target total <= 5 s)"
    )
    print(f"  {'':<26} {'wall':>8} {'CPU':>8}   (CPU: the process's own time, what a busy")
    print(f"  {'':<26} {'':>8} {'':>8}    machine's other work does not add to)")
    for name in results[0]:
        wall = statistics.median(r[name][0] for r in results)
        cpu = statistics.median(r[name][1] for r in results)
        print(f"  {name:<26} {wall:7.2f}s {cpu:7.2f}s")


if __name__ == "__main__":
    main()
