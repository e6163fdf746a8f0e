"""The drop recipe (spec section 3): a TOML file validated up front, every problem at once.

Each option is declared once in ``OPTIONS`` with its type and a one-line doc; ``load_recipe``
reads the file, checks every option and raises one :class:`RecipeError` listing every
problem as ``key: message``. An unknown key or section is an error naming its line in the file,
with the nearest known one ("did you mean ..."): a typo must never change what is protected or
published.
"""

from __future__ import annotations

import datetime as dt
import difflib
import glob
import logging
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .counting.periods import Period, parse_period
from .drop_folder import MAX_NAME
from .errors import RecipeError, UsageError

log = logging.getLogger(__name__)

PERIOD_RE = re.compile(r"^(\d{4})-(\d{2})$")
CLASSIFICATIONS = ("fisher_jenks", "quantiles", "equal_interval")
BASEMAPS = ("osm", "none")


@dataclass(frozen=True)
class Option:
    """One recipe key: its TOML type, whether it is required, its default and what it means."""

    key: str
    kind: str  # "str", "int", "number", "path", "dir", "paths", "choice", "period", "date_format"
    doc: str
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    minimum: float | None = None


OPTIONS: tuple[Option, ...] = (
    Option("drop.name", "str", "the output folder's name", required=True),
    Option(
        "drop.period",
        "period",
        "period covered: a financial year written YYYY-YY (2017-18), or a quarter written "
        "YYYY-YY Qn (2018-19 Q2: the 12 months ending with it)",
        required=True,
    ),
    Option("drop.title", "str", "title shown on the atlas and reports", default="IMS Atlas"),
    Option("drop.area_name", "str", "name of the whole area, for TOTAL rows", default="All areas"),
    Option(
        "drop.threshold",
        "int",
        "disclosure threshold: counts 1..threshold-1 are suppressed",
        default=5,
        minimum=2,
    ),
    Option(
        "drop.rounding",
        "int",
        "round every published count of individuals to the nearest "
        "N, as NHS publications do (0: exact counts)",
        default=0,
        minimum=0,
    ),
    Option(
        "drop.protection",
        "choice",
        "how counts of individuals are protected: suppression (small counts blanked) or "
        "cell_key (every count perturbed by the ONS cell-key method)",
        default="suppression",
        choices=("suppression", "cell_key"),
    ),
    Option(
        "drop.cell_key_secret_file",
        "path",
        "file holding the cell key's secret (kept outside the published folder); "
        'required with protection = "cell_key"',
    ),
    Option("extract.path", "dir", "folder holding the extract's CSV files", required=True),
    Option(
        "extract.encoding",
        "choice",
        "force the extract's text encoding",
        choices=("utf-8", "cp1252"),
    ),
    Option(
        "extract.date_format",
        "date_format",
        'how every date column is written, as a strptime format (e.g. "%d/%m/%Y"); '
        "default ISO (YYYY-MM-DD)",
    ),
    Option(
        "extract.max_rejected_pct",
        "number",
        "stop the build when more than this percentage of any file's rows is rejected "
        "(ims-atlas build --allow-rejects publishes anyway)",
        default=5,
        minimum=0,
    ),
    Option(
        "geography.postcodes",
        "paths",
        "ONS NSPL/ONSPD CSV file(s): a path, list or glob",
        required=True,
    ),
    Option(
        "geography.lsoa_boundaries",
        "paths",
        "LSOA polygon file(s) in any GDAL format",
        required=True,
    ),
    Option(
        "geography.population",
        "path",
        "CSV of area_code, population (LSOAs and/or LAs)",
        required=True,
    ),
    Option("geography.la_boundaries", "path", "LA polygons; otherwise dissolved from the LSOAs"),
    Option("geography.lookup", "path", "ONS OA-LSOA-MSOA lookup: adds MSOA layers"),
    Option(
        "geography.imd",
        "path",
        "English Indices of Deprivation file as MHCLG publishes it (IMD 2019 or 2015, LSOA "
        "deciles): adds the deprivation layer, the report's table by IMD decile and its SII",
    ),
    Option(
        "atlas.basemap",
        "choice",
        "basemap tiles, or none for a fully offline page",
        default="osm",
        choices=BASEMAPS,
    ),
    Option(
        "atlas.classification",
        "choice",
        "class-break scheme for the choropleths",
        default="fisher_jenks",
        choices=CLASSIFICATIONS,
    ),
    Option(
        "atlas.population_year",
        "int",
        "the year of the ONS mid-year population estimates (shown in the atlas's credits)",
        minimum=1971,
    ),
    Option(
        "atlas.data_year",
        "int",
        "the year in the atlas's ONS and OS copyright lines: the release year of the postcode "
        "directory and boundaries (default: the year of the build)",
        minimum=1971,
    ),
    Option("siting.candidates", "path", "CSV of candidate NSP sites"),
    Option(
        "siting.candidates_format",
        "choice",
        "layout of the candidates file: our CSV, the ODS edispensary file or the NHS pharmacy "
        "list (default: detected)",
        default="auto",
        choices=("auto", "csv", "edispensary", "nhs_pharmacy"),
    ),
    Option("siting.radius_m", "number", "coverage radius in metres", default=1000, minimum=1),
    Option("siting.new_sites", "int", "how many new sites to recommend", default=5, minimum=1),
    Option("siting.target_pct", "number", "coverage target in percent", minimum=0),
    Option(
        "siting.weight_imd",
        "bool",
        "weight each LSOA's demand by its IMD decile (needs [geography] imd): decile 1 (most "
        "deprived) x2.0 down to decile 10 x1.0",
        default=False,
    ),
    Option(
        "linkage.key_file",
        "path",
        "the linkage key shared with the partners (kept outside the published folder): the "
        "build keys its individuals' attributors with it, as ims-atlas link-key keys theirs",
    ),
    Option(
        "linkage.treatment",
        "path",
        "the partner's keyed treatment file (attributor_key; optional la_code, start_date, "
        "end_date): the treatment match",
    ),
    Option(
        "linkage.deaths",
        "path",
        "the keyed drug-related deaths register (attributor_key, date_of_death, postcode or "
        "local_authority; optional cause): deaths by LA with IMS contact",
    ),
    Option(
        "reports.issue",
        "int",
        "the report's issue number, shown at the top of every report (a re-issue with late "
        "data: 2, 3, ...)",
        minimum=1,
    ),
    Option(
        "reports.intro",
        "str",
        "an introduction shown at the top of every report, in Markdown (paragraphs, "
        "emphasis, links, lists; no HTML)",
        default="",
    ),
    Option(
        "reports.trend_years",
        "int",
        "how many financial years the trends show, up to the drop's (the most recent)",
        default=6,
        minimum=1,
    ),
    Option(
        "reports.la_packs",
        "bool",
        "write a report pack (reports, PDFs, CSV files) for each LA in reports/la/<la_code>/",
        default=True,
    ),
    Option(
        "reports.pdf",
        "bool",
        "print every report to PDF beside its HTML (needs a headless Chromium)",
        default=True,
    ),
)
_BY_KEY = {o.key: o for o in OPTIONS}


@dataclass(frozen=True)
class Recipe:
    """A validated drop recipe, with every path resolved against the recipe's folder."""

    path: Path
    name: str
    period: Period
    threshold: int
    title: str
    area_name: str
    extract_path: Path
    extract_encoding: str | None
    postcodes: tuple[Path, ...]
    lsoa_boundaries: tuple[Path, ...]
    population: Path
    la_boundaries: Path | None = None
    lookup: Path | None = None
    imd: Path | None = None  # the English Indices of Deprivation file ([geography] imd)
    basemap: str = "osm"
    classification: str = "fisher_jenks"
    siting: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    rounding: int = 0
    protection: str = "suppression"
    cell_key_secret_file: Path | None = None
    date_format: str | None = None
    max_rejected_pct: float = 5
    issue: int | None = None
    intro: str = ""
    trend_years: int = 6
    la_packs: bool = True  # a report pack per LA ([reports] la_packs)
    pdf: bool = True  # the reports printed to PDF ([reports] pdf)
    population_year: int | None = None  # [atlas] population_year, for the credits
    data_year: int | None = None  # [atlas] data_year: the year of the copyright lines
    # [linkage]: key_file, treatment, deaths (resolved paths); empty without the section
    linkage: dict[str, Any] = field(default_factory=dict)

    def input_files(self) -> list[Path]:
        """Every geography input file named by the recipe (the extract is hashed separately),
        and the partners' keyed files; never the linkage key file (its path and hash are not
        published)."""
        files = [*self.postcodes, *self.lsoa_boundaries, self.population]
        files += [p for p in (self.la_boundaries, self.lookup, self.imd) if p is not None]
        if self.siting.get("candidates"):
            files.append(self.siting["candidates"])
        files += [self.linkage[k] for k in ("treatment", "deaths") if self.linkage.get(k)]
        return files

    def published_raw(self) -> dict[str, Any]:
        """The recipe as the manifest publishes it: without the linkage key file's path."""
        if "key_file" not in self.raw.get("linkage", {}):
            return self.raw
        linkage = {k: v for k, v in self.raw["linkage"].items() if k != "key_file"}
        return {**self.raw, "linkage": linkage}


def load_recipe(path: str | Path) -> Recipe:
    """Read and validate a recipe; raise RecipeError listing every problem found."""
    path = Path(path)
    if not path.is_file():
        raise RecipeError(str(path), [f"recipe file not found: {path}"])
    try:
        text = path.read_text(encoding="utf-8")
        raw = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RecipeError(str(path), [f"not valid TOML: {exc}"]) from None
    except OSError as exc:
        raise RecipeError(str(path), [f"cannot read it: {exc.strerror or exc}"]) from None
    values, problems = _check(raw, path.parent.resolve(), _key_lines(text))
    problems = _unknown(raw, text) + problems
    if problems:
        raise RecipeError(str(path), problems)
    siting = {k.split(".", 1)[1]: v for k, v in values.items() if k.startswith("siting.")}
    return Recipe(
        path=path.resolve(),
        name=values["drop.name"],
        period=values["drop.period"],
        threshold=values["drop.threshold"],
        title=values["drop.title"],
        area_name=values["drop.area_name"],
        extract_path=values["extract.path"],
        extract_encoding=values["extract.encoding"],
        postcodes=tuple(values["geography.postcodes"]),
        lsoa_boundaries=tuple(values["geography.lsoa_boundaries"]),
        population=values["geography.population"],
        la_boundaries=values["geography.la_boundaries"],
        lookup=values["geography.lookup"],
        imd=values["geography.imd"],
        basemap=values["atlas.basemap"],
        classification=values["atlas.classification"],
        siting=siting if "siting" in raw else {},
        raw=raw,
        rounding=values["drop.rounding"],
        protection=values["drop.protection"],
        cell_key_secret_file=values["drop.cell_key_secret_file"],
        date_format=values["extract.date_format"],
        max_rejected_pct=values["extract.max_rejected_pct"],
        issue=values["reports.issue"],
        intro=values["reports.intro"],
        trend_years=values["reports.trend_years"],
        la_packs=values["reports.la_packs"],
        pdf=values["reports.pdf"],
        population_year=values["atlas.population_year"],
        data_year=values["atlas.data_year"],
        linkage={
            k.split(".", 1)[1]: v
            for k, v in values.items()
            if k.startswith("linkage.") and v is not None
        },
    )


def _check(
    raw: dict[str, Any], base: Path, lines: dict[str, int] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Check every declared option. Returns (values, problems); a bad period names its line
    in the file (``lines``: :func:`_key_lines`)."""
    problems: list[str] = []
    flat = _flatten(raw)
    values: dict[str, Any] = {}
    for opt in OPTIONS:
        if opt.key not in flat:
            if opt.required:
                problems.append(f"{opt.key}: missing (required: {opt.doc})")
            values[opt.key] = opt.default
            if opt.kind in ("path", "dir") and opt.default is None:
                values[opt.key] = None
            continue
        try:
            values[opt.key] = _CHECKERS[opt.kind](opt, flat[opt.key], base)
        except ValueError as exc:
            line = (lines or {}).get(opt.key) if opt.kind == "period" else None
            problems.append(f"line {line}: {opt.key}: {exc}" if line else f"{opt.key}: {exc}")
    if "siting" in raw and "siting.candidates" not in flat:
        problems.append(
            "siting.candidates: missing (required when [siting] is given: a CSV of "
            "site_code, site_name, postcode)"
        )
    if values.get("drop.protection") == "cell_key":
        if (
            values.get("drop.cell_key_secret_file") is None
            and "drop.cell_key_secret_file" not in flat
        ):
            problems.append(
                'drop.cell_key_secret_file: missing (required with protection = "cell_key": '
                "a file outside the published folder holding the secret of the record keys)"
            )
        if values.get("drop.rounding"):
            problems.append(
                'drop.rounding: cannot be combined with protection = "cell_key" (the cell key '
                "perturbs every count already)"
            )
    if values.get("siting.weight_imd") is True and "geography.imd" not in flat:
        problems.append(
            "siting.weight_imd: needs [geography] imd (the Indices of Deprivation file giving "
            "each LSOA's decile)"
        )
    if "linkage" in raw:
        given = [k for k in ("treatment", "deaths") if f"linkage.{k}" in flat]
        if not given:
            problems.append(
                "linkage: give treatment or deaths (a partner's file keyed with "
                "ims-atlas link-key), or remove the [linkage] section"
            )
        if "linkage.key_file" not in flat:
            problems.append(
                "linkage.key_file: missing (required with [linkage]: the key file the "
                "partners keyed their files with)"
            )
        if values.get("drop.protection") == "cell_key":
            problems.append(
                'linkage: cannot be combined with protection = "cell_key" yet (the linked '
                "counts have no cell keys); use suppression or rounding"
            )
    target = values.get("siting.target_pct")
    if isinstance(target, (int, float)) and not isinstance(target, bool) and target > 100:
        problems.append(f"siting.target_pct: must be at most 100, got {target}")
    name = values.get("drop.name")
    if isinstance(name, str) and (not name.strip() or re.search(r"[/\\]|^\.", name)):
        problems.append(f"drop.name: {name!r} is not a usable folder name")
    elif isinstance(name, str) and len(name.encode()) > MAX_NAME:
        size = len(name.encode())
        unit = "characters" if size == len(name) else "bytes in UTF-8"
        problems.append(
            f"drop.name: {size} {unit} long; a folder name may have at most {MAX_NAME}"
        )
    return values, problems


SECTIONS = tuple(dict.fromkeys(o.key.split(".", 1)[0] for o in OPTIONS))


def _unknown(raw: dict[str, Any], text: str) -> list[str]:
    """Every unknown section and key, in the order of the file: ``line N: key: unknown key
    (did you mean ...?)``."""
    lines = _key_lines(text)
    found: list[tuple[int, str]] = []
    for section, value in raw.items():
        if isinstance(value, dict) and section not in SECTIONS:
            hint = _nearest(section, SECTIONS, "[{}]") or f"known sections: {', '.join(SECTIONS)}"
            found.append((_line_of(section, lines), f"[{section}]: unknown section ({hint})"))
    for key in _flatten(raw):
        top = key.split(".", 1)[0]
        if key in _BY_KEY or (isinstance(raw[top], dict) and top not in SECTIONS):
            continue
        hint = _nearest(key, list(_BY_KEY), "{}")
        if not hint:
            same = [k.split(".", 1)[1] for k in _BY_KEY if k.split(".", 1)[0] == top]
            hint = f"known keys of [{top}]: {', '.join(same)}" if same else ""
        found.append(
            (_line_of(key, lines), f"{key}: unknown key" + (f" ({hint})" if hint else ""))
        )
    return [f"line {n}: {message}" if n else message for n, message in sorted(found)]


def _nearest(name: str, known: list[str] | tuple[str, ...], form: str) -> str:
    """``did you mean X?`` for the known name nearest ``name`` (whole, else by its last part)."""
    close = difflib.get_close_matches(name, known, n=1)
    if not close:
        leaf = name.rsplit(".", 1)[-1]
        by_leaf = {k.rsplit(".", 1)[-1]: k for k in known}
        close = [by_leaf[m] for m in difflib.get_close_matches(leaf, list(by_leaf), n=1)]
    return f"did you mean {form.format(close[0])}?" if close else ""


_KEY = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*"""
_HEADER = re.compile(rf"^\s*\[\[?\s*({_KEY})\s*\]\]?\s*(?:#.*)?$")
_ASSIGN = re.compile(rf"^\s*({_KEY})\s*=")


def _key_lines(text: str) -> dict[str, int]:
    """Line (from 1) where each table and key of a TOML text is first written, by dotted name;
    lines inside multi-line strings are skipped."""
    lines: dict[str, int] = {}
    table: list[str] = []
    in_string = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_string:
            if line.count(in_string) % 2:
                in_string = None
            continue
        header = _HEADER.match(line)
        if header:
            table = _parts(header.group(1))
            lines.setdefault(".".join(table), number)
            continue
        assign = _ASSIGN.match(line)
        if assign:
            lines.setdefault(".".join([*table, *_parts(assign.group(1))]), number)
        for quotes in ('"""', "'''"):
            if line.count(quotes) % 2:
                in_string = quotes
                break
    return lines


def _parts(dotted: str) -> list[str]:
    return [p.strip().strip("\"'") for p in re.findall(r"""(?:"[^"]*"|'[^']*'|[^.])+""", dotted)]


def _line_of(key: str, lines: dict[str, int]) -> int:
    """The line of ``key``, else of the nearest enclosing table or key written (0: not found)."""
    parts = key.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in lines:
            return lines[".".join(parts[:end])]
    return 0


def _flatten(raw: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for k, v in raw.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            flat.update(_flatten(v, key + "."))
        else:
            flat[key] = v
    return flat


def _type_name(value: Any) -> str:
    return {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "a boolean",
        list: "a list",
    }.get(type(value), type(value).__name__)


def _as_str(opt: Option, value: Any, base: Path) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {_type_name(value)} ({value!r})")
    return value


def _as_bool(opt: Option, value: Any, base: Path) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {_type_name(value)} ({value!r})")
    return value


def _as_int(opt: Option, value: Any, base: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {_type_name(value)} ({value!r})")
    if opt.minimum is not None and value < opt.minimum:
        raise ValueError(f"must be at least {opt.minimum:g}, got {value}")
    return value


def _as_number(opt: Option, value: Any, base: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number, got {_type_name(value)} ({value!r})")
    if opt.minimum is not None and value < opt.minimum:
        raise ValueError(f"must be at least {opt.minimum:g}, got {value}")
    return value


def _as_choice(opt: Option, value: Any, base: Path) -> str:
    value = _as_str(opt, value, base)
    if value not in opt.choices:
        raise ValueError(f"{value!r} is not one of {', '.join(opt.choices)}")
    return value


def _as_date_format(opt: Option, value: Any, base: Path) -> str:
    value = _as_str(opt, value, base)
    if not _whole_date_format(value):
        raise ValueError(
            f'{value!r} is not a strptime format giving the day, month and year (e.g. "%d/%m/%Y")'
        )
    return value


def _whole_date_format(value: str) -> bool:
    """Whether ``value`` writes and reads back a whole date (day, month and year)."""
    day = dt.datetime(2017, 12, 31)
    try:
        return dt.datetime.strptime(day.strftime(value), value) == day
    except ValueError:
        return False


def check_date_format(value: str, shown: str) -> str:
    """``value`` if it is a date format as ``[extract] date_format`` takes; else UsageError
    (exit 2) naming it as ``shown`` (e.g. ``--date-format``)."""
    if not _whole_date_format(value):
        raise UsageError(
            f"{shown}: {value!r} is not a strptime format giving the day, month and year "
            '(e.g. "%d/%m/%Y")'
        )
    return value


def _as_period(opt: Option, value: Any, base: Path) -> Period:
    value = _as_str(opt, value, base)
    try:
        return parse_period(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a financial year written YYYY-YY (e.g. 2017-18) nor a quarter "
            "written YYYY-YY Qn with n from 1 to 4 (e.g. 2018-19 Q2)"
        ) from None


def _as_path(opt: Option, value: Any, base: Path) -> Path:
    value = _as_str(opt, value, base)
    p = (base / value).resolve()
    if not p.exists():
        raise ValueError(f"path does not exist: {p}")
    if opt.kind == "dir" and not p.is_dir():
        raise ValueError(f"not a folder: {p}")
    if opt.kind == "path" and not p.is_file():
        raise ValueError(f"not a file: {p}")
    return p


def _as_paths(opt: Option, value: Any, base: Path) -> list[Path]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        raise ValueError(f"expected a path, a glob or a list of paths, got {value!r}")
    out: list[Path] = []
    missing: list[str] = []
    for item in items:
        pattern = str(base / item)
        if glob.has_magic(item):
            hits = sorted(Path(h).resolve() for h in glob.glob(pattern))
            if not hits:
                missing.append(f"glob matches no file: {pattern}")
            out.extend(hits)
        else:
            p = Path(pattern).resolve()
            if p.is_file():
                out.append(p)
            else:
                missing.append(f"path does not exist: {p}")
    if missing:
        raise ValueError("; ".join(missing))
    return out


_CHECKERS: dict[str, Callable[[Option, Any, Path], Any]] = {
    "str": _as_str,
    "int": _as_int,
    "bool": _as_bool,
    "number": _as_number,
    "choice": _as_choice,
    "period": _as_period,
    "date_format": _as_date_format,
    "path": _as_path,
    "dir": _as_path,
    "paths": _as_paths,
}
