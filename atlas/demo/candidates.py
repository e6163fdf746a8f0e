"""Candidate pharmacies for the demo's NSP siting plan: FICTIONAL, made from the demo directory.

``python -m atlas.demo.candidates boundaries/demo`` writes ``boundaries/demo/candidates.csv``:
40 invented pharmacies at live postcodes of the demo directory, drawn with a fixed seed and
spread by LA in proportion to postcodes, so that the town has most. Every third one gives
latitude/longitude; the others are placed at their postcode, as real candidate lists often are.
Running it twice gives byte-identical files.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 2018
COUNT = 40
STREETS = (
    "Market",
    "Church",
    "Station",
    "Mill",
    "Bridge",
    "Park",
    "High",
    "Chapel",
    "Queen",
    "King",
    "Victoria",
    "Albert",
    "Green",
    "Meadow",
    "School",
    "Castle",
    "Brook",
    "Hill",
)
KINDS = ("Pharmacy", "Chemist", "Pharmacy", "Healthcare Pharmacy")


def make_candidates(folder: Path) -> Path:
    """Write candidates.csv into the demo folder from its postcodes.csv; return its path."""
    d = pd.read_csv(folder / "postcodes.csv", dtype=str, keep_default_na=False)
    live = d[
        (d["doterm"] == "") & d["laua"].str.startswith("E0690000") & (d["laua"] != "E06900009")
    ]
    sites = pd.read_csv(folder / "extract" / "sites.csv", dtype=str, keep_default_na=False)
    live = live[~live["pcds"].isin(sites["postcode"])].sort_values("pcds")
    rng = np.random.default_rng(SEED)
    pick = live.iloc[np.sort(rng.choice(len(live), COUNT, replace=False))]
    out = folder / "candidates.csv"
    with open(out, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["site_code", "site_name", "postcode", "latitude", "longitude"])
        for i, row in enumerate(pick.itertuples(index=False), start=1):
            name = f"{STREETS[rng.integers(len(STREETS))]} Street {KINDS[i % len(KINDS)]}"
            coords = [row.lat, row.long] if i % 3 == 0 else ["", ""]
            w.writerow([f"FZ{i:03d}", name, row.pcds, *coords])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, help="the demo geography folder (boundaries/demo)")
    print(f"wrote {make_candidates(ap.parse_args().folder)}")


if __name__ == "__main__":
    main()
