"""Benchmark: open a drop's atlas.html from the file system in headless Chromium, with the
network blocked, and time how long until the page is ready and its first shapes are drawn.

    python benchmarks/atlas_load.py DROP [--runs 3]

Prints the page and asset sizes, the median time to ready and to the first drawn shapes, the
number of shapes drawn and any severe console errors (Debian chromium + chromedriver needed).
For a drop whose LSOAs load on demand (atlas/lsoa-<LA>.js beside the page), also the size of
those scripts and the median time from picking a local authority to its LSOAs drawn; and the
size of the postcode index (atlas/postcodes-<area>.js, loaded only when a postcode is searched).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from pathlib import Path

from selenium import webdriver


def open_once(page: Path) -> dict:
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(
        service=webdriver.ChromeService(shutil.which("chromedriver")), options=options
    )
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["http://*", "https://*"]})
        driver.set_page_load_timeout(120)
        started = time.perf_counter()
        driver.get(page.as_uri())
        ready = shapes = None
        while time.perf_counter() - started < 120:
            state = driver.execute_script(
                "return [document.body && document.body.dataset.ready,"
                " document.querySelectorAll('path.leaflet-interactive').length]"
            )
            now = time.perf_counter() - started
            if shapes is None and state[1] > 0:
                shapes = now
            if state[0] == "true" and ready is None:
                ready = now
            if ready is not None and shapes is not None:
                break
            time.sleep(0.05)
        drawn = driver.execute_script(
            "return document.querySelectorAll('path.leaflet-interactive').length"
        )
        la_lsoas = None
        if driver.execute_script(
            "return !!(window.atlasApp && atlasApp.levels.lsoa && "
            "document.querySelector('input[name=level][value=la]:checked')"
            " && JSON.parse(document.getElementById('atlas-data')"
            ".textContent).lazy)"
        ):
            picked = time.perf_counter()  # pick the first LA in the list, then show LSOAs
            driver.execute_script(
                "document.querySelector('#atlas-list tbody button').click();"
                "document.querySelector('input[name=level][value=lsoa]')"
                ".click();"
            )
            while time.perf_counter() - picked < 60:
                if driver.execute_script(
                    "var d = atlasApp.drawn.lsoa; return !!d && d.group.getLayers().length > 0"
                ):
                    la_lsoas = time.perf_counter() - picked
                    break
                time.sleep(0.02)
        errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        return {
            "ready_s": ready,
            "first_shapes_s": shapes,
            "shapes": drawn,
            "errors": errors,
            "la_lsoas_s": la_lsoas,
        }
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("drop", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    page = (args.drop / "atlas.html").resolve()
    runs = [open_once(page) for _ in range(args.runs)]
    chunks = sorted((page.parent / "atlas").glob("lsoa-*.js"))
    sizes = [c.stat().st_size for c in chunks]
    picked = [r["la_lsoas_s"] for r in runs if r["la_lsoas_s"] is not None]
    postcodes = [c.stat().st_size for c in (page.parent / "atlas").glob("postcodes-*.js")]
    print(
        json.dumps(
            {
                "page_bytes": page.stat().st_size,
                "lsoa_scripts": len(chunks),
                "lsoa_scripts_bytes": sum(sizes),
                "largest_lsoa_script_bytes": max(sizes, default=0),
                "page_and_assets_bytes": page.stat().st_size + sum(sizes),
                # the postcode index, one script per postcode area, loaded only by a search
                "postcode_scripts": len(postcodes),
                "postcode_scripts_bytes": sum(postcodes),
                "largest_postcode_script_bytes": max(postcodes, default=0),
                "pick_la_to_lsoas_s_median": round(statistics.median(picked), 2)
                if picked
                else None,
                "ready_s_median": round(statistics.median(r["ready_s"] or 999 for r in runs), 2),
                "first_shapes_s_median": round(
                    statistics.median(r["first_shapes_s"] or 999 for r in runs), 2
                ),
                "shapes": runs[-1]["shapes"],
                "errors": runs[-1]["errors"][:5],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
