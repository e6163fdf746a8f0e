"""Benchmark: a whole drop build at national scale, from raw extract to every output.

    python benchmarks/national.py [--runs 3] [--scale 320] [--cache DIR] [--keep DIR]

Makes (once, cached in --cache) a synthetic England: 33,755 LSOAs under 300 LAs (square cells
with wavy shared edges, 24 vertices each, tiling a rectangle the size of England), a
2.7 million-row postcode directory in the NSPL layout (about 80 postcodes per LSOA, 6% of them
terminated), LA boundaries and populations; then a fake extract from the demo generator at
--scale (320: about 1 million client records and 6 million activity rows). Each build runs in a
fresh process; the script reports the median wall time, processor time, peak memory, time per
stage, the number of LA report packs and output sizes, with the machine's core count and load
(see benchmarks/build.py). The packs are in HTML only (no PDF renderer: ``IMS_ATLAS_CHROMIUM``
is set empty) unless ``--pdf``. Target on a 2-core machine (issue 15): the whole drop with about
300 LA packs in HTML in <= 120 s and <= 8 GB.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

# benchmarks/atlas.py would shadow the atlas package: import it from the project root
HERE = Path(__file__).resolve().parent
sys.path[:] = [str(HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]
_spec = importlib.util.spec_from_file_location("bench_build", Path(__file__).with_name("build.py"))
_build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_build)
count_rows, run_builds = _build.count_rows, _build.run_builds

N_LSOAS = 33_755
N_LAS = 300
BLOCK = 11  # an LA is a BLOCK x BLOCK block of cells, filled row by row
LA_COLS, LA_ROWS = 15, 20
POSTCODES = 2_700_000
EDGE_POINTS = 4  # vertices added along each cell edge
WEST, SOUTH, WIDTH, HEIGHT = -5.5, 50.0, 6.5, 5.5
UNIT_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))
AREAS = [a + b for a in "BCDHKLMNPSTW" for b in "ABDEGHKLMNPRST"]


def la_codes() -> list[str]:
    return [f"E07{900000 + i}" for i in range(N_LAS)]


def cells() -> pd.DataFrame:
    """One row per LSOA: its code, LA and grid cell (column i, row j)."""
    per_la = np.full(N_LAS, N_LSOAS // N_LAS)
    per_la[: N_LSOAS % N_LAS] += 1
    la = np.repeat(np.arange(N_LAS), per_la)
    k = np.arange(N_LSOAS) - np.repeat(np.cumsum(per_la) - per_la, per_la)
    i = (la % LA_COLS) * BLOCK + k % BLOCK
    j = (la // LA_COLS) * BLOCK + k // BLOCK
    codes = la_codes()
    return pd.DataFrame(
        {
            "lsoa_code": [f"E01{900000 + n}" for n in range(N_LSOAS)],
            "la": la,
            "la_code": np.asarray(codes)[la],
            "i": i,
            "j": j,
            "k": k,
        }
    )


def _wave(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Offset of the points at t along the edge (a, b): the same for both cells sharing it."""
    m = 1 + (a * 7 + b * 13) % 3
    return 0.15 * np.sin(2 * np.pi * t[None, :] * m[:, None])


def polygons(c: pd.DataFrame) -> np.ndarray:
    """The cell polygons in WGS84: edges shared by neighbours are identical (a true tiling)."""
    i, j = c["i"].to_numpy(), c["j"].to_numpy()
    t = np.arange(1, EDGE_POINTS + 1) / (EDGE_POINTS + 1)

    def hedge(i, j):  # along y = j from x = i to i + 1
        return np.stack([i[:, None] + t, j[:, None] + _wave(i, j, t)], axis=-1)

    def vedge(i, j):  # along x = i from y = j to j + 1
        return np.stack([i[:, None] + _wave(i + 10_000, j, t), j[:, None] + t], axis=-1)

    def corner(i, j):
        return np.stack([i, j], axis=-1)[:, None, :].astype(float)

    ring = np.concatenate(
        [
            corner(i, j),
            hedge(i, j),
            corner(i + 1, j),
            vedge(i + 1, j),
            corner(i + 1, j + 1),
            hedge(i, j + 1)[:, ::-1],
            corner(i, j + 1),
            vedge(i, j)[:, ::-1],
            corner(i, j),
        ],
        axis=1,
    )
    nx, ny = LA_COLS * BLOCK, LA_ROWS * BLOCK
    lon = WEST + ring[..., 0] * WIDTH / nx
    lat = SOUTH + ring[..., 1] * HEIGHT / ny
    return shapely.polygons(np.round(np.stack([lon, lat], axis=-1), 6))


def make_geography(folder: Path, seed: int = 8) -> dict[str, Path]:
    """Write lsoa.gpkg, la.gpkg, population.csv and postcodes.csv (NSPL columns) once."""
    import geopandas as gpd

    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        name: folder / name for name in ("lsoa.gpkg", "la.gpkg", "population.csv", "postcodes.csv")
    }
    if all(p.is_file() for p in paths.values()):
        return paths
    rng = np.random.default_rng(seed)
    c = cells()
    geom = polygons(c)
    la_names = [f"Synthtown {n:03d}" for n in range(N_LAS)]
    names = [f"{la_names[la]} {k:03d}A" for la, k in zip(c["la"], c["k"])]
    gpd.GeoDataFrame(
        {"LSOA21CD": c["lsoa_code"], "LSOA21NM": names, "LAD22CD": c["la_code"]},
        geometry=geom,
        crs="EPSG:4326",
    ).to_file(paths["lsoa.gpkg"], driver="GPKG")
    la_geom = [shapely.coverage_union_all(geom[c["la"].to_numpy() == n]) for n in range(N_LAS)]
    gpd.GeoDataFrame(
        {"LAD22CD": la_codes(), "LAD22NM": la_names}, geometry=la_geom, crs="EPSG:4326"
    ).to_file(paths["la.gpkg"], driver="GPKG")
    pop = rng.integers(1000, 3000, N_LSOAS)
    pd.DataFrame({"area_code": c["lsoa_code"], "population": pop}).to_csv(
        paths["population.csv"], index=False
    )
    _postcodes(c, geom, rng).to_csv(paths["postcodes.csv"], index=False)
    return paths


def _postcodes(c: pd.DataFrame, geom: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """About 80 postcodes per LSOA, at points inside it; each LA has its own districts."""
    per = np.full(N_LSOAS, POSTCODES // N_LSOAS)
    per[: POSTCODES % N_LSOAS] += 1
    row = np.repeat(np.arange(N_LSOAS), per)
    la = c["la"].to_numpy()[row]
    n_in_la = np.arange(len(row)) - np.searchsorted(la, la)  # rows are in LA order
    # postcode n of an LA: district (3 per LA), sector 0-9, unit AA..ZZ of 20 letters
    district = (la % 30) * 3 + 1 + n_in_la // 4000
    sector = (n_in_la // 400) % 10
    unit = n_in_la % 400
    area = np.asarray(AREAS)[la // 30]
    pcds = (
        pd.Series(area)
        + district.astype(str)
        + " "
        + sector.astype(str)
        + UNIT_LETTERS[unit // 20]
        + UNIT_LETTERS[unit % 20]
    )
    bounds = shapely.bounds(geom)[row]
    u = rng.uniform(0.3, 0.7, size=(len(row), 2))
    lon = bounds[:, 0] + u[:, 0] * (bounds[:, 2] - bounds[:, 0])
    lat = bounds[:, 1] + u[:, 1] * (bounds[:, 3] - bounds[:, 1])
    doterm = np.where(rng.random(len(row)) < 0.06, "201506", "")
    return pd.DataFrame(
        {
            "pcds": pcds,
            "doterm": doterm,
            "laua": c["la_code"].to_numpy()[row],
            "lsoa21": c["lsoa_code"].to_numpy()[row],
            "lsoa11": "",
            "lat": np.round(lat, 6),
            "long": np.round(lon, 6),
        }
    )


def make_inputs(cache: Path, scale: float) -> tuple[Path, str]:
    """The geography (cached), the extract at scale (cached) and the recipe."""
    from atlas.demo.extract import make_demo_extract, read_directory

    paths = make_geography(cache / "geography")
    extract = cache / f"extract-{scale:g}"
    if not (extract / "clients.csv").is_file():
        started = time.perf_counter()
        make_demo_extract(extract, read_directory(paths["postcodes.csv"]), la_codes(), scale=scale)
        print(f"extract generated in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    recipe = cache / f"national-{scale:g}.toml"
    recipe.write_text(f"""[drop]
name = "national"
period = "2017-18"
area_name = "England"

[extract]
path = "{extract}"

[geography]
postcodes = "{paths["postcodes.csv"]}"
lsoa_boundaries = "{paths["lsoa.gpkg"]}"
la_boundaries = "{paths["la.gpkg"]}"
population = "{paths["population.csv"]}"

[atlas]
basemap = "none"
""")
    return recipe, (f"synthetic England ({N_LSOAS:,} LSOAs, {N_LAS} LAs, {POSTCODES:,} postcodes)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scale", type=float, default=320.0)
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "ims-atlas-national",
        help="where the synthetic geography and extract are kept between runs",
    )
    parser.add_argument("--keep", type=Path, help="write the drop here")
    parser.add_argument(
        "--pdf", action="store_true", help="print every report to PDF too (headless Chromium)"
    )
    args = parser.parse_args()
    if not args.pdf:
        os.environ["IMS_ATLAS_CHROMIUM"] = ""  # HTML packs: no PDF renderer
    args.cache.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    recipe, label = make_inputs(args.cache, args.scale)
    print(f"inputs ready in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    out = args.keep or args.cache / "drop"
    result = run_builds(recipe, out, args.runs)
    print(
        json.dumps(
            {
                "geography": label,
                "scale": args.scale,
                "extract_rows": count_rows(recipe.parent / f"extract-{args.scale:g}"),
                "pdf": args.pdf,
                "la_packs": sum(
                    p.startswith("reports/la/") and p.endswith("/monitoring.html")
                    for p in result["output_bytes"]
                ),
                **result,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
