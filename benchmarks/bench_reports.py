"""Time the reports' counting, disclosure control and rendering on a demo extract of a chosen
scale (10 is about the size of Cheshire & Merseyside).

    python benchmarks/bench_reports.py --scale 10
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's atlas

from atlas.counting.aggregate import count_all
from atlas.counting.equipment import count_equipment
from atlas.counting.individuals import build_individuals
from atlas.counting.periods import FinancialYear
from atlas.counting.report_counts import count_reports
from atlas.counting.year_numbers import year_cells
from atlas.demo.extract import make_demo_extract, read_directory
from atlas.disclosure.equipment import publish_equipment
from atlas.disclosure.suppress import protect
from atlas.extract.reader import read_extract
from atlas.geography.areas import load_geography
from atlas.geography.geocode import assign_residence, geocode, place_sites
from atlas.render.reports import render_reports

DEMO = Path(__file__).resolve().parents[1] / "boundaries" / "demo"
LAS = ["E06900001", "E06900002", "E06900003", "E06900004"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "extract"
        make_demo_extract(
            folder, read_directory(DEMO / "postcodes.csv"), LAS, seed=1, scale=args.scale
        )
        extract = read_extract(folder)
    rows = sum(v["accepted"] for v in extract.ledger.values())
    geo = load_geography(
        [DEMO / "postcodes.csv"],
        [DEMO / "lsoa.geojson"],
        DEMO / "population.csv",
        DEMO / "la.geojson",
    )
    sites = place_sites(extract["sites.csv"], geo.directory, geo.las)
    ind = build_individuals(extract, FinancialYear(2017))
    coded = geocode(ind.people["residence_postcode"], geo.directory, set(geo.la_codes))
    ind.people = ind.people.join(coded[["match_level"]]).join(
        assign_residence(
            ind.people,
            coded,
            dict(zip(geo.las["la_code"], geo.las["la_name"])),
            dict(zip(geo.lsoas["lsoa_code"], geo.lsoas["la_code"])),
        )
    )
    counts = count_all(ind, geo, sites, "Demo")
    timings = {}
    t = time.perf_counter()
    reports = count_reports(extract, ind, sites, geo.la_codes)
    timings["count_reports"] = time.perf_counter() - t
    t = time.perf_counter()
    year = year_cells(extract, ind, sites, geo.la_codes)
    equipment = count_equipment(ind, sites, geo.la_codes)
    timings["year in numbers, equipment"] = time.perf_counter() - t
    t = time.perf_counter()
    protect(counts, 5)
    timings["protect (spec tables only)"] = time.perf_counter() - t
    t = time.perf_counter()
    published = protect(counts, 5, extra=reports.cells)
    timings["protect (with report cells)"] = time.perf_counter() - t
    t = time.perf_counter()
    with_year = protect(counts, 5, extra=[*reports.cells, *year])
    publish_equipment(equipment, with_year, sites)
    timings["protect (and the year's cells)"] = time.perf_counter() - t
    t = time.perf_counter()
    files = render_reports(
        published, reports, sites, title="bench", area_name="Demo", period="2017-18"
    )
    timings["render_reports"] = time.perf_counter() - t
    cells = sum(len(c.table) for c in reports.cells)
    print(
        f"scale {args.scale:g}: {rows:,} accepted rows, {len(ind.people):,} individuals, "
        f"{len(sites)} sites, {len(reports.years)} financial years, {cells:,} report cells"
    )
    for name, seconds in timings.items():
        print(f"  {name:30s} {seconds:7.2f} s")
    size = sum(len(v) for k, v in files.items() if k.endswith(".html"))
    print(
        f"  reports: {size / 1024:.0f} KiB of HTML, "
        f"{sum(k.endswith('.csv') for k in files)} CSV files"
    )


if __name__ == "__main__":
    main()
