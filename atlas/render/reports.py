"""The tabular reports: monitoring, and activity & data quality, as printable HTML with a CSV
beside every table.

Jinja2 templates live in ``templates/`` (autoescaping on; one include per report section). The
context is a typed dict so the code-to-template contract is written down. Only published
(protected) counts of individuals reach a template: every per-person average and percentage of
individuals is computed here from *published* counts and withheld where one is suppressed.
Each table is first built as a tidy frame; the CSV is that frame, the HTML is drawn from it.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, TypedDict

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup

from ..counting.aggregate import COLUMNS
from ..counting.individuals import ALL, COHORT_LABELS, COHORT_ORDER
from ..counting.periods import Period
from ..counting.rates import half_up, round_half_up
from ..counting.report_counts import (
    ACTIVITY_COLUMNS,
    ASSESSMENT_ITEMS,
    BOUNDED,
    PROFILE_DIMENSIONS,
    QUARTERS,
    ReportCounts,
    activity_id,
)
from ..counting.tally import TOTAL
from ..counting.trends import TREND_ACTIVITY, same_months
from ..counting.year_numbers import ACTIVITY_NAME as YEAR_ACTIVITY
from ..counting.year_numbers import REVIEWS
from ..disclosure.suppress import Published
from ..geography.imd import Deprivation
from .charts import line_chart, stacked_bars
from .cohort_description import cohort_rows, cohort_tables
from .deprivation import deprivation_rows, deprivation_tables
from .markdown_text import markdown_html
from .reassessment import reassessment_table
from .tables import to_csv_bytes
from .wellbeing import TABLE as WELLBEING
from .wellbeing import wellbeing_rows, wellbeing_table
from .year_tables import equipment_rows, year_rows

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
SUPPRESSED_MARK = "*"
COMPLETION_TARGET = 90.0  # assessment items completed below this share are flagged to fix


class PeriodContext(TypedDict):
    """How the reports name a drop's period and its quarters (part of ``ReportBase``)."""

    period_heading: str  # "financial year 2017-18 (...)", "Quarter 2 2018-19: 12 months ..."
    twelve_months: str  # "the full year 2017-18", "the 12 months 1 October 2017 – ..."
    months: str  # "1 October 2017 – 30 September 2018"
    last_quarter: str  # "2017-18 Q4"
    quarters: list[str]  # the period's quarters, oldest first: "Q3 2017-18", ...
    quarter_columns: list[str]  # their columns in the quarter tables, in that order: "q3", ...


class ReportBase(PeriodContext):
    """What every report template receives about the drop, whatever the report."""

    title: str
    area_name: str
    period: str  # as the recipe writes it: "2017-18", "2018-19 Q2"
    threshold: int
    perturbation: int  # the cell key's largest perturbation (0: counts not perturbed)
    mark: str
    cohorts: list[tuple[str, str]]
    quality_notes: list[str]  # why the extract failed the quality gate (built anyway)
    issue: int | None  # the report's issue number ([reports] issue)
    intro: Markup  # the recipe's introduction ([reports] intro), as safe HTML


class PackLink(TypedDict):
    """A report pack as the reports' navigation links to it (paths relative to the page)."""

    name: str
    monitoring: str
    data_quality: str
    monitoring_pdf: str | None  # None: no PDFs in this drop
    data_quality_pdf: str | None


class ReportContext(ReportBase):
    """What every report template receives."""

    tables: dict[str, Any]  # table name -> rows for the template
    charts: dict[str, Markup]  # chart name -> inline SVG
    csv: dict[str, str]  # table name -> CSV path relative to the report
    packs: list[PackLink]  # the area's reports, then every LA pack ([]: none)


@functools.cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment of every page (one per process, so each template is compiled
    once): autoescaped, strict about undefined names."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["num"] = fmt_count
    env.filters["pct"] = fmt_pct
    env.filters["dec"] = fmt_decimal
    env.globals["zip"] = zip
    return env


def _missing(value: Any) -> bool:
    """None, NA, NaN or empty text (the common kinds decided without ``pd.isna``)."""
    if value is None or value is pd.NA:
        return True
    if isinstance(value, str):
        return value == ""
    if isinstance(value, (int, np.integer)):
        return False
    if isinstance(value, float):
        return value != value
    return bool(pd.isna(value)) or value == ""


def _mark() -> Markup:
    return Markup(
        f'<a class="supp" href="#note-suppressed" title="suppressed">{SUPPRESSED_MARK}</a>'
    )


def fmt_count(value: Any) -> Markup | str:
    """``11757`` -> ``11,757``; a suppressed (missing) count -> the suppression mark."""
    return _mark() if _missing(value) else f"{int(value):,}"


def fmt_pct(value: Any) -> Markup | str:
    """``31.4`` -> ``31.4%`` (rounded half up); withheld -> the suppression mark."""
    return _mark() if _missing(value) else f"{_half_up(float(value), 1):.1f}%"


def fmt_decimal(value: Any, places: int = 1) -> Markup | str:
    """A rate or average, rounded half up (``24.3``); a rate already published as text is kept
    as it is; withheld -> the suppression mark."""
    if _missing(value):
        return _mark()
    if isinstance(value, str):
        return value
    return f"{_half_up(float(value), places):.{places}f}"


def _half_up(value: float, places: int) -> float:
    return half_up(value, places)


def _share(part: pd.Series, whole: pd.Series) -> pd.Series:
    """Percentage of published counts; withheld (NaN) where either count is suppressed."""
    p, w = part.astype("Float64"), whole.astype("Float64")
    out = (100 * p / w.where(w > 0)).astype(float)
    return out.where(p.notna().to_numpy() & w.notna().to_numpy())


def _per(numerator: pd.Series, people: pd.Series) -> pd.Series:
    """Events per person; withheld where the count of people is suppressed or zero."""
    n = people.astype("Float64")
    return (numerator.astype(float) / n.where(n > 0)).astype(float)


def _returns_text(visits: Any, returns: Any) -> str:
    """As published: "1 return to every 3.2 visits (31.4% of visits)"; blank where either is
    withheld."""
    if _missing(visits) or _missing(returns):
        return ""
    if visits == 0:
        return "no visits"
    if returns == 0:
        return "no returns recorded"
    ratio = _half_up(visits / returns, 1)
    share = _half_up(100 * returns / visits, 1)
    return f"1 return to every {ratio:.1f} visits ({share:.1f}% of visits)"


def render_reports(
    published: Published,
    counts: ReportCounts,
    sites: pd.DataFrame,
    *,
    title: str,
    area_name: str,
    period: str,
    siting: Any = None,
    quality_notes: list[str] | None = None,
    issue: int | None = None,
    intro: str = "",
    tables: dict[str, pd.DataFrame] | None = None,
    packs: list[PackLink] | None = None,
    deprivation: Deprivation | None = None,
    linkage: dict[str, Any] | None = None,
) -> dict[str, bytes]:
    """Both reports as HTML bytes and their tables as CSV, keyed by their path in the drop.
    ``quality_notes``: why the extract failed the quality gate, for a drop built anyway;
    ``issue``, ``intro`` (Markdown): shown at the top of every report; ``tables``: the
    :func:`report_tables` when already made; ``packs``: the links to the area's reports and
    every LA pack, relative to ``reports/``; ``deprivation``: the IMD file read, for the
    section by decile; ``linkage``: the linked figures' section
    (:func:`atlas.render.linkage.linkage_section`), None without ``[linkage]``."""
    if tables is None:
        tables = report_tables(published, counts, sites, area_name)
    files = {f"reports/csv/{name}.csv": to_csv_bytes(frame) for name, frame in tables.items()}
    env = environment()
    base = report_base(
        published,
        counts,
        title=title,
        area_name=area_name,
        period=period,
        quality_notes=quality_notes,
        issue=issue,
        intro=intro,
    )
    mon_rows = _monitoring_rows(tables, counts)
    mon_rows["siting"] = siting_section(siting) if siting is not None else None
    mon_rows["cohorts"] = cohort_rows(tables, TOTAL)
    mon_rows["wellbeing"] = wellbeing_rows(tables, TOTAL)
    mon_rows["deprivation"] = deprivation_rows(tables, TOTAL, deprivation)
    mon_rows["linkage"] = linkage
    mon = ReportContext(
        **base,
        tables=mon_rows,
        charts=_monitoring_charts(tables, counts),
        csv={n: f"csv/{n}.csv" for n in tables if n.startswith("monitoring_")},
        packs=list(packs or []),
    )
    dq = ReportContext(
        **base,
        tables=_dq_rows(tables),
        charts={},
        csv={n: f"csv/{n}.csv" for n in tables if n.startswith("data_quality_")},
        packs=list(packs or []),
    )
    files["reports/monitoring.html"] = (
        env.get_template("monitoring.html.j2").render(**mon).encode()
    )
    files["reports/data_quality.html"] = (
        env.get_template("data_quality.html.j2").render(**dq).encode()
    )
    return files


def report_tables(
    published: Published, counts: ReportCounts, sites: pd.DataFrame, area_name: str
) -> dict[str, pd.DataFrame]:
    """Every table of the area's two reports (name -> tidy frame, as its CSV is written)."""
    names = _names(published, area_name)
    monitoring = _monitoring_tables(published, counts, names)
    return {
        **monitoring,
        **cohort_tables(published, names, monitoring["monitoring_profiles"]),
        WELLBEING: wellbeing_table(published, names, monitoring["monitoring_la_activity"]),
        **deprivation_tables(published, names),
        **_data_quality_tables(published, counts, names, sites),
    }


def report_base(
    published: Published,
    counts: ReportCounts,
    *,
    title: str,
    area_name: str,
    period: str,
    quality_notes: list[str] | None = None,
    issue: int | None = None,
    intro: str = "",
) -> ReportBase:
    """What every report of the drop (the area's and each pack's) says about the drop;
    ``issue``, ``intro`` (Markdown): shown at the top of every report."""
    return ReportBase(
        title=title,
        area_name=area_name,
        period=period,
        **period_context(counts.period),
        threshold=published.threshold,
        perturbation=published.perturbation,
        mark=SUPPRESSED_MARK,
        cohorts=[(c, COHORT_LABELS[c]) for c in COHORT_ORDER],
        quality_notes=list(quality_notes or []),
        issue=issue,
        intro=markdown_html(intro),
    )


def period_context(period: Period) -> PeriodContext:
    """The period's names for the report templates: its heading, its 12 months, its last
    quarter and its quarters, oldest first, each labelled by its real quarter."""
    quarters = period.quarters()
    return PeriodContext(
        period_heading=period.heading,
        twelve_months=period.full_year,
        months=period.months,
        last_quarter=period.last_quarter.label,
        quarters=[q.short for q in quarters],
        quarter_columns=[f"q{q.number}" for q in quarters],
    )


def quarter_order(period: Period) -> dict[int, int]:
    """Each quarter number's place in the period's 12 months (the oldest 0)."""
    return {q.number: i for i, q in enumerate(period.quarters())}


def siting_section(pub: Any) -> dict[str, Any]:
    """The monitoring report's NSP siting section, from a published plan (``PublishedPlan``)."""
    return {
        "radius_m": f"{pub.radius_m:,.0f}",
        "new_sites": pub.new_sites,
        "rows": pub.siting.to_dict("records"),
        "las": pub.coverage_la.to_dict("records"),
        "recommended": len(pub.recommended),
        "left_out": f"{'at least ' if not pub.left_out_exact else ''}{pub.left_out:,}",
        "target_pct": None if pub.target_pct is None else f"{pub.target_pct:g}",
        "target_sites": pub.target_sites,
        "best_possible_pct": pub.best_possible_pct,
        "suppressed_as": pub.suppressed_as,
        "estimated_lsoas": f"{pub.estimated_lsoas:,}",
        "lsoas": f"{len(pub.lsoas):,}",
        "weighted": pub.weighted,
    }


def _names(published: Published, area_name: str) -> pd.DataFrame:
    """LA code -> name, in the published order (by name), the area last."""
    svc = published.service_la.drop_duplicates("la_code")[["la_code", "la_name"]]
    las = svc[svc["la_code"] != TOTAL].sort_values("la_name", kind="stable")
    # the total is named as the service table names it (not the area's when it counts
    # individuals seen at services outside the drop's LAs)
    total = svc.loc[svc["la_code"] == TOTAL, "la_name"]
    name = str(total.iloc[0]) if len(total) else area_name
    return pd.concat(
        [las, pd.DataFrame({"la_code": [TOTAL], "la_name": [name]})], ignore_index=True
    )


# --- monitoring ---------------------------------------------------------------------------


def _monitoring_tables(
    published: Published, counts: ReportCounts, names: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    svc = published.service_la
    quarter = published.extra["quarter_individuals"]
    last_quarter = counts.period.last_quarter.number
    last = quarter[quarter["quarter"] == last_quarter][["la_code", "cohort", "individuals"]]
    shown = COLUMNS["tables/service_la_cohorts.csv"][1]
    year = svc[[c for c in shown if c not in ("la_name", "suppressed")]]
    summary = names.merge(pd.DataFrame({"cohort": list(COHORT_ORDER)}), how="cross")
    summary = summary.merge(
        last.rename(columns={"individuals": "last_quarter"}), on=["la_code", "cohort"], how="left"
    )
    summary = summary.merge(year, on=["la_code", "cohort"], how="left")
    summary = summary.rename(columns={"individuals": "twelve_months"})
    alls = summary[summary["cohort"] == ALL].set_index("la_code")["twelve_months"]
    summary["share_of_all"] = round_half_up(
        _share(summary["twelve_months"], summary["la_code"].map(alls)), 1
    )
    summary["suppressed"] = summary["twelve_months"].isna() | summary["last_quarter"].isna()
    for col in ("last_quarter", "twelve_months"):
        summary[col] = summary[col].astype("Int64")
    summary.insert(0, "period", published_period(counts))

    act = _published_activity(counts.la_activity, "la_code", published).merge(names, on="la_code")
    clients = published.extra["intervention_clients"][["la_code", "quarter", "individuals"]]
    act = act.merge(
        clients.rename(columns={"individuals": "intervention_clients"}),
        on=["la_code", "quarter"],
        how="left",
    )
    act["interventions_per_person"] = round_half_up(
        _per(act["interventions"], act["intervention_clients"]), 2
    )
    act["returns_per_visit_pct"] = round_half_up(
        _share(act["nsp_returns"], act["nsp_visits"].astype("Int64")), 1
    )
    visits, returns = act["nsp_visits"].astype(float), act["nsp_returns"].astype(float)
    act["visits_per_return"] = round_half_up(visits / returns.where(returns > 0), 1)
    act["intervention_clients_suppressed"] = act["intervention_clients"].isna()
    order = {c: i for i, c in enumerate(names["la_code"])}
    when = quarter_order(counts.period)
    act = act.sort_values(
        ["la_code", "quarter"], key=lambda s: s.map(order if s.name == "la_code" else when)
    ).reset_index(drop=True)
    act = act[
        [
            "la_code",
            "la_name",
            "quarter",
            "nsp_visits",
            "nsp_returns",
            "visits_per_return",
            "returns_per_visit_pct",
            "interventions",
            "intervention_clients",
            "intervention_clients_suppressed",
            "interventions_per_person",
            "wellbeing_reviews",
            "referrals_in",
            "referrals_out",
        ]
    ]

    prof = published.extra["profiles"].copy()
    totals = svc[svc["la_code"] == TOTAL].set_index("cohort")["individuals"]
    prof["share"] = round_half_up(_share(prof["individuals"], prof["cohort"].map(totals)), 1)
    prof["dimension_label"] = prof["dimension"].map(PROFILE_DIMENSIONS)
    prof = prof.sort_values("order", kind="stable")
    prof = prof[
        [
            "dimension",
            "dimension_label",
            "category",
            "cohort",
            "individuals",
            "share",
            "suppressed",
        ]
    ].reset_index(drop=True)

    return {
        "monitoring_cohort_summary": summary,
        "monitoring_la_activity": act,
        "monitoring_profiles": prof,
        **trend_tables(published, counts, names),
    }


def published_period(counts: ReportCounts) -> str:
    """The period as the recipe writes it: ``2017-18``, ``2018-19 Q2``."""
    return counts.period.label


def trend_tables(
    published: Published, counts: ReportCounts, names: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """The trends as published, per financial year (``partial``: the extract covers the year
    only in part): individuals per cohort in the area (``monitoring_trend``, its columns as
    before the LAs had trends) and per service LA (``monitoring_trend_la``); activity per LA
    and in the area (``TOTAL``, last), blank where disclosure control withheld it (the drop's
    own year: the sum of its published quarters, blank where one is)."""
    order = {c: i for i, c in enumerate(names["la_code"])}
    la_name = names.set_index("la_code")["la_name"]

    def arranged(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.assign(la_name=frame["la_code"].map(la_name), _o=frame["la_code"].map(order))
        return out.sort_values(["year", "_o"], kind="stable").reset_index(drop=True)

    people = arranged(published.extra["trend"])
    area = people[people["la_code"] == TOTAL]
    las = people[people["la_code"] != TOTAL]
    own = _own_year_activity(published, counts, names)
    act = published.extra["trend_activity"]
    act = pd.concat([f for f in (act, own) if len(f)] or [act], ignore_index=True)
    wide = (
        act.set_index(["year", "partial", "la_code", "kind"])["individuals"]
        .astype("Int64")
        .unstack("kind")
        .reindex(columns=list(TREND_ACTIVITY))
        .reset_index()
    )
    activity = arranged(wide)[["year", "partial", "la_code", "la_name", *TREND_ACTIVITY]]
    return {
        "monitoring_trend": area[["year", "cohort", "individuals", "suppressed", "partial"]],
        "monitoring_trend_la": las[
            ["year", "partial", "la_code", "la_name", "cohort", "individuals", "suppressed"]
        ],
        "monitoring_trend_activity": activity,
    }


def trend_people(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Individuals per cohort, year and service LA, the area's rows as ``la_code`` TOTAL."""
    summary = tables["monitoring_cohort_summary"]
    name = summary.loc[summary["la_code"] == TOTAL, "la_name"]
    area = tables["monitoring_trend"].assign(
        la_code=TOTAL, la_name=name.iloc[0] if len(name) else ""
    )
    return pd.concat([tables["monitoring_trend_la"], area], ignore_index=True)


def _own_year_activity(
    published: Published, counts: ReportCounts, names: pd.DataFrame
) -> pd.DataFrame:
    """The trend's activity rows for the drop's own year, if it is one of the trend's: per LA
    and the area, the sum of the published quarters (missing where one is withheld)."""
    own = [y for y in counts.trend if same_months(y.year, counts.period)]
    columns = ["year", "partial", "la_code", "kind", "individuals"]
    if not own:
        return pd.DataFrame(columns=columns)
    cells = published.extra["activity"].set_index("cell_id")["individuals"]
    rows = []
    for code in names["la_code"]:
        for kind in TREND_ACTIVITY:
            values = cells.reindex([activity_id(kind, code, q) for q in QUARTERS])
            total = pd.NA if values.isna().any() else int(values.sum())
            rows.append((own[0].year.label, bool(own[0].partial), code, kind, total))
    out = pd.DataFrame(rows, columns=columns)
    out["individuals"] = out["individuals"].astype("Int64")
    return out


def trend_rows(
    tables: dict[str, pd.DataFrame],
    counts: ReportCounts,
    la_code: str = TOTAL,
    las: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The trend sections' rows for one unit (the area, or an LA): per year its cohorts and
    activity, marked partial with the reason; and every LA's individuals per year (``las``:
    :func:`trend_las` of the area's tables when already made)."""
    why = {y.year.label: y.partial for y in counts.trend}
    people = trend_people(tables)
    mine = people[people["la_code"] == la_code]
    act = tables["monitoring_trend_activity"]
    act = act[act["la_code"] == la_code].set_index("year")
    years = [
        {
            "year": year,
            "partial": why.get(year, ""),
            "cells": list(part.set_index("cohort").loc[list(COHORT_ORDER), "individuals"]),
            "activity": [act.at[year, kind] for kind in TREND_ACTIVITY],
        }
        for year, part in mine.groupby("year", sort=True)
    ]
    return {"years": years, "las": _trend_las(people) if las is None else las}


def trend_las(tables: dict[str, pd.DataFrame]) -> list[dict[str, Any]]:
    """Every LA's (and the area's, last) individuals per year: the trend's table of LAs, the
    same in the area's report and in every pack."""
    return _trend_las(trend_people(tables))


def _trend_las(people: pd.DataFrame) -> list[dict[str, Any]]:
    alls = people[people["cohort"] == ALL]
    order = {c: i for i, c in enumerate(dict.fromkeys([*alls["la_code"]]))}  # LAs, the area
    alls = alls.sort_values(
        ["la_code", "year"],
        key=lambda s: s.map(order) if s.name == "la_code" else s,
        kind="stable",
    )
    return [
        {
            "la_code": code,
            "la_name": rows[0]["la_name"],
            "total": code == TOTAL,
            "cells": [r["individuals"] for r in rows],
        }
        for code, rows in _grouped(alls, "la_code")
    ]


def la_rows(summary: pd.DataFrame) -> list[dict[str, Any]]:
    """Every LA's (and the area's, last) cohort cells from ``monitoring_cohort_summary``: the
    table comparing the LAs, the same in the area's report and in every pack."""
    by_la = []
    for code, rows in _grouped(summary, "la_code"):
        by = {r["cohort"]: r for r in rows}
        by_la.append(
            {
                "la_code": code,
                "la_name": rows[0]["la_name"],
                "total": code == TOTAL,
                "cells": [
                    {
                        "last_quarter": by[c]["last_quarter"],
                        "twelve_months": by[c]["twelve_months"],
                        "share": by[c]["share_of_all"],
                        # no population (a total beyond the area's): no rate, not withheld
                        "rate": "–" if _missing(by[c]["population"]) else by[c]["rate_per_1000"],
                        "ci": _ci(by[c]["rate_lower"], by[c]["rate_upper"]),
                    }
                    for c in COHORT_ORDER
                ],
            }
        )
    return by_la


def _monitoring_rows(
    tables: dict[str, pd.DataFrame],
    counts: ReportCounts,
    unit: str = TOTAL,
    by_la: list[dict[str, Any]] | None = None,
    trend_las: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The monitoring report's rows for ``unit`` (the area, or an LA from its pack's
    tables): ``by_la``, ``trend_las``: the tables of every LA (:func:`la_rows`,
    :func:`trend_las` of the area's tables) when already made."""
    if by_la is None:
        by_la = la_rows(tables["monitoring_cohort_summary"])
    area = next(r for r in by_la if r["la_code"] == unit)
    label = {q.number: q.short for q in counts.period.quarters()}
    activity = [
        {
            "la_name": rows[0]["la_name"],
            "total": code == TOTAL,
            "quarters": [
                dict(
                    r,
                    label=label[r["quarter"]],
                    average=_average(r),
                    returns_text=_returns_text(r["nsp_visits"], r["nsp_returns"]),
                )
                for r in rows
            ],
        }
        for code, rows in _grouped(tables["monitoring_la_activity"], "la_code")
    ]
    area_last = activity[-1]["quarters"][-1]
    profiles = [
        {
            "dimension": dim,
            "label": PROFILE_DIMENSIONS[dim],
            "rows": [
                {
                    "category": cat,
                    "cells": [(by[c]["individuals"], by[c]["share"]) for c in COHORT_ORDER],
                }
                for cat, by in cats.items()
            ],
        }
        for dim, cats in _profile_cells(tables["monitoring_profiles"])
    ]
    return {
        "year": year_rows(tables, unit),
        "equipment": equipment_rows(tables, counts.period),
        "by_la": by_la,
        "area": area,
        "activity": activity,
        "area_last": area_last,
        "profiles": profiles,
        "trend": trend_rows(tables, counts, unit, trend_las),
    }


def _profile_cells(
    prof: pd.DataFrame,
) -> list[tuple[str, dict[str, dict[str, dict[str, Any]]]]]:
    """A ``monitoring_profiles`` table per dimension, then per category (both in order of
    first appearance): its row (a record) per cohort."""
    out = []
    for dim, rows in _grouped(prof, "dimension"):
        cats: dict[str, dict[str, dict[str, Any]]] = {}
        for r in rows:
            cats.setdefault(r["category"], {})[r["cohort"]] = r
        out.append((dim, cats))
    return out


def _grouped(frame: pd.DataFrame, keys: str | list[str]) -> list[tuple[Any, list[dict[str, Any]]]]:
    """The rows as records (``to_dict("records")``), grouped as ``frame.groupby(keys,
    sort=False)`` groups them: groups in order of first appearance, each its key (a tuple for
    several keys) and its rows in frame order; rows with a missing key are left out."""
    records = frame.to_dict("records")
    group = frame.groupby(keys, sort=False).ngroup().to_numpy(dtype=float, na_value=np.nan)
    kept = np.flatnonzero(~np.isnan(group))
    order = kept[np.argsort(group[kept], kind="stable")]
    starts = np.flatnonzero(np.r_[True, np.diff(group[order]) != 0]) if len(order) else order
    names = [keys] if isinstance(keys, str) else keys
    out = []
    for a, b in zip(starts, [*starts[1:], len(order)]):
        rows = [records[i] for i in order[a:b]]
        key = tuple(rows[0][k] for k in names)
        out.append((key[0] if isinstance(keys, str) else key, rows))
    return out


def _average(row: dict[str, Any]) -> float | str | None:
    """Interventions per person: withheld (None) where the clients are suppressed."""
    if _missing(row["intervention_clients"]):
        return None
    return "–" if row["intervention_clients"] == 0 else row["interventions_per_person"]


def _ci(lo: Any, hi: Any) -> str:
    return "" if _missing(lo) or _missing(hi) else f"{lo}–{hi}"


def _monitoring_charts(
    tables: dict[str, pd.DataFrame], counts: ReportCounts, unit: str = TOTAL
) -> dict[str, Markup]:
    """The monitoring report's charts; ``unit``: whose cohort totals the profiles are shares
    of (the area, or an LA of its pack)."""
    charts: dict[str, Markup] = {}
    totals = tables["monitoring_cohort_summary"]
    totals = totals[totals["la_code"] == unit].set_index("cohort")["twelve_months"]
    for dim, by_cat in _profile_cells(tables["monitoring_profiles"]):
        cats = list(by_cat)
        rows = []
        for c in COHORT_ORDER:
            cells = {k: by_cat[k][c]["individuals"] for k in cats}
            total = totals.get(c)
            rows.append(
                (
                    COHORT_LABELS[c],
                    None if _missing(total) else float(total),
                    [None if _missing(cells[k]) else float(cells[k]) for k in cats],
                )
            )
        charts[dim] = stacked_bars(f"{PROFILE_DIMENSIONS[dim]} by cohort", rows, cats)
    charts["trend"] = trend_chart(trend_people(tables), counts, unit)
    return charts


def trend_chart(trend: pd.DataFrame, counts: ReportCounts, la_code: str = TOTAL) -> Markup:
    """Individuals per cohort and financial year for one unit (the area, or an LA): whole
    years only, a partial one is left out of the chart (the table marks it)."""
    years = [y.year.label for y in counts.trend if not y.partial]
    trend = trend[trend["la_code"] == la_code]
    series = []
    for c in COHORT_ORDER:
        vals = trend[trend["cohort"] == c].set_index("year")["individuals"]
        series.append(
            (COHORT_LABELS[c], [None if _missing(vals.get(y)) else float(vals[y]) for y in years])
        )
    return line_chart("Individuals per cohort and financial year", years, series)


# --- data quality -------------------------------------------------------------------------


def _data_quality_tables(
    published: Published, counts: ReportCounts, names: pd.DataFrame, sites: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    svc = published.service_la
    year_la = svc[svc["cohort"] == ALL].set_index("la_code")["individuals"]
    quarter = published.extra["quarter_individuals"]
    quarter = quarter[quarter["cohort"] == ALL]
    site_info = _site_order(published.site_activity, names)

    # every quarter a column (oldest first), even with no one seen (no sites, no activity)
    quarters = [q.number for q in counts.period.quarters()]
    la_q = quarter.pivot(index="la_code", columns="quarter", values="individuals").reindex(
        columns=quarters
    )
    la_ind = names.copy()
    for q in quarters:
        la_ind[f"q{q}"] = la_ind["la_code"].map(la_q[q]).astype("Int64")
    la_ind["twelve_months"] = la_ind["la_code"].map(year_la).astype("Int64")

    sq = (
        published.extra["site_quarter_individuals"]
        .pivot(index="site_code", columns="quarter", values="individuals")
        .reindex(columns=quarters)
    )
    site_ind = site_info.copy()
    for q in quarters:
        site_ind[f"q{q}"] = site_ind["site_code"].map(sq[q]).astype("Int64")
    site_ind["twelve_months"] = site_ind["individuals"]
    site_ind = site_ind.drop(columns=["individuals"])

    act = _published_activity(counts.site_activity, "site_code", published).merge(
        site_info[["site_code", "site_name", "la_name"]], on="site_code"
    )
    la_act = (
        _published_activity(counts.la_activity, "la_code", published)
        .merge(names, on="la_code")
        .rename(columns={"la_code": "code"})
    )
    site_act = act.rename(columns={"site_code": "code", "site_name": "name"})
    la_act = la_act.rename(columns={"la_name": "name"}).assign(
        unit="la", la_name=la_act["la_name"]
    )
    site_act = site_act.assign(unit="site")
    site_rank = {c: i for i, c in enumerate(site_info["site_code"])}
    la_rank = {c: i for i, c in enumerate(names["la_code"])}
    site_act["_o"] = site_act["code"].map(site_rank)
    la_act["_o"] = la_act["code"].map(la_rank)
    when = quarter_order(counts.period)
    site_act["_q"] = site_act["quarter"].map(when)
    la_act["_q"] = la_act["quarter"].map(when)
    activity = pd.concat(
        [site_act.sort_values(["_o", "_q"]), la_act.sort_values(["_o", "_q"])],
        ignore_index=True,
    )
    activity = activity[["unit", "code", "name", "la_name", "quarter", *ACTIVITY_COLUMNS]]

    assessed = published.extra["assessed"].pivot(
        index="code", columns="assessment", values="individuals"
    )
    units = pd.concat(
        [
            site_info.assign(
                unit="site",
                code=site_info["site_code"],
                name=site_info["site_name"],
                seen=site_info["individuals"],
            ),
            names.assign(
                unit=np.where(names["la_code"] == TOTAL, "area", "la"),
                code=names["la_code"],
                name=names["la_name"],
                seen=names["la_code"].map(year_la),
            ),
        ],
        ignore_index=True,
    )[["unit", "code", "name", "la_name", "seen"]]
    units["seen"] = units["seen"].astype("Int64")
    units["with_assessment"] = units["code"].map(assessed["with"]).astype("Int64")
    units["without_assessment"] = units["code"].map(assessed["without"]).astype("Int64")
    units["with_assessment_pct"] = round_half_up(
        _share(units["with_assessment"], units["seen"]), 1
    )
    comp = counts.completion.set_index(["unit", "code"])
    keys = pd.MultiIndex.from_arrays([units["unit"], units["code"]])
    units["assessments"] = comp["assessments"].reindex(keys).fillna(0).astype(np.int64).to_numpy()
    for item in ASSESSMENT_ITEMS:
        units[f"{item}_pct"] = round_half_up(comp[item].reindex(keys).reset_index(drop=True), 1)
    units["to_fix"] = [
        "; ".join(
            label
            for item, label in ASSESSMENT_ITEMS.items()
            if not pd.isna(getattr(r, f"{item}_pct"))
            and getattr(r, f"{item}_pct") < COMPLETION_TARGET
        )
        for r in units.itertuples()
    ]
    return {
        "data_quality_la_individuals": la_ind,
        "data_quality_site_individuals": site_ind,
        "data_quality_activity": activity,
        "data_quality_assessments": units,
        "data_quality_reassessment": reassessment_table(units, published),
    }


def _published_activity(frame: pd.DataFrame, unit: str, published: Published) -> pd.DataFrame:
    """Activity per ``unit`` and quarter as published: the figures that bound a count of
    people (visits, returns, interventions; wellbeing reviews) blank where disclosure control
    withheld them."""
    cells = published.extra["activity"].set_index("cell_id")["individuals"]
    out = frame.copy()
    for kind in BOUNDED:
        keys = [activity_id(kind, c, q) for c, q in zip(frame[unit], frame["quarter"])]
        out[kind] = cells.reindex(keys).astype("Int64").array
    if YEAR_ACTIVITY in published.extra:  # wellbeing reviews bound the people reviewed
        reviews = published.extra[YEAR_ACTIVITY].set_index("cell_id")["individuals"]
        keys = [activity_id(REVIEWS, c, q) for c, q in zip(frame[unit], frame["quarter"])]
        out[REVIEWS] = reviews.reindex(keys).astype("Int64").array
    return out


def _site_order(site_activity: pd.DataFrame, names: pd.DataFrame) -> pd.DataFrame:
    """Sites grouped by LA (in the LA order), then by name; sites outside the drop's LAs last."""
    s = site_activity[["site_code", "site_name", "site_type", "la_code", "individuals"]].copy()
    s["la_name"] = (
        s["la_code"]
        .map(names.set_index("la_code")["la_name"])
        .fillna("Outside the area or not placed")
    )
    order = {c: i for i, c in enumerate(names["la_code"])}
    s["_o"] = s["la_code"].map(order).fillna(len(order))
    s = s.sort_values(["_o", "site_name", "site_code"], kind="stable").drop(columns="_o")
    return s.reset_index(drop=True)


def _dq_rows(tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    def grouped(frame: pd.DataFrame) -> list[dict[str, Any]]:
        return [{"la_name": la, "rows": rows} for la, rows in _grouped(frame, "la_name")]

    def series(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
        return {c: [r[c] for r in rows] for c in ("nsp_visits", "nsp_returns", "interventions")}

    act = tables["data_quality_activity"]
    site_act = [
        {"code": code, "name": name, "la_name": la, **series(rows)}
        for (code, name, la), rows in _grouped(
            act[act["unit"] == "site"], ["code", "name", "la_name"]
        )
    ]
    la_act = [
        {"code": code, "name": name, "total": code == TOTAL, **series(rows)}
        for (code, name), rows in _grouped(act[act["unit"] == "la"], ["code", "name"])
    ]
    units = tables["data_quality_assessments"]
    again = tables["data_quality_reassessment"]
    return {
        "la_individuals": tables["data_quality_la_individuals"].to_dict("records"),
        "site_individuals": grouped(tables["data_quality_site_individuals"]),
        "la_activity": la_act,
        "site_activity": _by_la(site_act),
        "la_assessments": units[units["unit"] != "site"].to_dict("records"),
        "site_assessments": grouped(units[units["unit"] == "site"]),
        "la_reassessment": again[again["unit"] != "site"].to_dict("records"),
        "site_reassessment": grouped(again[again["unit"] == "site"]),
        "assessment_items": list(ASSESSMENT_ITEMS.items()),
        "target": COMPLETION_TARGET,
    }


def _by_la(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for row in rows:
        if not out or out[-1]["la_name"] != row["la_name"]:
            out.append({"la_name": row["la_name"], "rows": []})
        out[-1]["rows"].append(row)
    return out
