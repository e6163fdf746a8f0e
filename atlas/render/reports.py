"""The tabular reports (first form): monitoring and data quality, as printable HTML.

Jinja2 templates live in ``templates/``, autoescaping on. The context is a typed dict so the
code-to-template contract is written down. Only published (protected) values reach a template.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypedDict

import jinja2
import pandas as pd

from ..aggregate import COHORT_ORDER, TOTAL
from ..individuals import COHORT_LABELS
from ..suppress import Published

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
SUPPRESSED_MARK = "*"


class ReportContext(TypedDict):
    """What every report template receives."""

    title: str
    area_name: str
    period: str
    threshold: int
    mark: str
    cohorts: list[tuple[str, str]]
    tables: dict[str, Any]


def environment() -> jinja2.Environment:
    """The Jinja2 environment for reports: autoescaped, strict about undefined names."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             autoescape=jinja2.select_autoescape(["html", "j2"]),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["num"] = fmt_count
    env.filters["pct"] = fmt_pct
    return env


def fmt_count(value: Any) -> str:
    """``11757`` -> ``11,757``; a suppressed (missing) count -> the suppression mark."""
    if value is None or pd.isna(value):
        return SUPPRESSED_MARK
    return f"{int(value):,}"


def fmt_pct(value: Any) -> str:
    if value is None or pd.isna(value):
        return SUPPRESSED_MARK
    return f"{float(value):.1f}%"


def _base(published: Published, title: str, area_name: str, period: str) -> ReportContext:
    return ReportContext(title=title, area_name=area_name, period=period,
                         threshold=published.threshold, mark=SUPPRESSED_MARK,
                         cohorts=[(c, COHORT_LABELS[c]) for c in COHORT_ORDER], tables={})


def render_reports(published: Published, quarterly: pd.DataFrame, completion: pd.DataFrame,
                   sites: pd.DataFrame, *, title: str, area_name: str,
                   period: str, siting: Any = None) -> dict[str, bytes]:
    """Both reports as HTML bytes, keyed by their path in the drop."""
    env = environment()
    mon = _base(published, title, area_name, period)
    svc = published.service_la
    mon["tables"] = {
        "summary": [row for row in svc[svc["la_code"] == TOTAL].to_dict("records")],
        "by_la": _wide(svc),
        "siting": siting_section(siting) if siting is not None else None,
    }
    dq = _base(published, title, area_name, period)
    dq["tables"] = {"sites": _site_rows(published, quarterly, completion, sites)}
    return {
        "reports/monitoring.html": env.get_template("monitoring.html.j2").render(**mon).encode(),
        "reports/data_quality.html": env.get_template("data_quality.html.j2").render(**dq).encode(),
    }


def siting_section(pub: Any) -> dict[str, Any]:
    """The monitoring report's NSP siting section, from a published plan (``PublishedPlan``)."""
    return {"radius_m": f"{pub.radius_m:,.0f}", "new_sites": pub.new_sites,
            "rows": pub.siting.to_dict("records"),
            "las": pub.coverage_la.to_dict("records"),
            "recommended": len(pub.recommended),
            "left_out": f"{'at least ' if not pub.left_out_exact else ''}{pub.left_out:,}",
            "target_pct": None if pub.target_pct is None else f"{pub.target_pct:g}",
            "target_sites": pub.target_sites, "best_possible_pct": pub.best_possible_pct}


def _wide(svc: pd.DataFrame) -> list[dict[str, Any]]:
    """One row per LA (then the total): individuals and rate for each cohort."""
    rows = []
    for code, part in svc.groupby("la_code", sort=False):
        by = part.set_index("cohort")
        rows.append({"la_code": code, "la_name": part["la_name"].iloc[0], "total": code == TOTAL,
                     "cells": [(by.at[c, "individuals"], by.at[c, "rate_per_1000"])
                               for c in COHORT_ORDER]})
    return rows


def _site_rows(published: Published, quarterly: pd.DataFrame, completion: pd.DataFrame,
               sites: pd.DataFrame) -> list[dict[str, Any]]:
    act = published.site_activity.set_index("site_code")
    comp = completion.set_index("site_code")
    rows = []
    for code in act.index:
        q = quarterly[quarterly["site_code"] == code].set_index("quarter")
        rows.append({
            "site_code": code, "site_name": act.at[code, "site_name"],
            "site_type": act.at[code, "site_type"], "la_code": act.at[code, "la_code"],
            "individuals": act.at[code, "individuals"],
            "nsp": [int(q.at[i, "nsp_visits"]) for i in (1, 2, 3, 4)],
            "returns": [int(q.at[i, "nsp_returns"]) for i in (1, 2, 3, 4)],
            "interventions": [int(q.at[i, "interventions"]) for i in (1, 2, 3, 4)],
            "assessments": int(comp.at[code, "assessments"]) if code in comp.index else 0,
            "completion": ([comp.at[code, c] for c in comp.columns if c != "assessments"]
                           if code in comp.index else [None] * 6),
        })
    return rows
