"""``index.html`` of an output folder: every drop in it (name, period, build date, links), so a
folder of annual drops can be published as it is. Rebuilt after each successful build, when
the folder holds only drops of ours (the build decides: ``atlas.drop_folder``)."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path
from typing import TypedDict

from .reports import environment


class DropEntry(TypedDict):
    """One drop as the index lists it."""

    folder: str
    title: str
    period: str
    built: str
    links: list[tuple[str, str]]
    packs: list[tuple[str, str]]  # (href, LA name) of each LA's report pack


LINKS = (
    ("atlas.html", "Atlas"),
    ("reports/monitoring.html", "Monitoring report"),
    ("reports/data_quality.html", "Data quality report"),
    ("reports/monitoring.pdf", "Monitoring report (PDF)"),
    ("reports/data_quality.pdf", "Data quality report (PDF)"),
)


def list_drops(folder: Path) -> list[DropEntry]:
    """Drops (sub-folders holding a manifest.json) in ``folder``, newest period first."""
    entries: list[DropEntry] = []
    for manifest in sorted(folder.glob("*/manifest.json")):
        drop = manifest.parent
        if drop.name.startswith("."):
            continue
        try:
            meta = json.loads(manifest.read_text(encoding="utf-8"))
            recipe = meta["recipe"]["content"]["drop"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        entries.append(
            DropEntry(
                folder=drop.name,
                title=str(recipe.get("title", drop.name)),
                period=str(recipe.get("period", "")),
                built=str(meta.get("build_time", ""))[:10],
                links=[
                    (f"{drop.name}/{href}", label)
                    for href, label in LINKS
                    if (drop / href).is_file()
                ],
                packs=_packs(drop),
            )
        )
    return sorted(entries, key=lambda e: (e["period"], e["folder"]), reverse=True)


def _packs(drop: Path) -> list[tuple[str, str]]:
    """(href from the folder, LA name) of the drop's report packs, by name: the name is the
    ``la_name`` of the pack's cohort summary (its code when that cannot be read)."""
    out = []
    for page in sorted(drop.glob("reports/la/*/monitoring.html")):
        name = page.parent.name
        try:
            with open(
                page.parent / "csv" / "monitoring_cohort_summary.csv", encoding="utf-8"
            ) as fh:
                rows = csv.DictReader(fh)
                name = next(rows).get("la_name") or name
        except (OSError, StopIteration, csv.Error):
            pass
        out.append((f"{drop.name}/{page.relative_to(drop).as_posix()}", name))
    return sorted(out, key=lambda p: (p[1], p[0]))


TITLE = "<title>IMS Atlas drops</title>"


def written_by_us(path: Path) -> bool:
    """Whether ``path`` is an index page this module wrote (its title, near the top)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    return TITLE.encode() in head


def write_index(folder: Path) -> Path:
    """Write ``folder/index.html`` listing its drops (atomically replaced)."""
    html = environment().get_template("index.html.j2").render(drops=list_drops(folder))
    fd, tmp = tempfile.mkstemp(prefix=".index-", suffix=".html", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(html)
    os.chmod(tmp, 0o644)
    target = folder / "index.html"
    os.replace(tmp, target)
    return target
