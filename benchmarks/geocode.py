"""Benchmark: a national-size postcode directory and a million residence postcodes.

    python benchmarks/geocode.py [--work /tmp/ims-atlas-bench] [--rows 2700000] [--people 1000000]

1. Makes (once) a directory CSV of ``--rows`` rows in full NSPL layout by replicating the real
   NSPL Nov 2021 rows of the WN postcode area (../shared/data/raw/nspl-nov2021, all 41 columns)
   under new postcode areas and new LA/LSOA codes, so it is about the national file's 1 GB.
2. Makes ``--people`` residence postcodes drawn from it, spelt as extracts spell them (case,
   spacing, O/0 slips), with terminated, partial, NFA, invalid and missing ones mixed in.
3. In a fresh process (so that peak memory is the geocoder's alone) measures: the first load
   (hash + read the CSV + write the Parquet cache), the cached load, and geocoding the million;
   and prints the peak resident memory.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import resource
import string
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "data" / "raw" / "nspl-nov2021" / "NSPL_NOV_2021_UK_WN.csv"
CODE_RE = re.compile(r'"([EWSN])(\d{2})(\d{6})"')


def new_areas() -> list[str]:
    """Two-letter postcode areas for the copies (ZZ is the pseudo-postcode area: skipped)."""
    return [
        "".join(p)
        for p in itertools.product(string.ascii_uppercase, repeat=2)
        if "".join(p) != "ZZ"
    ]


def make_directory(path: Path, rows: int) -> None:
    lines = SOURCE.read_text().splitlines()
    header, body = lines[0], "\n".join(lines[1:]) + "\n"
    per_copy = len(lines) - 1
    copies = -(-rows // per_copy)
    with open(path, "w") as fh:
        fh.write(header + "\n")
        for i, area in zip(range(copies), new_areas()):
            text = CODE_RE.sub(lambda m: f'"{m[1]}{m[2]}{i:03d}{m[3]}"', body)
            text = text.replace('"WN', f'"{area}')
            if i == copies - 1:  # trim the last copy to the exact row count
                keep = rows - per_copy * i
                text = "\n".join(text.split("\n")[:keep]) + "\n"
            fh.write(text)


def make_people(directory_csv: Path, out: Path, people: int, seed: int = 3) -> list[str]:
    """Residence postcodes as extracts spell them; returns the drop's LA codes."""
    import numpy as np
    import pandas as pd

    from atlas.geography.directory import read_directory

    rng = np.random.default_rng(seed)
    d = read_directory([directory_csv])
    las = sorted(d["la_code"].dropna().unique())
    drop = las[: len(las) // 2]  # half the country is "in the drop"
    live, dead = d[d["live"]], d[~d["live"]]
    n = people
    kinds = rng.choice(
        ["live", "dead", "partial", "nfa", "invalid", "missing"],
        n,
        p=[0.86, 0.04, 0.03, 0.02, 0.02, 0.03],
    )
    pc = np.empty(n, dtype=object)
    k = kinds == "live"
    chosen = live["postcode"].to_numpy(object)[rng.integers(0, len(live), k.sum())]
    style = rng.integers(0, 5, k.sum())
    s = pd.Series(chosen)
    spelt = np.select(
        [style == 0, style == 1, style == 2, style == 3],
        [
            s,
            s.str.lower(),
            s.str.replace(" ", "", regex=False),
            s.str.replace(" ", "   ", regex=False),
        ],
        default=s.str.slice(0, -3)
        + " "
        + s.str.slice(-3, -2).replace({"0": "O", "1": "I"})
        + s.str.slice(-2),
    )
    pc[k] = spelt
    k = kinds == "dead"
    pc[k] = dead["postcode"].to_numpy(object)[rng.integers(0, len(dead), k.sum())]
    k = kinds == "partial"
    some = pd.Series(live["postcode"].to_numpy(object)[rng.integers(0, len(live), k.sum())])
    pc[k] = np.where(rng.random(k.sum()) < 0.5, some.str.split(" ").str[0], some.str.slice(0, -2))
    k = kinds == "nfa"
    pc[k] = rng.choice(["NFA", "ZZ99 3VZ", "no fixed abode"], k.sum())
    k = kinds == "invalid"
    pc[k] = rng.choice(["12345", "QQ1 1QQ", "L8", "XX99 9XX", "UNKNOWN"], k.sum())
    pc[kinds == "missing"] = ""
    pd.DataFrame({"postcode": pc}).to_parquet(out, index=False)
    return drop


def measure(directory_csv: Path, people: Path, cache: Path, drop: list[str]) -> dict:
    import shutil

    import pandas as pd

    from atlas.geography.directory import load_directory
    from atlas.geography.geocode import geocode

    shutil.rmtree(cache, ignore_errors=True)
    t = time.perf_counter()
    load_directory([directory_csv], cache=cache)
    first = time.perf_counter() - t
    t = time.perf_counter()
    d = load_directory([directory_csv], cache=cache)
    cached = time.perf_counter() - t
    postcodes = pd.read_parquet(people)["postcode"]
    t = time.perf_counter()
    out = geocode(postcodes, d, set(drop))
    match = time.perf_counter() - t
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "directory_rows": len(d),
        "people": len(postcodes),
        "csv_mb": round(directory_csv.stat().st_size / 1e6),
        "first_load_s": round(first, 2),
        "cached_load_s": round(cached, 2),
        "match_s": round(match, 2),
        "peak_rss_gb": round(peak_kb / 1e6, 2),
        "match_levels": out["match_level"].value_counts().to_dict(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/ims-atlas-bench"))
    ap.add_argument("--rows", type=int, default=2_700_000)
    ap.add_argument("--people", type=int, default=1_000_000)
    ap.add_argument(
        "--measure", nargs=4, metavar=("CSV", "PEOPLE", "CACHE", "LAS"), help=argparse.SUPPRESS
    )
    args = ap.parse_args()
    if args.measure:
        csv_path, people, cache, las = args.measure
        print(json.dumps(measure(Path(csv_path), Path(people), Path(cache), las.split(","))))
        return
    if not SOURCE.is_file():
        sys.exit(f"the real NSPL rows are needed: {SOURCE} not found")
    args.work.mkdir(parents=True, exist_ok=True)
    csv_path = args.work / f"NSPL_bench_{args.rows}.csv"
    if not csv_path.is_file():
        print(f"making {csv_path} ({args.rows:,} rows)…", file=sys.stderr)
        make_directory(csv_path, args.rows)
    people = args.work / f"people_{args.people}.parquet"
    las_file = args.work / f"people_{args.people}.las"
    if not people.is_file() or not las_file.is_file():
        print(f"making {people}…", file=sys.stderr)
        las_file.write_text(",".join(make_people(csv_path, people, args.people)))
    result = subprocess.run(
        [
            sys.executable,
            __file__,
            "--measure",
            str(csv_path),
            str(people),
            str(args.work / "cache"),
            las_file.read_text(),
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    report = json.loads(result.stdout)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
