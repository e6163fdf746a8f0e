"""Building a drop: compute everything in memory, then write it atomically (spec section 4).

The stages run in one direction: extract -> individuals -> geocode -> aggregate -> suppress ->
render. Every output exists as bytes before the first file is written into a temporary folder
beside the target; the folder replaces any earlier drop only when complete.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import json
import logging
import os
import platform
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import __version__
from .counting.aggregate import Counts, count_all
from .counting.individuals import Individuals, build_individuals
from .counting.report_counts import ReportCounts, count_reports
from .disclosure.audit import Identifiers, audit_files
from .disclosure.suppress import Published, protect
from .errors import RecipeError
from .extract.reader import Extract, read_extract
from .geography.areas import Geography, load_geography, msoa_table
from .geography.directory import _source_hashes, cache_dir
from .geography.geocode import (
    MATCH_LEVELS,
    assign_residence,
    geocode,
    place_sites,
    unplaced_rejects,
)
from .recipe import Recipe
from .render.atlas_page import render_atlas, render_geojson
from .render.index_page import write_index
from .render.reports import render_reports
from .render.tables import render_tables, siting_tables, to_csv_bytes

if TYPE_CHECKING:
    from .siting.stage import SitingResult

log = logging.getLogger(__name__)

PACKAGES = (
    "pandas",
    "numpy",
    "geopandas",
    "shapely",
    "pyproj",
    "pyogrio",
    "folium",
    "branca",
    "mapclassify",
    "jinja2",
    "scipy",
    "highspy",
)


@dataclass
class DropContent:
    """Everything a drop holds, computed in memory before anything is written."""

    counts: Counts
    published: Published
    ledger: dict[str, Any]
    files: dict[str, bytes]
    reports: ReportCounts | None = None  # the reports' counts, before disclosure control


@dataclass
class BuildResult:
    """Where the drop went and what it holds."""

    out_dir: Path
    files: dict[str, int]  # path in the drop -> size in bytes
    ledger: dict[str, Any]


def build(
    recipe: Recipe, out_dir: Path | None = None, progress: Callable[[str], None] = lambda _: None
) -> BuildResult:
    """Build the recipe's drop into out_dir (default ``output/<name>`` beside ``builders/``)."""
    out_dir = Path(out_dir) if out_dir else recipe.path.parent.parent / "output" / recipe.name
    content = compute_drop(recipe, progress)
    progress("writing the drop")
    write_atomically(out_dir, content.files)
    write_index(out_dir.resolve().parent)
    return BuildResult(
        out_dir, {k: len(v) for k, v in sorted(content.files.items())}, content.ledger
    )


@dataclass
class Stages:
    """Every stage's result up to disclosure control: what a drop (or a site plan) is made of."""

    extract: Extract
    geo: Geography
    sites: pd.DataFrame
    ind: Individuals
    msoa_of: pd.DataFrame | None
    counts: Counts
    report_counts: ReportCounts
    published: Published


def compute_stages(recipe: Recipe, progress: Callable[[str], None] = lambda _: None) -> Stages:
    """extract -> individuals -> geocode -> aggregate -> suppress, in memory."""
    progress("reading the extract")
    extract = read_extract(recipe.extract_path, recipe.extract_encoding)
    # Free any temporaries the reading left in reference cycles before the largest stages
    # (pandas' string accessor and its Series refer to each other: 1.5 GB at national scale
    # with the earlier reader; a few ms now).
    gc.collect()
    progress("reading the geography")
    geo = load_geography(
        recipe.postcodes,
        recipe.lsoa_boundaries,
        recipe.population,
        recipe.la_boundaries,
        recipe.lookup,
    )
    sites = place_sites(extract["sites.csv"], geo.directory, geo.las)
    progress("linking individuals and cohorts")
    ind = build_individuals(extract, recipe.period)
    progress("geocoding residence postcodes")
    coded = geocode(ind.people["residence_postcode"], geo.directory, set(geo.la_codes))
    ind.people = ind.people.join(coded[["match_level"]])
    ind.people = ind.people.join(
        assign_residence(
            ind.people,
            coded,
            dict(zip(geo.las["la_code"], geo.las["la_name"])),
            dict(zip(geo.lsoas["lsoa_code"], geo.lsoas["la_code"])),
        )
    )
    progress("counting")
    msoa_of = msoa_table(geo)
    counts = count_all(ind, geo, sites, recipe.area_name, msoa_of)
    report_counts = count_reports(extract, ind, sites, geo.la_codes, recipe.threshold)
    progress("disclosure control")
    published = protect(counts, recipe.threshold, recipe.rounding, extra=report_counts.cells)
    return Stages(extract, geo, sites, ind, msoa_of, counts, report_counts, published)


def compute_drop(recipe: Recipe, progress: Callable[[str], None] = lambda _: None) -> DropContent:
    """Run every stage and render every output file in memory."""
    return finish_drop(recipe, compute_stages(recipe, progress), progress)


def finish_drop(
    recipe: Recipe, st: Stages, progress: Callable[[str], None] = lambda _: None
) -> DropContent:
    """Render every output file of computed stages in memory, then audit them."""
    extract, geo, sites, ind, msoa_of = st.extract, st.geo, st.sites, st.ind, st.msoa_of
    counts, report_counts, published = st.counts, st.report_counts, st.published
    ledger = _ledger(extract.ledger, ind.people, counts.cohorts, sites, published)
    siting = None
    if recipe.siting:
        progress("planning NSP sites")
        from .siting.stage import run_siting  # scipy.optimize is slow to import: only when asked

        siting = run_siting(recipe.siting, geo, sites, counts, published)
        ledger["siting"] = siting.ledger
    progress("rendering")
    # hashing the extract for the manifest reads every input again: done beside the rendering
    hashing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="manifest")
    manifest = hashing.submit(_manifest, recipe, extract.paths)
    hashing.shutdown(wait=False)
    files: dict[str, bytes] = {}
    files.update(render_tables(published))
    files.update(
        render_reports(
            published,
            report_counts,
            sites,
            title=recipe.title,
            area_name=recipe.area_name,
            period=recipe.period.label,
            siting=siting and siting.published,
        )
    )
    files.update(
        render_atlas(
            published,
            geo,
            sites,
            title=recipe.title,
            period=recipe.period.label,
            basemap=recipe.basemap,
            classification=recipe.classification,
            area_name=recipe.area_name,
            build_date=build_time()[:10],
            msoa_of=msoa_of,
            siting=siting and siting.published,
        )
    )
    files.update(render_geojson(published, geo))
    files["ledger.json"] = _json_bytes(ledger)
    rejects = [extract.rejects, unplaced_rejects(sites)]
    if siting is not None:
        rejects.append(siting.rejects)
        files.update(siting_tables(siting.published))
    files["rejects.csv"] = to_csv_bytes(pd.concat(rejects, ignore_index=True))
    files["manifest.json"] = _json_bytes(manifest.result())
    for note in _unplaced(sites):
        log.warning(note)
    progress("auditing the drop")
    report = audit_files(
        files,
        recipe.threshold,
        recipe.rounding,
        Identifiers.from_extract(extract),
        published.attacked,
    )
    log.info("audit: %s", report.summary())
    report.check()
    return DropContent(counts, published, ledger, files, report_counts)


def plan_recipe(
    recipe: Recipe,
    new_sites: int | None = None,
    radius_m: float | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> SitingResult:
    """Run the stages a plan needs (no rendering, nothing written): for ``site-plan``. The
    stages are the drop's own, so the plan and its disclosure control are the drop's too."""
    from .siting.stage import run_siting

    if not recipe.siting:
        raise RecipeError(
            str(recipe.path),
            ['siting: missing (site-plan needs a [siting] table with candidates = "file.csv")'],
        )
    options = dict(recipe.siting)
    if new_sites is not None:
        options["new_sites"] = new_sites
    if radius_m is not None:
        options["radius_m"] = radius_m
    st = compute_stages(recipe, progress)
    progress("planning NSP sites")
    return run_siting(options, st.geo, st.sites, st.counts, st.published)


def _ledger(
    files: dict[str, dict[str, int]],
    people: pd.DataFrame,
    cohorts: dict[str, int],
    sites: pd.DataFrame,
    published: Published,
) -> dict[str, Any]:
    levels = people["match_level"].value_counts()
    return {
        "files": files,
        "match_levels": {level: int(levels.get(level, 0)) for level in MATCH_LEVELS},
        "cohorts": cohorts,
        "sites_placed_by": {
            k: int(v) for k, v in sites["placed_by"].value_counts().sort_index().items()
        },
        # Sites in rejects.csv because they cannot be placed on the map (still counted).
        "sites_unplaced": int((sites["placed_by"] == "unplaced").sum()),
        "suppression": {
            "threshold": published.threshold,
            "primary_cells": published.primary,
            "secondary_cells": published.secondary,
            "rounding": published.rounding,
        },
    }


def _unplaced(sites: pd.DataFrame) -> list[str]:
    bad = sites[sites["placed_by"] == "unplaced"]
    return [
        f"sites.csv line {r.line}: site {r.site_code} cannot be placed on the map "
        f"({r.place_problem}); it is left off the map and listed in rejects.csv"
        for r in bad.itertuples()
    ]


def _json_bytes(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n").encode()


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def build_time() -> str:
    """Now in UTC, or ``SOURCE_DATE_EPOCH`` when set (reproducible builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch else dt.datetime.now(dt.UTC)
    return when.replace(microsecond=0).isoformat()


def _manifest(recipe: Recipe, extract_paths: dict[str, Path]) -> dict[str, Any]:
    base = recipe.path.parent

    def rel(p: Path) -> str:
        return os.path.relpath(p, base)

    inputs = {rel(p): sha256(p) for p in extract_paths.values()}
    # the geography's files seldom change: hashed once per size and mtime, as for the directory
    geography = recipe.input_files()
    inputs.update(zip(map(rel, geography), _source_hashes(geography, cache_dir())))
    versions = {"ims-atlas": __version__, "python": platform.python_version()}
    for pkg in PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "not installed"
    return {
        "recipe": {"path": recipe.path.name, "content": recipe.raw},
        "inputs": dict(sorted(inputs.items())),
        "software": versions,
        "build_time": build_time(),
    }


def write_atomically(out_dir: Path, files: dict[str, bytes]) -> None:
    """Write every file into a temporary folder beside out_dir, then swap it into place.

    A failure at any point removes the temporary folder and leaves an earlier drop untouched.
    """
    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.building-", dir=out_dir.parent))
    old = None
    try:
        for rel_path, data in files.items():
            target = tmp / rel_path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
            old.rmdir()
            out_dir.rename(old)
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)
        tmp.rename(out_dir)
    except BaseException:
        if old is not None and not out_dir.exists():
            old.rename(out_dir)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
