"""The linked figures as published: the treatment match and the drug-related deaths, as the
report's CSV files and the rows of its section (``templates/monitoring/linkage.html.j2``).

Receives only protected counts (``Published.extra``); every share and rate is computed from
the published (rounded) counts and withheld beside a withheld one, so it adds nothing to what
the counts tell. Rows are in a fixed order (LAs by name, then the rest), never by a value.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..counting.individuals import ALL, COHORT_LABELS, COHORT_ORDER
from ..counting.rates import format_fixed, half_up, rate_per_1000
from ..counting.tally import TOTAL
from ..disclosure.suppress import Published

TREATMENT_CSV = "monitoring_treatment_match"
TREATMENT_ONLY_CSV = "monitoring_treatment_only"
DEATHS_CSV = "monitoring_deaths"
TREATMENT_SET, ONLY_SET, DEATHS_SET = (
    "linkage_treatment",
    "linkage_treatment_only",
    "linkage_deaths",
)
DEATH_MEASURES = ("deaths", "contact", "contact_nsp", "contact_bi", "no_contact", "not_linkable")
AREA_NAMES = {"OUTSIDE": "Outside the area", "UNKNOWN": "LA not known"}


def _pct(part: float, whole: float) -> str:
    """100 part / whole to one decimal, half up; blank where either is withheld or whole 0."""
    if pd.isna(part) or pd.isna(whole) or whole == 0:
        return ""
    return f"{half_up(100 * float(part) / float(whole), 1):.1f}"


def linkage_tables(
    published: Published, las: pd.DataFrame, area_name: str
) -> dict[str, pd.DataFrame]:
    """The CSV tables of the linked figures the drop has (name -> frame). ``las``:
    ``la_code``, ``la_name``, ``population`` of the drop's LAs."""
    order = las.sort_values("la_name", kind="stable")
    names = {**dict(zip(las["la_code"], las["la_name"])), **AREA_NAMES, TOTAL: area_name}
    out = {}
    if TREATMENT_SET in published.extra:
        out[TREATMENT_CSV] = _treatment(published, order, names)
        only = published.extra[ONLY_SET]
        codes = [*order["la_code"], "OUTSIDE", "UNKNOWN", TOTAL]
        only = only.set_index("la_code").reindex(codes).reset_index()
        out[TREATMENT_ONLY_CSV] = pd.DataFrame(
            {
                "la_code": only["la_code"],
                "la_name": only["la_code"].map(names),
                "treatment_only": only["individuals"].astype("Int64"),
                "suppressed": only["suppressed"].astype(bool),
            }
        )
    if DEATHS_SET in published.extra:
        out[DEATHS_CSV] = _deaths(published, order, names)
    return out


def _treatment(published: Published, las: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """Per service LA (by name, then the area) and cohort: seen, both, IMS only, shares."""
    match = published.extra[TREATMENT_SET]
    wide = match.pivot_table(
        index=["la_code", "cohort"], columns="measure", values="individuals", aggfunc="first"
    )
    svc = published.service_la.set_index(["la_code", "cohort"])["individuals"]
    rows = []
    for code in [*las["la_code"], TOTAL]:
        for cohort in COHORT_ORDER:
            seen = svc.get((code, cohort), pd.NA)
            both = wide.loc[(code, cohort), "both"] if (code, cohort) in wide.index else pd.NA
            only = wide.loc[(code, cohort), "ims_only"] if (code, cohort) in wide.index else pd.NA
            rows.append(
                {
                    "la_code": code,
                    "la_name": names[code],
                    "cohort": cohort,
                    "seen": seen,
                    "both": both,
                    "ims_only": only,
                    "both_pct": _pct(both, seen),
                    "ims_only_pct": _pct(only, seen),
                }
            )
    frame = pd.DataFrame(rows)
    for col in ("seen", "both", "ims_only"):
        frame[col] = pd.array([None if pd.isna(v) else int(v) for v in frame[col]], dtype="Int64")
    return frame


def _deaths(published: Published, las: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """Per year and area of residence: deaths, the rate per 100,000 residents (drop LAs
    only) with its 95% interval, contact with IMS services and the share with contact."""
    cells = published.extra[DEATHS_SET]
    wide = cells.pivot_table(
        index=["year", "la_code"], columns="measure", values="individuals", aggfunc="first"
    )
    population = dict(zip(las["la_code"], las["population"]))
    rows = []
    for year in sorted(cells["year"].unique()):
        for code in [*las["la_code"], "OUTSIDE", "UNKNOWN", TOTAL]:
            row: dict[str, Any] = {"year": year, "la_code": code, "la_name": names[code]}
            for m in DEATH_MEASURES:
                v = wide.loc[(year, code), m]
                row[m] = None if pd.isna(v) else int(v)
            row["population"] = population.get(code)
            rows.append(row)
    frame = pd.DataFrame(rows)
    pop = frame["population"].astype(float)
    rate = rate_per_1000(frame["deaths"].astype(float), pop) * 100
    for col, name in (
        ("rate_per_1000", "rate_per_100000"),
        ("rate_lower", "rate_lower"),
        ("rate_upper", "rate_upper"),
    ):
        frame[name] = format_fixed(rate[col], 1)
    frame["contact_pct"] = [_pct(a, b) for a, b in zip(frame["contact"], frame["deaths"])]
    for m in (*DEATH_MEASURES, "population"):
        frame[m] = pd.array([None if pd.isna(v) else int(v) for v in frame[m]], dtype="Int64")
    return frame[
        [
            "year",
            "la_code",
            "la_name",
            "deaths",
            "population",
            "rate_per_100000",
            "rate_lower",
            "rate_upper",
            "contact",
            "contact_nsp",
            "contact_bi",
            "no_contact",
            "not_linkable",
            "contact_pct",
        ]
    ]


def linkage_section(tables: dict[str, pd.DataFrame]) -> dict[str, Any] | None:
    """The report section's rows (None when the drop links nothing)."""
    if not tables:
        return None
    out: dict[str, Any] = {"treatment": None, "deaths": None}
    if TREATMENT_CSV in tables:
        t = tables[TREATMENT_CSV]
        rows = [
            {**r, "label": COHORT_LABELS[r["cohort"]], "total": r["la_code"] == TOTAL}
            for r in t.to_dict("records")
        ]
        headline = next(r for r in rows if r["la_code"] == TOTAL and r["cohort"] == ALL)
        out["treatment"] = {
            "rows": rows,
            "headline": headline,
            "only": tables[TREATMENT_ONLY_CSV].to_dict("records"),
        }
    if DEATHS_CSV in tables:
        d = tables[DEATHS_CSV]
        years = list(dict.fromkeys(d["year"]))
        out["deaths"] = {
            "years": [
                {
                    "year": y,
                    "rows": [
                        {**r, "total": r["la_code"] == TOTAL}
                        for r in d[d["year"] == y].to_dict("records")
                    ],
                }
                for y in years
            ],
        }
    return out
