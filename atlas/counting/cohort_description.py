"""Each cohort described as the IMS reports describe it (issue 16, item 2): gender split, the
age span that holds most people, NSP visits and interventions per person, main and second
substance "recorded for N people (P%)" with shares among those recorded, and ethnicity.

Two parts, both disclosure-safe by construction:

* :func:`cohort_activity_cells`: the NSP visits and interventions each cohort made at a unit's
  services (an LA's, the area's) are *activity cells* of the drop's one disclosure problem
  (``cact:<kind>:<unit>:<cohort>``), published beside the cohort's count of people so that an
  average per person is the quotient of two published figures. They are tied as a reader ties
  them: the cohorts add to the unit's year (``all``), which is the sum of its published
  quarters (``act:<kind>:<unit>:q<n>``); the LAs (and, where there is any, activity at
  services outside them, ``ELSEWHERE``) add to the area; and a cohort's people are at most the
  activity they made there and at least 1 where there is some (people using an NSP made at
  least one visit in the area; a brief-intervention client made no visit and at least one
  intervention). Disclosure control blanks these figures, with complements, wherever they would
  narrow a suppressed count, as it does every activity figure.
* :func:`describe`: the description of one unit's cohorts as a pure function of *published*
  profile cells (``report_counts`` profiles, or an LA's ``la_profiles``) and cohort totals.
  Every figure is a sum, difference or quotient of published counts, withheld where one of them
  is: it adds no relation among the true counts, and the audit recomputes it from the published
  profiles (``disclosure.published_model``).

The age span rule: the shortest run of adjacent age bands (``report_counts.AGE_BANDS``), each
band's count published, holding at least 70% of the cohort (people of unknown age count in the
cohort, in no band); of equally short runs, the one holding most people, then the youngest.
None where no run of published bands holds 70%.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .individuals import ALL, COHORT_ORDER, COHORTS, Individuals
from .rates import half_up
from .report_counts import (
    AGE_BANDS,
    NOT_STATED,
    QUARTERS,
    ActivityBound,
    CellSet,
    activity_id,
    svc_id,
)
from .tally import TOTAL, activity_rows, cohort_of, positions

NAME = "cohort_activity"
ELSEWHERE = "ELSEWHERE"  # activity at services outside the drop's LAs (or not listed)
KINDS = ("nsp_visits", "interventions")
AGE_SPAN_PCT = 70  # the share of people of known age the age span holds at least
RECORDED = ("substance_1", "substance_2", "ethnicity")  # "recorded for N people (P%)"
GENDER_SPLIT = ("Male", "Female")


def cact_id(kind: str, unit: str, cohort: str) -> str:
    """A cohort's activity cell: ``cact:<kind>:<LA code, TOTAL or ELSEWHERE>:<cohort>``."""
    return f"cact:{kind}:{unit}:{cohort}"


def cohort_activity_cells(ind: Individuals, sites: pd.DataFrame, la_codes: list[str]) -> CellSet:
    """NSP visits and interventions in the period per cohort at each LA's services, in the
    area, and (only where there is any) at services outside the drop's LAs, as activity cells
    with the groups and bounds a reader knows (module docstring)."""
    person, site = activity_rows(ind, sites)
    n_visits = len(ind.nsp)
    la = np.append(positions(sites["la_code"], la_codes), -1)[site]
    cohort = cohort_of(ind.people)[person]
    n_la, n_c = len(la_codes), len(COHORTS)
    counts: dict[str, np.ndarray] = {}  # kind -> (LAs, area, elsewhere) x cohorts
    for kind, rows in (
        ("nsp_visits", slice(None, n_visits)),
        ("interventions", slice(n_visits, None)),
    ):
        u, c = la[rows], cohort[rows]
        per_la = np.bincount(u[u >= 0] * n_c + c[u >= 0], minlength=n_la * n_c).reshape(n_la, n_c)
        area = np.bincount(c, minlength=n_c)
        counts[kind] = np.vstack([per_la, area, area - per_la.sum(axis=0)])
    elsewhere = any(counts[k][-1].any() for k in KINDS)
    units = [*la_codes, TOTAL, *([ELSEWHERE] if elsewhere else [])]
    records = []
    for kind in KINDS:
        for i, unit in enumerate(units):
            row = counts[kind][i]
            records.append((kind, unit, ALL, int(row.sum())))
            records += [(kind, unit, c, int(v)) for c, v in zip(COHORTS, row)]
    table = pd.DataFrame(records, columns=["kind", "la_code", "cohort", "individuals"])
    table["cell_id"] = [
        cact_id(k, u, c)
        for k, u, c in table[["kind", "la_code", "cohort"]].itertuples(index=False)
    ]
    table["individuals"] = table["individuals"].astype(np.int64)
    groups, bounds = cohort_activity_relations(la_codes, elsewhere, area_cap=float(len(person)))
    return CellSet(NAME, table, groups, people=False, bounds=bounds)


def cohort_activity_relations(
    la_codes: list[str], elsewhere: bool, area_cap: float = np.inf
) -> tuple[list[tuple[str, list[str]]], list[ActivityBound]]:
    """The groups and activity bounds of the cohort activity cells, declared once for the build
    and for the audit's reading of the published files. ``area_cap``: the area's NSP visits and
    interventions in all (a published bound of any LA's), inf where not known."""
    units = [*la_codes, TOTAL, *([ELSEWHERE] if elsewhere else [])]
    groups: list[tuple[str, list[str]]] = []
    bounds: list[ActivityBound] = []
    for kind in KINDS:
        for unit in units:
            groups.append((cact_id(kind, unit, ALL), [cact_id(kind, unit, c) for c in COHORTS]))
            if unit != ELSEWHERE:  # the unit's year: the sum of its published quarters
                groups.append(
                    (cact_id(kind, unit, ALL), [activity_id(kind, unit, q) for q in QUARTERS])
                )
        for c in COHORT_ORDER:
            parts = [cact_id(kind, la, c) for la in la_codes]
            parts += [cact_id(kind, ELSEWHERE, c)] if elsewhere else []
            groups.append((cact_id(kind, TOTAL, c), parts))
    for unit in [*la_codes, TOTAL]:
        cap = np.inf if unit == TOTAL else area_cap
        for c in COHORTS:
            both = (cact_id("nsp_visits", unit, c), cact_id("interventions", unit, c))
            bounds.append(ActivityBound(svc_id(unit, c), both, cap, both))
        # a brief-intervention client made no NSP visit: their interventions there bound them
        own = (cact_id("interventions", unit, "bi"),)
        bounds.append(ActivityBound(svc_id(unit, "bi"), own, cap, own))
    for c in ("pwid_psychoactive", "pwid_ipeds"):  # each made an NSP visit in the period
        own = (cact_id("nsp_visits", TOTAL, c),)
        bounds.append(ActivityBound(svc_id(TOTAL, c), own, np.inf, own))
    return groups, bounds


# --- the description, from published cells ------------------------------------------------


def _value(v: object) -> float:
    """A published count as a float; NaN where withheld."""
    return np.nan if v is None or v is pd.NA or pd.isna(v) else float(v)  # type: ignore[arg-type]


def _pct(part: float, whole: float) -> float:
    """100 * part / whole to one decimal (half up); NaN where either is withheld or whole 0."""
    if np.isnan(part) or np.isnan(whole) or whole <= 0:
        return np.nan
    return half_up(100 * part / whole, 1)


def age_span(bands: list[float], total: float) -> tuple[str, float, float]:
    """The age span rule (module docstring) on published counts (``bands``: the people of
    each band of ``AGE_BANDS``, NaN where withheld; ``total``: the cohort's): its label
    ("between 25 and 44", "under 25", "45 and over"), the people in it and their share of the
    cohort; ("", NaN, NaN) where no run of published bands holds enough."""
    if np.isnan(total) or total <= 0:
        return "", np.nan, np.nan
    best: tuple[int, float, int] | None = None  # (length, -people, start)
    for start in range(len(bands)):
        people = 0.0
        for end in range(start, len(bands)):
            if np.isnan(bands[end]):
                break  # a run holds published bands only
            people += bands[end]
            if 100 * people >= AGE_SPAN_PCT * total:
                key = (end - start + 1, -people, start)
                if best is None or key < best:
                    best = key
                break
    if best is None:
        return "", np.nan, np.nan
    length, minus, start = best
    lo, hi = AGE_BANDS[start][0], AGE_BANDS[start + length - 1][1]
    if lo == 0 and hi >= AGE_BANDS[-1][1]:
        label = "of any age"
    elif lo == 0:
        label = f"under {hi + 1}"
    elif hi >= AGE_BANDS[-1][1]:
        label = f"{lo} and over"
    else:
        label = f"between {lo} and {hi}"
    return label, -minus, _pct(-minus, total)


DESCRIPTION_COLUMNS = ["cohort", "measure", "category", "individuals", "share", "suppressed"]


def describe(profiles: pd.DataFrame, totals: dict[str, object]) -> pd.DataFrame:
    """One unit's cohort descriptions from its *published* profiles (``dimension``,
    ``category``, ``cohort``, ``individuals``: blank where withheld; categories in the order
    shown) and its published cohort totals (cohort -> count, missing where withheld).

    Rows per cohort: ``gender`` (Male, Female: share of the cohort); ``age_span`` (the span,
    the people in it, their share of the cohort); per ``RECORDED`` dimension a
    ``<dim>_recorded`` row (the cohort less "Not stated", its share of the cohort) and a row per
    category recorded (its share of those recorded). A figure whose counts are withheld is
    blank, and ``suppressed`` says so."""
    value = {
        (r.dimension, r.category, r.cohort): _value(r.individuals)
        for r in profiles[["dimension", "category", "cohort", "individuals"]].itertuples()
    }
    order: dict[str, list[str]] = {}
    for dim, cat in zip(profiles["dimension"], profiles["category"]):
        cats = order.setdefault(dim, [])
        if cat not in cats:
            cats.append(cat)
    rows: list[tuple[str, str, str, float, float]] = []
    for c in COHORT_ORDER:
        total = _value(totals.get(c))
        for cat in GENDER_SPLIT:
            n = value.get(("gender", cat, c), np.nan)
            rows.append((c, "gender", cat, n, _pct(n, total)))
        if "age_band" in order:
            bands = [value.get(("age_band", b[2], c), np.nan) for b in AGE_BANDS]
            label, n, share = age_span(bands, total)
            rows.append((c, "age_span", label, n, share))
        for dim in RECORDED:
            if dim not in order:
                continue
            recorded = total - value.get((dim, NOT_STATED, c), np.nan)
            rows.append((c, f"{dim}_recorded", "", recorded, _pct(recorded, total)))
            for cat in order[dim]:
                if cat != NOT_STATED:
                    n = value.get((dim, cat, c), np.nan)
                    rows.append((c, dim, cat, n, _pct(n, recorded)))
    out = pd.DataFrame(rows, columns=DESCRIPTION_COLUMNS[:-1])
    out["individuals"] = out["individuals"].round().astype("Int64")
    out["suppressed"] = out["individuals"].isna()
    return out
