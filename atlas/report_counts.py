"""Counting for the tabular reports (monitoring, activity & data quality), before disclosure
control.

Every count of individuals here is a *cell* with an id, and the cells that add up are tied by
*groups*, exactly as ``aggregate`` counts feed ``suppress``: a ``CellSet`` carries a long table
(one row per cell: its keys, ``cell_id`` and ``individuals``) and its additive groups.
``suppress.protect(..., extra=...)`` suppresses them together with the spec tables, so a total
published in two places is one cell: the area totals are the ``total:<cohort>`` cells, the
service-LA year counts the ``svc:<la>:<cohort>`` cells and a site's year count the
``site:<code>`` cell that ``suppress._register`` names.

Activity (NSP visits, returns, interventions, reviews, referrals) counts events, not people, and
is returned as plain frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .aggregate import TOTAL
from .extract import Extract
from .individuals import ALL, COHORTS, Individuals, build_individuals, persons
from .periods import FinancialYear, financial_year_start, fiscal_quarter
from .substances import normalise_label

COHORT_ORDER = (ALL, *COHORTS)
QUARTERS = (1, 2, 3, 4)
LAST_QUARTER = 4
AGE_BANDS = ((0, 17, "Under 18"), (18, 24, "18–24"), (25, 34, "25–34"), (35, 44, "35–44"),
             (45, 54, "45–54"), (55, 200, "55 and over"))
GENDERS = {"M": "Male", "F": "Female", "X": "Other"}
NOT_KNOWN = "Not known"
NOT_STATED = "Not stated"
OTHER = "Other"
TOP_CATEGORIES = 8  # free-text profiles: the most common labels, the rest as "Other"
PROFILE_DIMENSIONS = {
    "gender": "Gender",
    "age_band": "Age at the end of the year",
    "substance_1": "Main substance",
    "substance_2": "Second substance",
    "accommodation": "Accommodation",
    "employment": "Employment",
}
ASSESSMENT_ITEMS = {
    "assessment_date": "Date",
    "substance_1": "Substance 1",
    "accommodation": "Accommodation",
    "employment": "Employment",
    "parental_status": "Parental status",
    "postcode_or_la": "Postcode or LA",
}


def svc_id(la_code: str, cohort: str) -> str:
    """The id ``suppress._register`` gives a service-LA cell (TOTAL rows: the area totals)."""
    return f"total:{cohort}" if la_code == TOTAL else f"svc:{la_code}:{cohort}"


@dataclass
class CellSet:
    """Counts of individuals for one report table, with the groups that tie them."""

    name: str
    table: pd.DataFrame  # keys..., cell_id, individuals
    groups: list[tuple[str, list[str]]] = field(default_factory=list)


@dataclass
class ReportCounts:
    """Everything the reports show, unprotected: cell sets and activity frames."""

    cells: list[CellSet]
    la_activity: pd.DataFrame  # la_code (TOTAL too), quarter, nsp_visits, nsp_returns, ...
    site_activity: pd.DataFrame  # site_code, quarter, the same activity columns
    completion: pd.DataFrame  # unit (site code, la code or TOTAL), assessments, item shares
    years: list[str]  # financial years of the trend, oldest first
    last_quarter: str  # e.g. "2017-18 Q4"

    def cell_set(self, name: str) -> CellSet:
        return next(c for c in self.cells if c.name == name)


def count_reports(extract: Extract, ind: Individuals, sites: pd.DataFrame,
                  la_codes: list[str]) -> ReportCounts:
    """All report counts for the drop's period from its individuals and the placed sites."""
    la_of = sites.set_index("site_code")["la_code"]
    la_of = la_of[la_of.isin(la_codes)]
    used = _used(ind, la_of)
    trend, years = _trend(extract, ind)
    events = _site_events(extract, ind.period)
    return ReportCounts(
        cells=[_quarter_cells(ind, used, la_codes), _intervention_clients(ind, la_of, la_codes),
               _site_quarter_cells(used, sites), _assessed(extract, ind, used, la_codes, sites),
               _profiles(ind), trend],
        la_activity=_activity(events, la_of, "la_code", [*la_codes, TOTAL]),
        site_activity=_activity(events, la_of, "site_code", list(sites["site_code"])),
        completion=_completion(extract["assessments.csv"], ind.period, la_of, la_codes,
                               list(sites["site_code"])),
        years=years, last_quarter=ind.period.quarter_labels()[LAST_QUARTER - 1])


def _used(ind: Individuals, la_of: pd.Series) -> pd.DataFrame:
    """Every (person, site, quarter) with activity in the period, with the site's LA."""
    nsp = ind.nsp[["person", "site_code", "visit_date"]].set_axis(
        ["person", "site_code", "date"], axis=1)
    ints = ind.interventions[["person", "site_code", "intervention_date"]].set_axis(
        ["person", "site_code", "date"], axis=1)
    both = pd.concat([nsp, ints], ignore_index=True)
    out = pd.DataFrame({"person": both["person"], "site_code": both["site_code"],
                        "quarter": fiscal_quarter(both["date"]).to_numpy()})
    out = out.drop_duplicates(ignore_index=True)
    out["la_code"] = out["site_code"].map(la_of)
    out["cohort"] = out["person"].map(ind.people["cohort"])
    return out


def _grid(**levels: list) -> pd.DataFrame:
    index = pd.MultiIndex.from_product(list(levels.values()), names=list(levels))
    return index.to_frame(index=False)


def _count(frame: pd.DataFrame, keys: list[str], grid: pd.DataFrame) -> pd.Series:
    """Distinct persons per keys, on every row of grid (zero where nobody)."""
    n = frame.drop_duplicates([*keys, "person"]).groupby(keys).size().rename("individuals")
    out = grid.merge(n.reset_index(), on=keys, how="left")["individuals"]
    return out.fillna(0).astype(np.int64)


def _quarter_cells(ind: Individuals, used: pd.DataFrame, la_codes: list[str]) -> CellSet:
    """Individuals seen per service LA (and the area) and quarter: every quarter for ``all``,
    the last quarter per cohort too (cohort: the individual's cohort for the year)."""
    in_la = used.dropna(subset=["la_code"])
    area = used.assign(la_code=TOTAL)
    rows = []
    both = pd.concat([in_la, area], ignore_index=True)
    in_last = both[both["quarter"] == LAST_QUARTER]  # the cohort cells' only quarter
    for cohort in COHORT_ORDER:
        quarters = list(QUARTERS) if cohort == ALL else [LAST_QUARTER]
        grid = _grid(la_code=[*la_codes, TOTAL], quarter=quarters, cohort=[cohort])
        frame = both if cohort == ALL else in_last[in_last["cohort"] == cohort]
        rows.append(grid.assign(individuals=_count(frame, ["la_code", "quarter"], grid)))
    table = pd.concat(rows, ignore_index=True)
    table["cell_id"] = ("laq:" + table["la_code"] + ":q" + table["quarter"].astype(str) + ":"
                        + table["cohort"])
    last = table[table["quarter"] == LAST_QUARTER].pivot(index="la_code", columns="cohort",
                                                         values="cell_id")
    groups = [(r[ALL], [r[c] for c in COHORTS]) for _, r in last.iterrows()]
    return CellSet("quarter_individuals", table, groups)


def _intervention_clients(ind: Individuals, la_of: pd.Series, la_codes: list[str]) -> CellSet:
    """Individuals who received an intervention, per service LA (and the area) and quarter."""
    ints = pd.DataFrame({"person": ind.interventions["person"],
                         "la_code": ind.interventions["site_code"].map(la_of),
                         "quarter": fiscal_quarter(ind.interventions["intervention_date"])})
    frame = pd.concat([ints.dropna(subset=["la_code"]), ints.assign(la_code=TOTAL)])
    grid = _grid(la_code=[*la_codes, TOTAL], quarter=list(QUARTERS))
    table = grid.assign(individuals=_count(frame, ["la_code", "quarter"], grid))
    table["cell_id"] = "laqi:" + table["la_code"] + ":q" + table["quarter"].astype(str)
    return CellSet("intervention_clients", table)


def _site_quarter_cells(used: pd.DataFrame, sites: pd.DataFrame) -> CellSet:
    """Individuals seen per site and quarter (the year's count is the ``site:`` cell)."""
    grid = _grid(site_code=list(sites["site_code"]), quarter=list(QUARTERS))
    table = grid.assign(individuals=_count(used, ["site_code", "quarter"], grid))
    table["cell_id"] = "siteq:" + table["site_code"] + ":q" + table["quarter"].astype(str)
    return CellSet("site_quarter_individuals", table)


def _assessed(extract: Extract, ind: Individuals, used: pd.DataFrame, la_codes: list[str],
              sites: pd.DataFrame) -> CellSet:
    """Individuals seen at a site (in an LA, in the area) in the period who have, or have not,
    an assessment dated in the period at that site (LA, area). Seen = with + without, and
    "seen" is the site's (LA's, area's) published year count."""
    a = extract["assessments.csv"]
    a = a[ind.period.contains(a["assessment_date"])]
    a = pd.DataFrame({"person": persons(a["client_ref"], ind.person_of),
                      "site_code": a["site_code"].to_numpy()})
    site_la = sites.set_index("site_code")["la_code"]
    a["la_code"] = a["site_code"].map(site_la)
    seen_site = used[["person", "site_code"]].drop_duplicates()
    seen_la = used.dropna(subset=["la_code"])[["person", "la_code"]].drop_duplicates()
    rows = []
    for unit, seen, keys, ids in (
            ("site", seen_site, ["person", "site_code"], list(sites["site_code"])),
            ("la", seen_la, ["person", "la_code"], la_codes)):
        key = keys[1]
        done = a[keys].drop_duplicates().assign(assessed=True)
        flagged = seen.merge(done, on=keys, how="left")
        flagged["assessed"] = flagged["assessed"].eq(True)
        with_ = flagged[flagged["assessed"]].groupby(key).size()
        all_ = flagged.groupby(key).size()
        frame = pd.DataFrame({"unit": unit, "code": ids})
        frame["with"] = frame["code"].map(with_).fillna(0).astype(np.int64)
        frame["without"] = frame["code"].map(all_).fillna(0).astype(np.int64) - frame["with"]
        rows.append(frame)
    people = ind.people.index
    has = pd.Index(a["person"].unique())
    total_with = int(people.isin(has).sum())
    rows.append(pd.DataFrame({"unit": ["area"], "code": [TOTAL], "with": [total_with],
                              "without": [len(people) - total_with]}))
    wide = pd.concat(rows, ignore_index=True)
    table = wide.melt(id_vars=["unit", "code"], value_vars=["with", "without"],
                      var_name="assessment", value_name="individuals")
    table["cell_id"] = "assessed:" + table["code"] + ":" + table["assessment"]
    totals = {"site": lambda c: f"site:{c}", "la": lambda c: svc_id(c, ALL),
              "area": lambda c: svc_id(TOTAL, ALL)}
    groups = [(totals[r.unit](r.code), [f"assessed:{r.code}:with", f"assessed:{r.code}:without"])
              for r in wide.itertuples()]
    return CellSet("assessed", table, groups)


def _age_band(age: pd.Series) -> pd.Series:
    out = pd.Series(NOT_KNOWN, index=age.index, dtype=object)
    values = age.astype("Float64")
    for lo, hi, label in AGE_BANDS:
        out = out.mask((values >= lo).fillna(False) & (values <= hi).fillna(False), label)
    return out


def _display_labels(values: pd.Series) -> pd.Series:
    """Free text as categories: spellings that normalise alike become one (shown in their most
    common spelling); blank is "Not stated"; beyond the most common few, "Other"."""
    # every step on the distinct values (a column repeats a few dozen), weighted by their counts
    codes, uniques = pd.factorize(values.fillna("").astype(str))
    text = pd.Series(uniques, dtype=object).str.strip()
    key = normalise_label(text)
    distinct = pd.DataFrame({"key": key, "text": text,
                             "count": np.bincount(codes, minlength=len(uniques))})
    spelled = (distinct.groupby(["key", "text"], sort=False)["count"].sum()
               .reset_index().sort_values(["key", "count", "text"],
                                          ascending=[True, False, True])
               .drop_duplicates("key").set_index("key")["text"])
    shown_u = key.map(spelled).where(key != "", NOT_STATED)
    shown_u = shown_u.where(~key.isin(["not stated", "not known", "unknown"]), NOT_STATED)
    common = (distinct["count"][shown_u != NOT_STATED]
              .groupby(shown_u[shown_u != NOT_STATED]).sum())
    common = common.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
    keep = set(common.index[:TOP_CATEGORIES])
    shown = pd.Series(shown_u.to_numpy(dtype=object)[codes], index=values.index, dtype=object)
    return shown.where(shown.isin(keep) | (shown == NOT_STATED), OTHER)


def profile_categories(ind: Individuals) -> pd.DataFrame:
    """Per individual seen: the category of each profile dimension (one column each)."""
    p = ind.people
    main = p["main_substance"]
    # profiles only: where neither an assessment nor an NSP visit names a substance, the
    # substance of the latest intervention in the period (not used for the cohort)
    ints = ind.interventions
    if "substance" in ints:
        named = ints[ints["substance"] != ""].sort_values(["intervention_date", "line"])
        from_int = named.drop_duplicates("person", keep="last").set_index("person")["substance"]
        main = main.combine_first(from_int.reindex(p.index))
    return pd.DataFrame({
        "gender": p["gender"].map(GENDERS).fillna(NOT_KNOWN),
        "age_band": _age_band(p["age"]),
        "substance_1": _display_labels(main.reindex(p.index)),
        "substance_2": _display_labels(p["substance_2"]),
        "accommodation": _display_labels(p["accommodation"]),
        "employment": _display_labels(p["employment"]),
    }, index=p.index)


def _category_order(dimension: str, categories: pd.Series) -> list[str]:
    if dimension == "gender":
        return [*GENDERS.values(), NOT_KNOWN]
    if dimension == "age_band":
        return [label for _, _, label in AGE_BANDS] + [NOT_KNOWN]
    counts = categories.value_counts()
    named = [c for c in counts.index if c not in (OTHER, NOT_STATED)]
    named = sorted(named, key=lambda c: (-counts[c], c))
    return named + [OTHER, NOT_STATED]


def _profiles(ind: Individuals) -> CellSet:
    """Individuals per cohort and category of each profile dimension; categories add to the
    cohort's total, cohorts add to ``all``."""
    cats = profile_categories(ind)
    cohort = ind.people["cohort"]
    rows, groups = [], []
    for dim in PROFILE_DIMENSIONS:
        order = _category_order(dim, cats[dim])
        grid = _grid(category=order, cohort=list(COHORT_ORDER))
        frame = pd.concat([pd.DataFrame({"category": cats[dim], "cohort": cohort}),
                           pd.DataFrame({"category": cats[dim], "cohort": ALL})])
        n = frame.groupby(["category", "cohort"]).size().rename("individuals").reset_index()
        table = grid.merge(n, on=["category", "cohort"], how="left")
        table["individuals"] = table["individuals"].fillna(0).astype(np.int64)
        table.insert(0, "dimension", dim)
        table["order"] = range(len(table))
        table["cell_id"] = "profile:" + dim + ":" + table["category"] + ":" + table["cohort"]
        for c in COHORT_ORDER:
            groups.append((f"total:{c}", list(table.loc[table["cohort"] == c, "cell_id"])))
        for _, part in table.groupby("category", sort=False):
            by = dict(zip(part["cohort"], part["cell_id"]))
            groups.append((by[ALL], [by[c] for c in COHORTS]))
        rows.append(table)
    return CellSet("profiles", pd.concat(rows, ignore_index=True), groups)


def _trend(extract: Extract, ind: Individuals) -> tuple[CellSet, list[str]]:
    """Individuals per cohort in every financial year of the extract up to the drop's, each
    year counted by the same rules; the drop's own year is the area total cells."""
    dates = pd.concat([extract["nsp_transactions.csv"]["visit_date"],
                       extract["interventions.csv"]["intervention_date"]])
    starts = sorted(int(y) for y in financial_year_start(dates).dropna().unique()
                    if int(y) <= ind.period.start_year)
    rows, groups = [], []
    for start in starts:
        fy = FinancialYear(start)
        year = ind if fy == ind.period else build_individuals(extract, fy, ind.person_of,
                                                              cohorts_only=True)
        counts = year.people["cohort"].value_counts()
        n = [len(year.people), *(int(counts.get(c, 0)) for c in COHORTS)]
        ids = [f"total:{c}" if fy == ind.period else f"trend:{fy.label}:{c}"
               for c in COHORT_ORDER]
        rows.append(pd.DataFrame({"year": fy.label, "cohort": COHORT_ORDER, "individuals": n,
                                  "cell_id": ids}))
        if fy != ind.period:
            groups.append((ids[0], ids[1:]))
    table = (pd.concat(rows, ignore_index=True) if rows else
             pd.DataFrame(columns=["year", "cohort", "individuals", "cell_id"]))
    return CellSet("trend", table, groups), [FinancialYear(s).label for s in starts]


ACTIVITY_COLUMNS = ("nsp_visits", "nsp_returns", "interventions", "wellbeing_reviews",
                    "referrals_in", "referrals_out")


def _site_events(extract: Extract, period: FinancialYear) -> pd.Series:
    """Events in the period per site, quarter and kind (an ``ACTIVITY_COLUMNS`` name)."""

    def events(frame: pd.DataFrame, date_col: str, name: str,
               mask: pd.Series | None = None) -> pd.DataFrame:
        keep = period.contains(frame[date_col])
        if mask is not None:
            keep &= mask
        f = frame[keep]
        return pd.DataFrame({"site_code": f["site_code"].to_numpy(), "kind": name,
                             "quarter": fiscal_quarter(f[date_col]).to_numpy()})

    nsp = extract["nsp_transactions.csv"]
    ref = extract["referrals.csv"]
    ev = pd.concat([
        events(nsp, "visit_date", "nsp_visits"),
        events(nsp, "visit_date", "nsp_returns", nsp["returned"] == "Y"),
        events(extract["interventions.csv"], "intervention_date", "interventions"),
        events(extract["wellbeing.csv"], "review_date", "wellbeing_reviews"),
        events(ref, "referral_date", "referrals_in", ref["direction"] == "IN"),
        events(ref, "referral_date", "referrals_out", ref["direction"] == "OUT"),
    ], ignore_index=True)
    return ev.groupby(["site_code", "quarter", "kind"]).size()


def _activity(events: pd.Series, la_of: pd.Series, unit: str, codes: list[str]) -> pd.DataFrame:
    """Activity per unit (site or service LA, with the area as ``TOTAL``) and quarter, from
    the events per site (:func:`_site_events`)."""
    n = events
    if unit == "la_code":
        ev = events.rename("n").reset_index()
        ev["la_code"] = ev["site_code"].map(la_of)
        ev = pd.concat([ev.dropna(subset=["la_code"]), ev.assign(la_code=TOTAL)])
        n = ev.groupby([unit, "quarter", "kind"])["n"].sum()
    n = n.unstack("kind")
    grid = _grid(**{unit: codes, "quarter": list(QUARTERS)})
    out = grid.merge(n.reset_index(), on=[unit, "quarter"], how="left")
    for col in ACTIVITY_COLUMNS:
        out[col] = out[col].fillna(0).astype(np.int64) if col in out else np.int64(0)
    return out[[unit, "quarter", *ACTIVITY_COLUMNS]]


def _completion(assessments: pd.DataFrame, period: FinancialYear, la_of: pd.Series,
                la_codes: list[str], site_codes: list[str]) -> pd.DataFrame:
    """Assessments dated in the period per site, per LA and in the area, and the percentage
    of them completing each assessment item (NaN where there are none)."""
    a = assessments[period.contains(assessments["assessment_date"])]
    filled = pd.DataFrame({
        "site_code": a["site_code"],
        "assessment_date": a["assessment_date"].notna(),
        "substance_1": a["substance_1"] != "",
        "accommodation": a["accommodation"] != "",
        "employment": a["employment"] != "",
        "parental_status": a["parental_status"] != "",
        "postcode_or_la": (a["postcode"] != "") | (a["local_authority"] != ""),
    })
    filled["la_code"] = filled["site_code"].map(la_of)
    parts = []
    for unit, key, codes in (("site", "site_code", site_codes), ("la", "la_code", la_codes),
                             ("area", None, [TOTAL])):
        grouped = (filled.groupby(key)[list(ASSESSMENT_ITEMS)] if key else
                   filled.assign(_all=TOTAL).groupby("_all")[list(ASSESSMENT_ITEMS)])
        out = grouped.mean().mul(100).reindex(codes)
        out.insert(0, "assessments", grouped.size().reindex(codes).fillna(0).astype(np.int64))
        out.index.name = "code"
        parts.append(out.reset_index().assign(unit=unit))
    return pd.concat(parts, ignore_index=True)
