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
from .counting.cell_keys import Counter, key_sums, record_keys
from .counting.cohort_description import NAME as COHORT_ACTIVITY
from .counting.cohort_description import cohort_activity_cells
from .counting.deprivation import deprivation_cells
from .counting.equipment import count_equipment
from .counting.individuals import Individuals, build_individuals
from .counting.la_profiles import la_profile_cells
from .counting.match_levels import NAME as MATCH_LEVEL_CELLS
from .counting.match_levels import match_level_cells
from .counting.report_counts import CellSet, ReportCounts, count_reports
from .counting.tally import TOTAL
from .counting.wellbeing import NAME as WELLBEING
from .counting.wellbeing import counted_units, wellbeing_cells, withhold_together
from .counting.year_numbers import PEOPLE_NAME as YEAR_PEOPLE
from .counting.year_numbers import (
    same_people_reviewed,
    withhold_reviewed_alike,
    year_cells,
    year_plain,
)
from .counting.year_residence import year_cells as residence_year_cells
from .counting.year_residence import year_tables as residence_years
from .disclosure.audit import Identifiers, audit_files
from .disclosure.equipment import publish_equipment
from .disclosure.suppress import CellKeys, Published, protect
from .drop_folder import check_target, foreign_in_parent, target_path, write_atomically
from .errors import DisclosureError, OutputError, RecipeError
from .extract.quality import check_quality, quality_problems
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
from .geography.imd import Deprivation, read_imd
from .recipe import Recipe
from .render.atlas_page import render_atlas, render_geojson
from .render.index_page import write_index
from .render.packs import pack_las, pack_links, render_packs
from .render.pdf import MISSING as PDF_MISSING
from .render.pdf import find_browser, print_reports
from .render.reports import render_reports, report_base, report_tables
from .render.tables import render_tables, siting_tables, to_csv_bytes
from .render.year_tables import year_tables

if TYPE_CHECKING:
    from .linkage.stage import Linkage
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
    ledger: dict[str, Any]  # as published: counts of individuals protected
    files: dict[str, bytes]
    reports: ReportCounts | None = None  # the reports' counts, before disclosure control
    private_ledger: dict[str, Any] | None = None  # exact, for the analyst: never published


@dataclass
class BuildResult:
    """Where the drop went and what it holds."""

    out_dir: Path
    files: dict[str, int]  # path in the drop -> size in bytes, the .ims-atlas-drop marker too
    ledger: dict[str, Any]  # the published ledger.json
    private_ledger: dict[str, Any] | None = None  # the exact ledger, beside the drop


def build(
    recipe: Recipe,
    out_dir: Path | None = None,
    progress: Callable[[str], None] = lambda _: None,
    allow_rejects: bool = False,
    previous: Path | None = None,
) -> BuildResult:
    """Build the recipe's drop into out_dir (default ``output/<name>`` beside ``builders/``).
    An extract that fails the quality gate stops the build unless ``allow_rejects``. With
    ``previous`` (the issue this one replaces), the two issues are attacked together before
    anything is written, and a re-issue that singles out fewer than the threshold's people is
    not published (DisclosureError).

    A target the build must not replace is refused (UsageError) before anything is computed;
    ``index.html`` beside the drop is rewritten only when its folder holds only drops of ours."""
    if out_dir is None:
        out_dir = recipe.path.parent.parent / "output" / recipe.name
        shown = str(target_path(out_dir))
    else:
        shown = f"--out {out_dir}"
    out = check_target(out_dir, shown, _inputs(recipe))
    content = compute_drop(recipe, progress, allow_rejects)
    if previous is not None:
        progress("auditing against the previous issue")
        from .disclosure.reissue import audit_reissue

        reissue = audit_reissue(out, Path(previous), recipe.threshold, content.files)
        log.info("audit against %s: %s", previous, reissue.summary())
        reissue.check()
    progress("writing the drop")
    written = write_atomically(out, content.files, shown)
    write_private_ledger(out, content.private_ledger or content.ledger)
    _write_index(out.parent)
    return BuildResult(out, written, content.ledger, content.private_ledger)


def _inputs(recipe: Recipe) -> dict[str, Path]:
    """What the build reads, by the name a refusal gives it: the target may hold none of it."""
    inputs = {"the recipe": recipe.path, "the extract": recipe.extract_path}
    inputs.update({f"the input {p.name}": p for p in recipe.input_files()})
    if recipe.cell_key_secret_file is not None:
        inputs["the cell key's secret file"] = recipe.cell_key_secret_file
    if recipe.linkage.get("key_file"):
        inputs["the linkage key file"] = recipe.linkage["key_file"]
    return inputs


def _write_index(folder: Path) -> None:
    foreign = foreign_in_parent(folder)
    if foreign:
        log.warning(
            "%s/index.html not written: the folder holds files IMS Atlas did not write (%s)",
            folder,
            ", ".join(foreign[:3])
            + (f" and {len(foreign) - 3:,} more" if len(foreign) > 3 else ""),
        )
        return
    try:
        write_index(folder)
    except OSError as exc:
        raise OutputError(f"{folder}/index.html: cannot write it: {exc.strerror or exc}") from exc


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
    quality_notes: list[str]  # why the extract failed the quality gate, when allowed to
    deprivation: Deprivation | None = None  # each LSOA's IMD decile ([geography] imd)
    linkage: Linkage | None = None  # with [linkage]: the linked counts and their rejects


def compute_stages(
    recipe: Recipe,
    progress: Callable[[str], None] = lambda _: None,
    allow_rejects: bool = False,
) -> Stages:
    """extract -> individuals -> geocode -> aggregate -> suppress, in memory. An extract
    that fails the quality gate stops here (``ExtractError``) unless ``allow_rejects``."""
    progress("reading the extract")
    extract = read_extract(recipe.extract_path, recipe.extract_encoding, recipe.date_format)
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
    deprivation = (
        None if recipe.imd is None else read_imd(recipe.imd, list(geo.lsoas["lsoa_code"]))
    )
    progress("linking individuals and cohorts")
    ind = build_individuals(extract, recipe.period)
    quality_notes = check_quality(
        quality_problems(extract, recipe.max_rejected_pct, len(ind.people), recipe.period.label),
        allow_rejects,
    )
    for note in quality_notes:
        log.warning("built with --allow-rejects: %s", note)
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
    report_counts = count_reports(
        extract, ind, sites, geo.la_codes, recipe.threshold, recipe.trend_years
    )
    area_profiles = report_counts.cell_set("profiles").table

    # the units whose people reviewed are counted, decided on the whole extract (a part of
    # it, counted for the cell keys, counts the same cells)
    wellbeing_units = counted_units(extract, ind, sites, geo.la_codes, recipe.threshold)

    def people_cells(
        ex: Extract, counted: ReportCounts, people: Individuals, threshold: int, own: Counts
    ) -> list[CellSet]:
        """The counts of people beside the spec tables: the reports' (with the year in
        numbers'), the ledger's match levels, the cohorts' activity, wellbeing, the atlas's
        years and, with packs, each LA's profiles (in the area's categories)."""
        years = residence_years(ex, people, geo, msoa_of, counted.trend, own.residence_la)
        cells = [
            *counted.cells,
            *year_cells(ex, people, sites, geo.la_codes),
            match_level_cells(people.people),
            cohort_activity_cells(people, sites, geo.la_codes),
            *wellbeing_cells(ex, people, sites, geo.la_codes, threshold, wellbeing_units),
            residence_year_cells(years, msoa_of),
            same_people_reviewed(wellbeing_units),
        ]
        if recipe.la_packs:  # the packs' own counts join the one problem
            cells.append(la_profile_cells(people, sites, geo.la_codes, area_profiles, threshold))
        return cells

    def imd_cells(tables: Counts) -> list[CellSet]:
        """The counts by IMD decile of residence, with an IMD file."""
        if deprivation is None:
            return []
        population = geo.lsoas.set_index("lsoa_code")["population"]
        return [deprivation_cells(tables, deprivation.deciles, population, recipe.la_packs)]

    def count(ex: Extract, people: Individuals, threshold: int) -> tuple[Counts, list[CellSet]]:
        counted = count_reports(ex, people, sites, geo.la_codes, threshold, recipe.trend_years)
        own = count_all(people, geo, sites, recipe.area_name, msoa_of)
        return own, people_cells(ex, counted, people, threshold, own) + imd_cells(own)

    extra = people_cells(extract, report_counts, ind, recipe.threshold, counts) + imd_cells(counts)
    linkage = None
    if recipe.linkage:
        progress("linking the partners' keyed files")
        from .linkage.stage import run_linkage

        linkage = run_linkage(recipe.linkage, extract, ind, geo, sites, recipe.trend_years)
        extra += linkage.cells  # every linked count a cell of the one problem
    keys = None
    if recipe.protection == "cell_key":
        progress("cell keys")
        keys = _cell_keys(recipe, extract, ind, counts, extra, count)
    progress("disclosure control")
    try:
        published = protect(counts, recipe.threshold, recipe.rounding, extra=extra, keys=keys)
    except DisclosureError:
        # the visits and interventions per cohort pin a withheld count (a cohort of none
        # whose activity, 0, says so): published without them, the averages withheld
        without = [c for c in extra if c.name != COHORT_ACTIVITY]
        if len(without) == len(extra):
            raise
        log.warning("visits and interventions per cohort withheld: they would pin a count")
        published = protect(counts, recipe.threshold, recipe.rounding, extra=without, keys=keys)
    published.extra[WELLBEING], more = withhold_together(published.extra[WELLBEING])
    more += withhold_reviewed_alike(published.extra[YEAR_PEOPLE], published.extra[WELLBEING])
    published.secondary += more
    return Stages(
        extract,
        geo,
        sites,
        ind,
        msoa_of,
        counts,
        report_counts,
        published,
        quality_notes,
        deprivation,
        linkage,
    )


def _cell_keys(
    recipe: Recipe,
    extract: Extract,
    ind: Individuals,
    counts: Counts,
    extra: list[CellSet],
    count: Counter,
) -> CellKeys:
    """The cell key of every count of people, from the record keys the secret gives."""
    path = recipe.cell_key_secret_file
    assert path is not None  # the recipe requires it with protection = "cell_key"
    try:
        secret = path.read_bytes().strip()
    except OSError as exc:
        raise RecipeError(
            str(recipe.path), [f"drop.cell_key_secret_file: cannot read {path}: {exc.strerror}"]
        ) from None
    if len(secret) < 16:
        raise RecipeError(
            str(recipe.path),
            [
                f"drop.cell_key_secret_file: {path} holds {len(secret)} bytes; "
                "a secret needs 16 or more"
            ],
        )
    keys = record_keys(extract["clients.csv"], ind.person_of, secret)
    tables, _, sets = key_sums(extract, ind, keys, counts, extra, count, recipe.threshold)
    return CellKeys(tables, sets)


def compute_drop(
    recipe: Recipe,
    progress: Callable[[str], None] = lambda _: None,
    allow_rejects: bool = False,
) -> DropContent:
    """Run every stage and render every output file in memory."""
    return finish_drop(recipe, compute_stages(recipe, progress, allow_rejects), progress)


def finish_drop(
    recipe: Recipe, st: Stages, progress: Callable[[str], None] = lambda _: None
) -> DropContent:
    """Render every output file of computed stages in memory, then audit them."""
    extract, geo, sites, ind, msoa_of = st.extract, st.geo, st.sites, st.ind, st.msoa_of
    counts, report_counts, published = st.counts, st.report_counts, st.published
    exact = _ledger(extract.ledger, ind.people, counts.cohorts, sites, published)
    if st.quality_notes:
        exact["published_with_allow_rejects"] = st.quality_notes
    ledger = protect_ledger(exact, published)
    siting = None
    if recipe.siting:
        progress("planning NSP sites")
        from .siting.stage import run_siting  # scipy.optimize is slow to import: only when asked

        deciles = None if st.deprivation is None else st.deprivation.deciles
        siting = run_siting(recipe.siting, geo, sites, counts, published, deciles)
        ledger["siting"] = siting.ledger
        exact["siting"] = {**siting.ledger, **siting.private}
    linked: dict[str, pd.DataFrame] = {}
    if st.linkage is not None:
        from .render.linkage import linkage_tables

        ledger["linkage"] = st.linkage.ledger
        exact["linkage"] = {**st.linkage.ledger, "exact": st.linkage.private}
        linked = linkage_tables(
            published, geo.las[["la_code", "la_name", "population"]], recipe.area_name
        )
    progress("rendering")
    # hashing the extract for the manifest reads every input again: done beside the rendering
    hashing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="manifest")
    manifest = hashing.submit(_manifest, recipe, extract.paths)
    hashing.shutdown(wait=False)
    files: dict[str, bytes] = {}
    files.update(render_tables(published))
    tables = report_tables(published, report_counts, sites, recipe.area_name)
    tables.update(
        year_tables(
            published,
            tables,
            year_plain(extract, ind, sites, geo.la_codes, report_counts.la_activity),
            publish_equipment(count_equipment(ind, sites, geo.la_codes), published, sites),
            report_counts.period,
        )
    )
    las = pack_las(tables) if recipe.la_packs else []
    browser = find_browser() if recipe.pdf else None
    if browser is None and recipe.pdf:
        log.warning(PDF_MISSING)
    links = pack_links(las, recipe.area_name, browser is not None) if las else []
    files.update(
        render_reports(
            published,
            report_counts,
            sites,
            title=recipe.title,
            area_name=recipe.area_name,
            period=recipe.period.label,
            siting=siting and siting.published,
            quality_notes=st.quality_notes,
            issue=recipe.issue,
            intro=recipe.intro,
            tables=tables,
            packs=links,
            deprivation=st.deprivation,
            linkage=_linkage_section(linked),
        )
    )
    files.update({f"reports/csv/{name}.csv": to_csv_bytes(t) for name, t in linked.items()})
    if las:
        progress("rendering the LA report packs")
        base = report_base(
            published,
            report_counts,
            title=recipe.title,
            area_name=recipe.area_name,
            period=recipe.period.label,
            quality_notes=st.quality_notes,
            issue=recipe.issue,
            intro=recipe.intro,
        )
        files.update(
            render_packs(
                published, report_counts, tables, base, browser is not None, st.deprivation
            )
        )
    printing = None
    if browser is not None:  # Chromium prints in its own processes while the atlas renders
        reports = {p: data for p, data in files.items() if p.startswith("reports/")}
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf")
        printing = pool.submit(
            print_reports, reports, browser, recipe.title, recipe.period.label, _pdf_date()
        )
        pool.shutdown(wait=False)
    files.update(
        render_atlas(
            published,
            geo,
            sites,
            title=recipe.title,
            period=recipe.period.heading,
            basemap=recipe.basemap,
            classification=recipe.classification,
            area_name=recipe.area_name,
            build_date=build_time()[:10],
            msoa_of=msoa_of,
            siting=siting.published if siting is not None else None,
            packs=las,
            population_year=recipe.population_year,
            data_year=recipe.data_year,
            partial={y.year.label: y.partial for y in report_counts.trend},
            deprivation=st.deprivation,
        )
    )
    files.update(render_geojson(published, geo))
    if printing is not None:
        progress("printing the reports to PDF")
        files.update(printing.result())
    files["ledger.json"] = _json_bytes(ledger)
    rejects = [extract.rejects, unplaced_rejects(sites)]
    if siting is not None:
        rejects.append(siting.rejects)
        files.update(siting_tables(siting.published))
    if st.linkage is not None:
        rejects.append(st.linkage.rejects)
    files["rejects.csv"] = to_csv_bytes(pd.concat(rejects, ignore_index=True))
    files["manifest.json"] = _json_bytes(manifest.result())
    for note in _unplaced(sites):
        log.warning(note)
    progress("auditing the drop")
    identifiers = Identifiers.from_extract(extract)
    if st.linkage is not None:  # no keyed attributor, key or death's postcode is published
        identifiers = identifiers.with_linkage(st.linkage.secrets, st.linkage.postcodes)
    report = audit_files(
        files,
        recipe.threshold,
        recipe.rounding,
        identifiers,
        published.attacked,
        perturbation=published.perturbation,
    )
    log.info("audit: %s", report.summary())
    report.check()
    return DropContent(counts, published, ledger, files, report_counts, exact)


def _linkage_section(linked: dict[str, pd.DataFrame]) -> dict[str, Any] | None:
    from .render.linkage import linkage_section

    return linkage_section(linked) if linked else None


def plan_recipe(
    recipe: Recipe,
    new_sites: int | None = None,
    radius_m: float | None = None,
    progress: Callable[[str], None] = lambda _: None,
    allow_rejects: bool = False,
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
    st = compute_stages(recipe, progress, allow_rejects)
    progress("planning NSP sites")
    deciles = None if st.deprivation is None else st.deprivation.deciles
    return run_siting(options, st.geo, st.sites, st.counts, st.published, deciles)


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
            **(
                {"protection": "cell_key", "perturbation": published.perturbation}
                if published.perturbation
                else {}
            ),
        },
    }


def protect_ledger(exact: dict[str, Any], published: Published) -> dict[str, Any]:
    """The ledger as published: every count of individuals (cohorts, match levels) is its
    protected cell, ``null`` where suppressed and rounded when the drop rounds, so it agrees
    with the tables (the cohorts are the ``TOTAL`` rows of the residence table). Row counts
    of files and counts of sites and cells are not counts of individuals and stay exact."""
    la = published.residence_la
    totals = la[la["la_code"] == TOTAL].set_index("cohort")["individuals"]
    levels = published.extra[MATCH_LEVEL_CELLS].set_index("match_level")["individuals"]

    def value(v: Any) -> int | None:
        return None if pd.isna(v) else int(v)

    out = dict(exact)
    out["match_levels"] = {k: value(levels[k]) for k in exact["match_levels"]}
    out["cohorts"] = {k: value(totals[k]) for k in exact["cohorts"]}
    return out


def private_ledger_path(out_dir: Path) -> Path:
    """Where the exact ledger of the drop in ``out_dir`` is kept: ``<drop>.private/ledger.json``,
    a sibling of the drop folder, so that publishing the drop folder never publishes it."""
    out_dir = Path(out_dir).resolve()
    return out_dir.parent / f"{out_dir.name}.private" / "ledger.json"


def write_private_ledger(out_dir: Path, ledger: dict[str, Any]) -> Path:
    """Write the exact ledger to :func:`private_ledger_path` atomically (a temporary file in
    the same folder, then renamed over any earlier one); readable by its owner only."""
    path = private_ledger_path(out_dir)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".ledger.", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(_json_bytes(ledger))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


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


def _pdf_date() -> str | None:
    """The PDFs' date: ``SOURCE_DATE_EPOCH`` when set, else none (the build time is in the
    manifest only, so the same inputs give the same bytes)."""
    return build_time() if os.environ.get("SOURCE_DATE_EPOCH") else None


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
        "recipe": {"path": recipe.path.name, "content": recipe.published_raw()},
        "inputs": dict(sorted(inputs.items())),
        "software": versions,
        "build_time": build_time(),
    }
