"""Benchmark: every speed target of the project in one command, with a summary table.

    python benchmarks/all.py [--runs 3] [--json FILE]

Runs, each build in a fresh process (see build.py):
(a) IMS scale: ``build.py --scale 10`` (about 30,000 client records on the real C&M geography);
(b) national scale: ``national.py`` (synthetic England, about 1 million client records);
then opens the national atlas in headless Chromium (``atlas_load.py``). Prints a Markdown
summary: median wall time and peak memory against the targets (and the first build, with an
empty cache), the national page's size and time to first shapes, and each stage's median time
at both scales with the growth from (a) to (b). ``--json`` also keeps every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGETS = {"ims": (5.0, 1024), "national": (120.0, 8192)}  # (wall s, peak MB)
PAGE_TARGET = (25 * 1024 * 1024, 3.0)  # page and assets bytes, first shapes s


def run_script(args: list[str]) -> dict:
    """Run a benchmark script (its progress goes to stderr) and parse its JSON stdout."""
    done = subprocess.run(
        [sys.executable, *args],
        check=True,
        cwd=HERE.parent,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(HERE.parent)},
    )
    return json.loads(done.stdout[done.stdout.index("{") :])


def summary(ims: dict, national: dict, page: dict) -> str:
    """The figures as Markdown tables."""

    def verdict(ok: bool) -> str:
        return "met" if ok else "**not met**"

    lines = [
        f"{ims['cores']} cores, median of {ims['runs']} runs (national: {national['runs']})",
        "",
        "| scale | wall (s) | peak (MB) | target | | cold cache: wall (s), peak (MB) |",
        "|---|---|---|---|---|---|",
    ]
    for key, label, got in (("ims", "(a) IMS", ims), ("national", "(b) national", national)):
        wall, peak = TARGETS[key]
        ok = got["wall_s_median"] <= wall and got["peak_mb_median"] <= peak
        lines.append(
            f"| {label} | {got['wall_s_median']:.2f} | {got['peak_mb_median']:,} | "
            f"≤ {wall:g} s, ≤ {peak // 1024} GB | {verdict(ok)} | "
            f"{got['cold_cache']['wall_s']:.2f}, {got['cold_cache']['peak_mb']:,} |"
        )
    size, first = page["page_and_assets_bytes"], page["first_shapes_s_median"]
    ok = size <= PAGE_TARGET[0] and first <= PAGE_TARGET[1] and not page["errors"]
    lines += [
        "",
        "| national atlas | value | target |",
        "|---|---|---|",
        f"| page and LSOA scripts | {size / 1e6:.1f} MB | ≤ 25 MB |",
        f"| first shapes drawn | {first:.2f} s | ≤ 3 s |",
        f"| pick an LA → its LSOAs drawn | {page['pick_la_to_lsoas_s_median']} s | |",
        f"| console errors | {len(page['errors'])} | 0 |",
        f"| verdict | {verdict(ok)} | |",
        "",
        "| stage | (a) s | (b) s | (b) / (a) |",
        "|---|---|---|---|",
    ]
    a, b = ims["stage_s_median"], national["stage_s_median"]
    for stage in a:
        ratio = f"{b[stage] / a[stage]:.0f}×" if a[stage] >= 0.01 and stage in b else ""
        lines.append(f"| {stage} | {a[stage]:.2f} | {b.get(stage, 0):.2f} | {ratio} |")
    rows = (
        f"{sum(ims['extract_rows'].values()):,}",
        f"{sum(national['extract_rows'].values()):,}",
    )
    lines += [f"| *extract rows* | {rows[0]} | {rows[1]} | |"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args()
    runs = str(args.runs)
    ims = run_script([str(HERE / "build.py"), "--runs", runs, "--scale", "10"])
    drop = Path(tempfile.mkdtemp(prefix="ims-national-drop-")) / "national"
    national = run_script([str(HERE / "national.py"), "--runs", runs, "--keep", str(drop)])
    try:
        page = run_script([str(HERE / "atlas_load.py"), str(drop), "--runs", runs])
    finally:
        shutil.rmtree(drop.parent, ignore_errors=True)
    if args.json:
        args.json.write_text(
            json.dumps({"ims": ims, "national": national, "atlas": page}, indent=2)
        )
    print(summary(ims, national, page))


if __name__ == "__main__":
    main()
