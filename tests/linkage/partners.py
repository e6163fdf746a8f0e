"""Fictional partner files for the demo extract: a treatment file and a deaths register of
attributors (as a partner holds them, before ``ims-atlas link-key``), drawn reproducibly from
the demo's clients and some people IMS never saw."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

DEMO = Path(__file__).resolve().parents[2] / "boundaries" / "demo"
KEY = b"demo linkage key: fictional, never publish a real one\n"


def _people(rng: np.random.Generator, n: int) -> pd.DataFrame:
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    return pd.DataFrame(
        {
            "first_initial": rng.choice(letters, n),
            "last_initial": rng.choice(letters, n),
            "date_of_birth": [
                f"{y}-{m:02d}-{d:02d}"
                for y, m, d in zip(
                    rng.integers(1940, 2000, n), rng.integers(1, 13, n), rng.integers(1, 29, n)
                )
            ],
            "gender": rng.choice(["M", "F"], n),
        }
    )


def write_partner_files(folder: Path, seed: int = 18) -> dict[str, Path]:
    """``treatment.csv`` and ``deaths.csv`` of attributors in ``folder``, and the key file."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    clients = pd.read_csv(DEMO / "extract" / "clients.csv", dtype=str, keep_default_na=False)
    clients = clients.drop_duplicates(["first_initial", "last_initial", "date_of_birth", "gender"])
    las = ["E06900001", "E06900002", "E06900003", "E06900004"]
    cols = ["first_initial", "last_initial", "date_of_birth", "gender"]
    ims = clients.sample(frac=0.3, random_state=seed)[cols]
    others = _people(rng, 400)
    treatment = pd.concat([ims, others], ignore_index=True)
    treatment["la_code"] = rng.choice([*las, ""], len(treatment))
    treatment["start_date"] = "2017-01-01"
    treatment["end_date"] = ""
    treatment["episode"] = [f"T{i:05d}" for i in range(len(treatment))]
    postcodes = pd.read_csv(DEMO / "postcodes.csv", dtype=str, usecols=["pcds"])["pcds"]
    dead = pd.concat(
        [clients.sample(n=60, random_state=seed + 1)[cols], _people(rng, 60)], ignore_index=True
    )
    days = pd.to_datetime("2012-04-01") + pd.to_timedelta(rng.integers(0, 2190, len(dead)), "D")
    dead["date_of_death"] = days.strftime("%Y-%m-%d")
    dead["postcode"] = rng.choice(postcodes.to_numpy(), len(dead))
    dead["cause"] = "drug poisoning"
    paths = {"treatment": folder / "treatment.csv", "deaths": folder / "deaths.csv"}
    for name, frame in (("treatment", treatment), ("deaths", dead)):
        frame.to_csv(paths[name], index=False, quoting=csv.QUOTE_MINIMAL)
    paths["key"] = folder / "linkage.key"
    paths["key"].write_bytes(KEY)
    return paths
