"""The atlas's years (issue 17, point 1): individuals per cohort by area of residence (LSOA,
MSOA, LA) in every financial year of the trend, each year counted by the rules of spec section 2
with the year as the period, as cells of the one disclosure-control problem.

The drop's own period is the spec tables' cells (``lsoa:``, ``msoa:``, ``la:``, ``total:``);
another year's cells are ``y:<year>:<level>:<code>:<cohort>`` with the year's area total the
trend's ``trend:<year>:<cohort>`` cell (the same people), tied by the groups the spec tables
have (cohorts add to all; an LA's LSOAs and its "LSOA not known" cell add to it, and so do its
MSOAs where no MSOA straddles it; an MSOA's LSOAs add to it; LAs, ``OUTSIDE`` and ``UNKNOWN``
add to the total). Every year, the drop's own too, also has the residents of the drop's LAs
(``area:<year>:<cohort>``, the LAs adding to it): the page compares an area with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..extract.reader import Extract
from ..geography.areas import Geography
from ..geography.geocode import OUTSIDE, UNKNOWN, assign_residence, geocode
from .aggregate import _residence_la, _residence_lsoa, residence_msoa
from .individuals import ALL, COHORTS, Individuals, build_individuals
from .report_counts import CellSet
from .tally import TOTAL
from .trends import TrendYear, same_months

NAME = "atlas_years"  # the cell set's name in ``Published.extra``


def year_cell(year: str, level: str, code: str, cohort: str) -> str:
    """The id of another year's residence cell (``TOTAL``: the trend's area cell)."""
    if code == TOTAL:
        return f"trend:{year}:{cohort}"
    return f"y:{year}:{level}:{code}:{cohort}"


def area_cell(year: str, cohort: str) -> str:
    """The id of a year's residents of the drop's LAs."""
    return f"area:{year}:{cohort}"


@dataclass
class YearTables:
    """One year's residence tables (as ``aggregate`` counts them for the drop's period)."""

    label: str
    own: bool  # the drop's own period: its cells are the spec tables'
    partial: str  # why the extract covers the year only in part ("" when whole)
    lsoa: pd.DataFrame  # lsoa_code (and "<LA>-UNKNOWN"), lsoa_name, la_code, cohort, individuals
    la: pd.DataFrame  # la_code (drop LAs, OUTSIDE, UNKNOWN, TOTAL), la_name, cohort, individuals
    msoa: pd.DataFrame | None  # msoa_code, msoa_name, la_code, cohort, individuals


def year_tables(
    extract: Extract,
    ind: Individuals,
    geo: Geography,
    msoa_of: pd.DataFrame | None,
    years: list[TrendYear],
    own_la: pd.DataFrame,
) -> list[YearTables]:
    """Each trend year's residence tables, oldest first; the drop's own period last when it is
    no year of the trend (a quarter period). ``own_la``: the drop's residence LA table."""
    la_names = dict(zip(geo.las["la_code"], geo.las["la_name"]))
    lsoa_la = dict(zip(geo.lsoas["lsoa_code"], geo.lsoas["la_code"]))
    out = []
    for ty in years:
        if same_months(ty.year, ind.period):
            out.append(YearTables(ty.year.label, True, ty.partial, _empty(), own_la, None))
            continue
        people = build_individuals(extract, ty.year, ind.person_of).people
        coded = geocode(people["residence_postcode"], geo.directory, set(geo.la_codes))
        people = people.join(coded[["match_level"]])
        people = people.join(assign_residence(people, coded, la_names, lsoa_la))
        cohorts = {ALL: len(people), **people["cohort"].value_counts().to_dict()}
        cohorts = {c: int(cohorts.get(c, 0)) for c in (ALL, *COHORTS)}
        lsoa = _residence_lsoa(people, geo)
        out.append(
            YearTables(
                ty.year.label,
                False,
                ty.partial,
                lsoa,
                _residence_la(people, geo, "", cohorts),
                None if msoa_of is None else residence_msoa(lsoa, msoa_of),
            )
        )
    if not any(t.own for t in out):
        out.append(YearTables(ind.period.label, True, "", _empty(), own_la, None))
    return out


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=["lsoa_code", "la_code", "cohort", "individuals"])


def year_cells(tables: list[YearTables], msoa_of: pd.DataFrame | None) -> CellSet:
    """Every year's residence cells and their groups (module docstring)."""
    rows: list[pd.DataFrame] = []
    groups: list[tuple[str, list[str]]] = []
    for t in tables:
        la = t.la.assign(cohort=t.la["cohort"].astype(str))
        drop_las = la[~la["la_code"].isin([OUTSIDE, UNKNOWN, TOTAL])]
        if t.own:
            la_id = "la:" + drop_las["la_code"] + ":" + drop_las["cohort"]
        else:
            la_id = _ids(t.label, "la", la)
            lsoa = t.lsoa.assign(cohort=t.lsoa["cohort"].astype(str))
            lsoa_id = _ids(t.label, "lsoa", lsoa)
            rows.append(_frame(t.label, "lsoa", lsoa["lsoa_code"], lsoa, lsoa_id))
            rows.append(_frame(t.label, "la", la["la_code"], la, la_id, skip_total=True))
            # cohorts add to all (the total's groups are the trend's)
            groups += _cohort_groups(lsoa.assign(id=lsoa_id.to_numpy()), "lsoa_code")
            groups += _cohort_groups(
                la[la["la_code"] != TOTAL].assign(id=la_id[la["la_code"] != TOTAL].to_numpy()),
                "la_code",
            )
            la_of = dict(zip(la["la_code"] + ":" + la["cohort"], la_id))
            # an LA's LSOAs (and "LSOA not known") add to it; LAs, OUTSIDE, UNKNOWN to TOTAL
            for (code, cohort), part in lsoa.assign(id=lsoa_id.to_numpy()).groupby(
                ["la_code", "cohort"], sort=True
            ):
                groups.append((la_of[f"{code}:{cohort}"], sorted(part["id"])))
            units = la[la["la_code"] != TOTAL].assign(id=la_id[la["la_code"] != TOTAL].to_numpy())
            for cohort, part in units.groupby("cohort", sort=True):
                groups.append((year_cell(t.label, "la", TOTAL, cohort), sorted(part["id"])))
            if t.msoa is not None and msoa_of is not None:
                groups += _msoa(t, lsoa.assign(id=lsoa_id.to_numpy()), la_of, msoa_of, rows)
        # the residents of the drop's LAs: every year, the drop's own too
        area = drop_las.assign(id=la_id.loc[drop_las.index].to_numpy())
        ids = {c: area_cell(t.label, c) for c in (ALL, *COHORTS)}
        sums = area.groupby("cohort")["individuals"].sum()
        rows.append(
            pd.DataFrame(
                {
                    "year": t.label,
                    "level": "area",
                    "code": TOTAL,
                    "cohort": list(ids),
                    "cell_id": list(ids.values()),
                    "individuals": [int(sums.get(c, 0)) for c in ids],
                }
            )
        )
        for cohort, part in area.groupby("cohort", sort=True):
            groups.append((ids[cohort], sorted(part["id"])))
        groups.append((ids[ALL], [ids[c] for c in COHORTS]))
    table = pd.concat(rows, ignore_index=True)
    table["individuals"] = table["individuals"].astype(np.int64)
    return CellSet(NAME, table, groups)


def _ids(year: str, level: str, frame: pd.DataFrame) -> pd.Series:
    code = frame[f"{level}_code"].astype(str)
    ids = f"y:{year}:{level}:" + code + ":" + frame["cohort"]
    return ids.where(code != TOTAL, f"trend:{year}:" + frame["cohort"])


def _frame(
    year: str,
    level: str,
    codes: pd.Series,
    frame: pd.DataFrame,
    ids: pd.Series,
    skip_total: bool = False,
) -> pd.DataFrame:
    keep = (codes != TOTAL).to_numpy() if skip_total else np.ones(len(codes), dtype=bool)
    return pd.DataFrame(
        {
            "year": year,
            "level": level,
            "code": codes.to_numpy()[keep],
            "cohort": frame["cohort"].to_numpy()[keep],
            "cell_id": ids.to_numpy()[keep],
            "individuals": frame["individuals"].to_numpy()[keep],
        }
    )


def _cohort_groups(frame: pd.DataFrame, key: str) -> list[tuple[str, list[str]]]:
    wide = frame.pivot(index=key, columns="cohort", values="id").sort_index()
    return list(zip(wide[ALL].tolist(), map(list, zip(*(wide[c].tolist() for c in COHORTS)))))


def _msoa(
    t: YearTables,
    lsoa: pd.DataFrame,
    la_of: dict[str, str],
    msoa_of: pd.DataFrame,
    rows: list[pd.DataFrame],
) -> list[tuple[str, list[str]]]:
    """A year's MSOA cells (into ``rows``) and groups, as ``suppress._register_msoa`` ties the
    drop's own."""
    assert t.msoa is not None
    msoa = t.msoa.assign(cohort=t.msoa["cohort"].astype(str))
    ids = _ids(t.label, "msoa", msoa)
    rows.append(_frame(t.label, "msoa", msoa["msoa_code"], msoa, ids))
    frame = msoa.assign(id=ids.to_numpy())
    groups = _cohort_groups(frame, "msoa_code")
    member = lsoa.merge(msoa_of[["lsoa_code", "msoa_code"]], on="lsoa_code")
    member["total"] = f"y:{t.label}:msoa:" + member["msoa_code"] + ":" + member["cohort"]
    for total, part in member.groupby("total", sort=True):
        groups.append((str(total), sorted(part["id"])))
    straddled = set(msoa_of.loc[msoa_of["msoa_la_code"] == "", "la_code"])
    unknown = lsoa[lsoa["lsoa_code"].str.endswith("-UNKNOWN")]
    parts = pd.concat([frame[["la_code", "cohort", "id"]], unknown[["la_code", "cohort", "id"]]])
    parts = parts[(parts["la_code"] != "") & ~parts["la_code"].isin(straddled)]
    for (code, cohort), part in parts.groupby(["la_code", "cohort"], sort=True):
        groups.append((la_of[f"{code}:{cohort}"], sorted(part["id"])))
    return groups
