"""Benchmark: a whole drop build, from raw extract to every output.

    python benchmarks/build.py [--runs 3] [--scale 10] [--keep DIR] [--cell-key]

Makes a fake extract at the given scale (10 is about Cheshire & Merseyside: ~30,000 client
records, ~80,000 NSP visits and ~50,000 interventions in the year), on the real C&M geography of
../shared/data when present (1,562 LSOAs, 9 LAs), else on the bundled demo geography. Each build
runs in a fresh process; the script reports the median wall time, peak memory (max RSS) and the
size of every output, with the machine's core count, and the median time of each stage (read
the extract, geography, individuals, geocode, count, suppress, render, audit, write: the
moments the build reports its progress). A first build with an empty cache is reported apart
(``cold_cache``): it reads the postcode directory and the boundaries from their sources.
``--cell-key`` builds with ``protection = "cell_key"`` (a fixed benchmark secret).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
CM_LAS = [
    "E06000049",
    "E06000050",
    "E06000006",
    "E06000007",
    "E08000011",
    "E08000012",
    "E08000013",
    "E08000014",
    "E08000015",
]

RUNNER = """
import json, resource, sys, time
t0, c0 = time.perf_counter(), time.process_time()
marks = [("import", t0, c0)]
from atlas.recipe import load_recipe
from atlas.drop import build
build(load_recipe(sys.argv[1]), sys.argv[2],
      progress=lambda msg: marks.append((msg, time.perf_counter(), time.process_time())))
marks.append(("end", time.perf_counter(), time.process_time()))
stages, cpu = {}, {}
for (name, t, c), (_, t_next, c_next) in zip(marks, marks[1:]):
    stages[name] = stages.get(name, 0) + t_next - t
    cpu[name] = cpu.get(name, 0) + c_next - c
print(json.dumps({"wall": marks[-1][1] - t0, "cpu": marks[-1][2] - c0, "stages": stages,
                  "cpu_stages": cpu,
                  "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def make_inputs(work: Path, scale: float, cell_key: bool = False) -> tuple[Path, str]:
    """Write the extract and recipe; return the recipe and a description of the geography."""
    if (SHARED / "derived" / "NSPL_CM_derived.csv").is_file():
        directory = SHARED / "derived" / "NSPL_CM_derived.csv"
        geography = f"""
postcodes = "{directory}"
lsoa_boundaries = "{SHARED}/raw/uk-geojson-lsoa11/*.json"
population = "{SHARED}/raw/ons-sape-via-demographr/population19_lsoa11_9LA.csv"
"""
        las, label = CM_LAS, "real Cheshire & Merseyside geography (1,562 LSOAs, 9 LAs)"
    else:
        demo = ROOT / "boundaries" / "demo"
        directory = demo / "postcodes.csv"
        geography = f"""
postcodes = "{directory}"
lsoa_boundaries = ["{demo}/lsoa.geojson"]
population = "{demo}/population.csv"
"""
        las = ["E06900001", "E06900002", "E06900003", "E06900004"]
        label = "bundled demo geography (198 LSOAs, 4 LAs)"
    args = [
        sys.executable,
        "-m",
        "atlas.cli",
        "demo-data",
        str(work / "extract"),
        "--scale",
        str(scale),
        "--postcodes",
        str(directory),
    ]
    for la in las:
        args += ["--la", la]
    subprocess.run(args, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    recipe = work / "bench.toml"
    protection = ""
    if cell_key:
        (work / "secret.txt").write_text("a fixed secret for benchmarks only\n")
        protection = 'protection = "cell_key"\ncell_key_secret_file = "secret.txt"\n'
    recipe.write_text(f"""[drop]
name = "bench"
period = "2017-18"
{protection}
[extract]
path = "extract"

[geography]
{geography}
[atlas]
basemap = "none"
""")
    return recipe, label


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--keep", type=Path, help="keep the inputs and drop here")
    parser.add_argument(
        "--cell-key", action="store_true", help='build with protection = "cell_key"'
    )
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="ims-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    recipe, label = make_inputs(work, args.scale, args.cell_key)
    result = run_builds(recipe, work / "drop", args.runs)
    print(
        json.dumps(
            {
                "geography": label,
                "scale": args.scale,
                "protection": "cell_key" if args.cell_key else "suppression",
                "extract_rows": count_rows(work / "extract"),
                **result,
            },
            indent=2,
        )
    )


def count_rows(extract: Path) -> dict[str, int]:
    rows = {}
    for name in ("clients.csv", "nsp_transactions.csv", "interventions.csv"):
        with open(extract / name, "rb") as fh:
            rows[name] = sum(1 for _ in fh) - 1
    return rows


def run_builds(recipe: Path, out: Path, runs: int) -> dict:
    """One build with an empty cache (``IMS_ATLAS_CACHE``: the postcode directory and the
    prepared boundaries are read from their sources), then ``runs`` builds with that cache
    warm, as an analyst regenerating drops has it; each in a fresh process. Medians of wall
    time, peak RSS and stages of the warm builds, and the cold build's figures."""
    cache = Path(tempfile.mkdtemp(prefix="ims-bench-cache-"))
    env = {**os.environ, "IMS_ATLAS_CACHE": str(cache)}
    try:
        cold = _run_once(recipe, out, env, "cold cache")
        warm = [_run_once(recipe, out, env, f"run {i + 1}") for i in range(runs)]
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    sizes = {
        str(p.relative_to(out)): p.stat().st_size for p in sorted(out.rglob("*")) if p.is_file()
    }
    walls = [w["wall"] for w in warm]
    return {
        "cores": os.cpu_count(),
        "load_average": [round(x, 1) for x in os.getloadavg()],  # others' work skews walls
        "runs": runs,
        "wall_s_median": round(statistics.median(walls), 2),
        "wall_s_all": [round(w, 2) for w in walls],
        # the build's own processor time (every thread): steadier than wall on a busy machine
        "cpu_s_median": round(statistics.median(w["cpu"] for w in warm), 2),
        "peak_mb_median": round(statistics.median(w["rss_kb"] for w in warm) / 1024),
        "stage_s_median": {
            k: round(statistics.median(w["stages"][k] for w in warm), 2) for k in warm[0]["stages"]
        },
        "stage_cpu_s_median": {
            k: round(statistics.median(w["cpu_stages"][k] for w in warm), 2)
            for k in warm[0]["cpu_stages"]
        },
        "cold_cache": {
            "wall_s": round(cold["wall"], 2),
            "cpu_s": round(cold["cpu"], 2),
            "peak_mb": round(cold["rss_kb"] / 1024),
            "stage_s": {k: round(v, 2) for k, v in cold["stages"].items()},
        },
        "output_bytes_total": sum(sizes.values()),
        "output_bytes": sizes,
    }


def _run_once(recipe: Path, out: Path, env: dict[str, str], label: str) -> dict:
    """One build in a fresh process: its wall time, peak RSS and stage times."""
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(recipe), str(out)],
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    got = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        f"{label}: {got['wall']:.2f} s ({got['cpu']:.2f} s CPU), {got['rss_kb'] / 1024:.0f} MB",
        file=sys.stderr,
    )
    return got


if __name__ == "__main__":
    main()
