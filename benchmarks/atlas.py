"""Atlas page benchmark: ours against a hand-made folium map of the same published counts.

    python benchmarks/atlas.py [--scale 10] [--work DIR]

Builds a Cheshire & Merseyside-sized drop (fake extract from the real postcodes, the real 1,562
LSOA boundaries, populations and MSOA lookup in ../shared/data), then the folium map an analyst
would make by hand (one full-resolution GeoJSON per cohort, folium's CDN links) and the same map
with its assets inlined (so that it can be timed offline). Reports file sizes, network requests
attempted and the time to the first drawn shape in headless Chromium with the network blocked.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # this file is named atlas.py: import the package, not this script

import folium  # noqa: E402
import pandas as pd  # noqa: E402

from benchmarks.build import CM_LAS  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
DIRECTORY = DATA / "derived" / "NSPL_CM_derived.csv"
BOUNDARIES = DATA / "raw" / "uk-geojson-lsoa11"
POPULATION = DATA / "raw" / "ons-sape-via-demographr" / "population19_lsoa11_9LA.csv"
LOOKUP = (
    DATA
    / "raw"
    / "ons-oa11-lsoa11-msoa11-lad17-lookup"
    / "OA11_LSOA11_MSOA11_LAD17_OAC_lookup_9LA.csv"
)
LAS = CM_LAS
FIRST_SHAPE = """
window.__firstShape = null;
new MutationObserver(function (ms, obs) {
  if (document.querySelector('.leaflet-overlay-pane path')) {
    window.__firstShape = performance.now(); obs.disconnect(); }
}).observe(document, {childList: true, subtree: true});
"""


def build_ours(work: Path, scale: float) -> Path:
    from atlas.demo.extract import make_demo_extract, read_directory
    from atlas.drop import build
    from atlas.recipe import load_recipe

    extract = work / "extract"
    if not extract.is_dir():
        make_demo_extract(extract, read_directory(DIRECTORY), LAS, seed=7, scale=scale)
    recipe = work / "cm.toml"
    recipe.write_text(f"""
[drop]
name = "cm"
period = "2017-18"
title = "Cheshire & Merseyside (fake extract)"
area_name = "Cheshire & Merseyside"
[extract]
path = "extract"
[geography]
postcodes = "{DIRECTORY}"
lsoa_boundaries = "{BOUNDARIES}/*.json"
population = "{POPULATION}"
lookup = "{LOOKUP}"
[atlas]
basemap = "none"
""")
    started = time.perf_counter()
    out = build(load_recipe(recipe), work / "out" / "cm").out_dir
    print(f"build of the whole drop: {time.perf_counter() - started:.1f} s")
    return out


def build_folium(drop: Path, work: Path, inline: bool) -> Path:
    """The hand-made map: full-resolution LSOAs, one GeoJSON layer per cohort, CDN assets."""
    import geopandas as gpd

    from atlas.counting.individuals import COHORT_LABELS

    lsoas = pd.concat([gpd.read_file(p) for p in sorted(BOUNDARIES.glob("*.json"))])
    table = pd.read_csv(
        drop / "tables" / "residence_lsoa_cohorts.csv", dtype={"individuals": "Int64"}
    )
    fmap = folium.Map(location=[53.4, -2.8], zoom_start=10, tiles=None)
    for cohort, label in COHORT_LABELS.items():
        rows = table[table["cohort"] == cohort].set_index("lsoa_code")
        layer = lsoas.assign(
            individuals=lsoas["LSOA11CD"]
            .map(rows["individuals"])
            .astype(object)
            .where(lambda s: s.notna(), "suppressed")
        )
        folium.GeoJson(
            json.loads(layer.to_json()),
            name=label,
            overlay=False,
            show=cohort == "all",
            style_function=lambda f: {"fillColor": "#fd8d3c", "color": "#666", "weight": 0.5},
            tooltip=folium.GeoJsonTooltip(["LSOA11NM", "LSOA11CD", "individuals"]),
        ).add_to(fmap)
    folium.LayerControl().add_to(fmap)
    path = work / ("folium_inlined.html" if inline else "folium_cdn.html")
    if inline:
        from atlas.render.assets import leaflet_assets

        js, css = leaflet_assets()
        fmap.default_js, fmap.default_css = [], []
        import branca.element as be

        fmap.get_root().header.add_child(be.Element(f"<style>{css}</style>"))
        fmap.get_root().header.add_child(be.Element(f"<script>{js}</script>"))
    fmap.save(str(path))
    return path


def time_in_chromium(path: Path, runs: int = 3) -> tuple[float | None, int]:
    """Median ms to the first shape, with every http(s) request blocked; requests attempted."""
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(
        service=webdriver.ChromeService(executable_path=shutil.which("chromedriver")),
        options=options,
    )
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["http://*", "https://*"]})
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": FIRST_SHAPE})
        times, attempted = [], 0
        for _ in range(runs):
            driver.get(path.as_uri())
            time.sleep(1.0)
            times.append(driver.execute_script("return window.__firstShape"))
            attempted = driver.execute_script(
                "return performance.getEntriesByType('resource')"
                ".filter(e => !e.name.startsWith('file:') && !e.name.startsWith('data:')).length"
            )
        ok = sorted(t for t in times if t is not None)
        return (ok[len(ok) // 2] if len(ok) == len(times) else None), attempted
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="atlas-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    drop = build_ours(work, args.scale)
    pages = {
        "ours (atlas.html)": drop / "atlas.html",
        "folium by hand, CDN links": build_folium(drop, work, inline=False),
        "folium by hand, assets inlined": build_folium(drop, work, inline=True),
    }
    print(f"\n{'page':34} {'bytes':>12} {'first shape (ms)':>17} {'web requests':>13}")
    for label, path in pages.items():
        first, attempted = time_in_chromium(path)
        shown = "never (blank)" if first is None else f"{first:.0f}"
        print(f"{label:34} {path.stat().st_size:>12,} {shown:>17} {attempted:>13}")
    print(f"\nwork folder: {work}")


if __name__ == "__main__":
    main()
