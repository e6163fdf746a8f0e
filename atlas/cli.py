"""The ``ims-atlas`` command. AtlasError is caught here, once: a clean message, no traceback."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

import click

from .errors import AtlasError
from .progress import StageProgress

REPO = Path(__file__).resolve().parents[1]
DEMO_GEOGRAPHY = REPO / "boundaries" / "demo"
DEMO_LAS = ("E06900001", "E06900002", "E06900003", "E06900004")


EXIT_STATUS = """Exit status: 0 built (or passed), 1 a data or build error (the extract, the
geography, the audit, writing the drop), 2 a recipe or usage error (the recipe, the command
line, an output folder that is not the tool's to replace)."""


class AtlasGroup(click.Group):
    """Every failure of every command ends in one line on stderr and its exit status: an
    AtlasError as ``error: message``; any other exception as ``error: <what>`` with a hint to run
    again with ``--debug``, which shows the traceback instead."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:  # a command's arguments: one line, as for the rest
            where = exc.ctx.command_path if exc.ctx else ctx.command_path
            click.echo(f"error: {exc.format_message()} (see {where} --help)", err=True)
            sys.exit(exc.exit_code)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except AtlasError as exc:
            if ctx.params.get("debug"):
                raise
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except Exception as exc:
            if ctx.params.get("debug"):
                raise
            hint = "" if isinstance(exc, OSError) else " (run with --debug for the traceback)"
            click.echo(f"error: {_one_line(exc)}{hint}", err=True)
            sys.exit(1)


def _one_line(exc: BaseException) -> str:
    """An unexpected exception in one line: a system error names its file and the problem."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@click.group(cls=AtlasGroup, epilog=EXIT_STATUS)
@click.version_option(package_name="ims-atlas")
@click.option("--debug", is_flag=True, help="Show the traceback of a failure.")
def main(debug: bool) -> None:
    """IMS Atlas: turn an IMS extract into a published, disclosure-controlled drop."""


def _logging(quiet: bool) -> None:
    logging.basicConfig(
        level=logging.ERROR if quiet else logging.INFO,
        format="%(levelname)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )


@main.command()
@click.argument("recipe", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the drop here instead of <recipe folder>/../output/<name>: a new or empty "
    "folder, or an earlier drop of ours.",
)
@click.option("--quiet", is_flag=True, help="Only errors.")
@click.option(
    "--allow-rejects",
    is_flag=True,
    help="Publish even when more than [extract] max_rejected_pct of a file's rows are "
    "rejected or no one is seen (the drop's notes then say so).",
)
@click.option(
    "--previous",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The issue this build replaces (often the --out folder itself): attack the two "
    "together before writing, and publish nothing if together they single people out.",
)
def build(
    recipe: Path, out_dir: Path | None, quiet: bool, allow_rejects: bool, previous: Path | None
) -> None:
    """Build the drop described by RECIPE (a TOML file in builders/)."""
    from .drop import build as build_drop
    from .drop import private_ledger_path
    from .recipe import load_recipe

    _logging(quiet)
    spec = load_recipe(recipe)
    started = time.perf_counter()
    with StageProgress(quiet=quiet) as show:
        result = build_drop(
            spec, out_dir, progress=show, allow_rejects=allow_rejects, previous=previous
        )
    if not quiet:
        exact = result.private_ledger or result.ledger  # the analyst's terminal: exact
        files = exact["files"]
        rejected = sum(f["rejected"] for f in files.values())
        click.echo(
            f"built {result.out_dir} in {time.perf_counter() - started:.1f} s: "
            f"{len(result.files)} files, {exact['cohorts']['all']:,} individuals "
            f"seen, {rejected:,} row(s) set aside in rejects.csv; the exact ledger is in "
            f"{private_ledger_path(result.out_dir)}"
        )
        if result.ledger.get("sites_unplaced"):
            click.echo(
                f"{result.ledger['sites_unplaced']} site(s) could not be placed on the "
                "map: see rejects.csv",
                err=True,
            )


@main.command()
@click.argument("drop", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--extract",
    "extract_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The extract the drop was built from: scan for its clients.",
)
@click.option(
    "--date-format",
    help="How the extract's dates are written, as [extract] date_format (default: the drop's "
    "recipe, else ISO).",
)
@click.option(
    "--threshold",
    type=int,
    help="Disclosure threshold (default: the drop's ledger, and the summary says so).",
)
@click.option(
    "--rounding",
    type=int,
    help="Rounding base (default: the drop's ledger, and the summary says so).",
)
@click.option(
    "--previous",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="An earlier issue of the drop: attack the two issues together.",
)
def audit(
    drop: Path,
    extract_dir: Path | None,
    date_format: str | None,
    threshold: int | None,
    rounding: int | None,
    previous: Path | None,
) -> None:
    """Read back every file of DROP, attack everything it publishes by linear programming and
    scan it for client identifiers; exit non-zero naming every finding. The extract is read as
    the drop's recipe (in its manifest.json) says: its encoding and date_format. With
    --previous, also attack DROP and its earlier issue together: every difference that singles
    out fewer than the threshold's people is named."""
    from .disclosure.audit import audit_drop, extract_settings
    from .errors import ExtractError
    from .extract.reader import DATE_ADVICE, read_extract
    from .recipe import check_date_format

    _logging(quiet=True)
    extract = None
    if extract_dir:
        settings = extract_settings(drop)
        if date_format is not None:
            settings["date_format"] = check_date_format(date_format, "--date-format")
        try:
            extract = read_extract(
                extract_dir, settings.get("encoding"), settings.get("date_format")
            )
        except ExtractError as exc:  # the advice for a build names the recipe's key
            advice = "export ISO dates or give --date-format"
            raise ExtractError(str(exc).replace(DATE_ADVICE, advice)) from None
    report = audit_drop(drop, extract, threshold, rounding)
    report.check()
    click.echo(f"audit of {drop} passed: {report.summary()}")
    if previous is not None:
        from .disclosure.reissue import audit_reissue

        reissue = audit_reissue(drop, previous, threshold)
        reissue.check()
        click.echo(f"audit of {drop} against {previous} passed: {reissue.summary()}")


@main.command("demo-data")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--seed", default=1, show_default=True, help="Random seed.")
@click.option(
    "--scale",
    default=1.0,
    show_default=True,
    help="Volume multiplier: 1 is the demo, 10 about Cheshire & Merseyside.",
)
@click.option("--period", default="2017-18", show_default=True, help="Financial year.")
@click.option(
    "--postcodes",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="NSPL-layout postcode directory to draw from (default: the bundled demo one).",
)
@click.option(
    "--la", "las", multiple=True, help="LA code of the drop (repeat); required with --postcodes."
)
def demo_data(
    out: Path, seed: int, scale: float, period: str, postcodes: Path | None, las: tuple[str, ...]
) -> None:
    """Write a realistic fake IMS extract (all seven files) into OUT: a new or empty folder,
    or one this command wrote before."""
    from .demo.extract import make_demo_extract, read_directory
    from .drop_folder import check_output_folder
    from .extract.reader import SPECS

    if postcodes is not None and not las:
        raise click.UsageError("--postcodes needs the drop's LA codes: --la CODE (repeat)")
    check_output_folder(out, str(out), SPECS, "the extract")
    directory = read_directory(postcodes or DEMO_GEOGRAPHY / "postcodes.csv")
    counts = make_demo_extract(
        out, directory, list(las) or list(DEMO_LAS), seed=seed, scale=scale, period=period
    )
    click.echo(f"wrote {out}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))


@main.command("link-key")
@click.argument("attributors", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--key-file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The secret key file the partners share (never published; 16 bytes or more).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the keyed file (CSV).",
)
@click.option(
    "--date-format",
    help='How date_of_birth is written, as a strptime format (default ISO, e.g. "%d/%m/%Y").',
)
def link_key(attributors: Path, key_file: Path, out: Path, date_format: str | None) -> None:
    """Key a partner's ATTRIBUTORS.csv (first_initial, last_initial, date_of_birth, gender and
    any other columns) for linkage with IMS: each attributor becomes its HMAC-SHA256 under the
    key file (column attributor_key), the four identifying columns are dropped, the others
    kept. Incomplete attributors are counted and left blank: they cannot be linked."""
    from .linkage.keys import read_key
    from .linkage.link_key import link_key as run
    from .recipe import check_date_format

    if date_format is not None:
        check_date_format(date_format, "--date-format")
    result = run(attributors, read_key(key_file), out, date_format)
    click.echo(f"link-key: {result.summary()}")


@main.command("site-plan")
@click.argument("recipe", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--new",
    "new_sites",
    type=click.IntRange(min=1),
    help="How many new sites to recommend (default: the recipe's new_sites).",
)
@click.option(
    "--radius",
    "radius_m",
    type=click.FloatRange(min=1),
    help="Coverage radius in metres (default: the recipe's radius_m).",
)
@click.option("--quiet", is_flag=True, help="Only errors and the table.")
@click.option(
    "--allow-rejects",
    is_flag=True,
    help="Plan even when the extract fails the quality check (as build --allow-rejects).",
)
def site_plan(
    recipe: Path, new_sites: int | None, radius_m: float | None, quiet: bool, allow_rejects: bool
) -> None:
    """Plan new NSP sites for RECIPE's [siting] section and print the table (writes nothing)."""
    from .drop import plan_recipe
    from .recipe import load_recipe
    from .siting.stage import describe

    _logging(quiet)
    spec = load_recipe(recipe)
    with StageProgress(quiet=quiet) as show:
        result = plan_recipe(spec, new_sites, radius_m, progress=show, allow_rejects=allow_rejects)
    click.echo(describe(result, spec.area_name))


@main.group()
def geography() -> None:
    """The ONS geography: boundaries for a recipe."""


@geography.command("fetch")
@click.option(
    "--la",
    "las",
    multiple=True,
    required=True,
    metavar="CODE",
    help="ONS code of an LA to fetch (repeat).",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write into.",
)
@click.option(
    "--base-url",
    default=None,
    help="ArcGIS REST services root of the portal [default: the ONS Open Geography Portal].",
)
@click.option(
    "--la-service",
    default=None,
    help="LA boundaries service [default: Local_Authority_Districts_December_2024_"
    "Boundaries_UK_BGC].",
)
@click.option(
    "--lookup-service",
    default=None,
    help="LSOA to LAD lookup service [default: LSOA21_WD24_LAD24_EW_LU].",
)
@click.option(
    "--lsoa-service",
    default=None,
    help="LSOA boundaries service [default: Lower_layer_Super_Output_Areas_"
    "December_2021_Boundaries_EW_BGC_V5].",
)
def geography_fetch(
    las: tuple[str, ...],
    out_dir: Path,
    base_url: str | None,
    la_service: str | None,
    lookup_service: str | None,
    lsoa_service: str | None,
) -> None:
    """Download the LSOA and LA boundaries of the named LAs from the ONS Open Geography
    Portal into OUT (la.geojson, lsoa.geojson): a new or empty folder, or one this command
    wrote before. Needs internet."""
    from dataclasses import replace

    from .drop_folder import check_output_folder
    from .geography.fetch import BOUNDARY_FILES, Services, fetch_boundaries

    check_output_folder(out_dir, f"--out {out_dir}", BOUNDARY_FILES, "the boundaries")
    given: dict[str, Any] = {  # service names: str fields of Services
        "base_url": base_url,
        "la": la_service,
        "lookup": lookup_service,
        "lsoa": lsoa_service,
    }
    services = replace(Services(), **{k: v for k, v in given.items() if v})
    got = fetch_boundaries(las, out_dir, services)
    click.echo(f"wrote {got.lsoa_file} ({got.lsoas} LSOAs) and {got.la_file} ({got.las} LAs)")


if __name__ == "__main__":
    main()
