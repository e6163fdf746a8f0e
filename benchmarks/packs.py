"""Benchmark: the whole drop with a report pack per LA, in HTML and with every PDF.

    python benchmarks/packs.py [--runs 3] [--scale 10] [--keep DIR]

The inputs of benchmarks/build.py (a fake extract at --scale on the real Cheshire & Merseyside
geography when present: 9 LAs), built three ways, each in fresh processes: the area's reports
only (``[reports] la_packs = false``) in HTML, with the 9 LA packs in HTML (no PDF renderer:
``IMS_ATLAS_CHROMIUM=""``), and with the packs and every PDF (Debian's headless Chromium).
Reports the median wall time, peak memory and stages of each (see benchmarks/build.py), and
the number of PDFs and pack files. Targets on a 2-core machine: packs in HTML <= 5 s, with
every PDF <= 20 s. The national scale (about 300 LA packs) is benchmarks/national.py with the
packs on (the default), run with ``IMS_ATLAS_CHROMIUM=""`` for HTML only.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [str(HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]
_spec = importlib.util.spec_from_file_location("bench_build", HERE / "build.py")
_build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_build)

VARIANTS = (
    # name, packs on, PDFs on
    ("area_only_html", False, False),
    ("packs_html", True, False),
    ("packs_pdf", True, True),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--keep", type=Path, help="keep the inputs and drops here")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="ims-bench-packs-"))
    work.mkdir(parents=True, exist_ok=True)
    recipe, label = _build.make_inputs(work, args.scale)
    text = recipe.read_text()
    results = {}
    saved = os.environ.get("IMS_ATLAS_CHROMIUM")
    for name, packs, pdf in VARIANTS:
        variant = recipe.with_name(f"{name}.toml")
        variant.write_text(
            text.replace('name = "bench"', f'name = "{name}"')
            + ("" if packs else "\n[reports]\nla_packs = false\n")
        )
        if pdf:
            os.environ.pop("IMS_ATLAS_CHROMIUM", None)
        else:
            os.environ["IMS_ATLAS_CHROMIUM"] = ""
        print(name, file=sys.stderr)
        out = work / "drops" / name
        got = _build.run_builds(variant, out, args.runs)
        files = got.pop("output_bytes")
        got["pdfs"] = sum(p.endswith(".pdf") for p in files)
        got["pdf_bytes"] = sum(v for p, v in files.items() if p.endswith(".pdf"))
        got["pack_files"] = sum(p.startswith("reports/la/") for p in files)
        got["packs"] = len({p.split("/")[2] for p in files if p.startswith("reports/la/")})
        results[name] = got
    if saved is None:
        os.environ.pop("IMS_ATLAS_CHROMIUM", None)
    else:
        os.environ["IMS_ATLAS_CHROMIUM"] = saved
    print(
        json.dumps(
            {
                "geography": label,
                "scale": args.scale,
                "extract_rows": _build.count_rows(work / "extract"),
                **results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
