"""Counting (spec section 2, *Two geographies of counting*), before disclosure control.

Produces the raw counts behind every published table. Nothing here is published as it is:
``suppress.protect`` turns these counts into the published values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .geocode import OUTSIDE, UNKNOWN
from .geography import Geography
from .individuals import ALL, COHORTS, Individuals

COHORT_ORDER = (ALL, *COHORTS)
TOTAL = "TOTAL"
LSOA_UNKNOWN_NAME = "LSOA not known"
AREA_LABELS = {OUTSIDE: "Outside the area", UNKNOWN: "LA not known"}


@dataclass
class Counts:
    """Unprotected counts of individuals (and activity) for every output table."""

    service_la: pd.DataFrame  # la_code, la_name, cohort, individuals, population
    residence_lsoa: pd.DataFrame  # lsoa_code, lsoa_name, la_code, cohort, individuals
    residence_la: pd.DataFrame  # la_code, la_name, cohort, individuals
    site_activity: pd.DataFrame  # site_code, ..., nsp_visits, nsp_returns, interventions, individuals
    cohorts: dict[str, int]
    area_name: str
    residence_msoa: pd.DataFrame | None = None  # msoa_code, msoa_name, la_code, cohort, individuals
    msoa_of: pd.DataFrame | None = None  # lsoa_code, la_code, msoa_code, msoa_la_code


def count_all(ind: Individuals, geo: Geography, sites: pd.DataFrame, area_name: str,
              msoa_of: pd.DataFrame | None = None) -> Counts:
    """Every table's counts from the individuals seen, their residence and the placed sites;
    with ``msoa_of`` (``geography.msoa_table``), the MSOA residence table too."""
    people = ind.people
    cohorts = {c: int((people["cohort"] == c).sum()) for c in COHORTS}
    cohorts = {ALL: len(people), **cohorts}
    residence_lsoa = _residence_lsoa(people, geo)
    return Counts(
        service_la=_service_la(ind, geo, sites, area_name, cohorts),
        residence_lsoa=residence_lsoa,
        residence_la=_residence_la(people, geo, area_name, cohorts),
        site_activity=_site_activity(ind, sites),
        cohorts=cohorts,
        area_name=area_name,
        residence_msoa=None if msoa_of is None else residence_msoa(residence_lsoa, msoa_of),
        msoa_of=msoa_of,
    )


def _by_cohort(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Count people per keys x cohort, with an ``all`` cohort; long format."""
    per = frame.groupby([*keys, "cohort"]).size().rename("individuals").reset_index()
    alls = frame.groupby(keys).size().rename("individuals").reset_index().assign(cohort=ALL)
    return pd.concat([alls, per], ignore_index=True)


def _complete(index: pd.DataFrame, counts: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Every row of ``index`` for every cohort, zero where nobody was counted."""
    grid = index.merge(pd.DataFrame({"cohort": COHORT_ORDER}), how="cross")
    out = grid.merge(counts, on=[*keys, "cohort"], how="left")
    out["individuals"] = out["individuals"].fillna(0).astype(np.int64)
    out["cohort"] = pd.Categorical(out["cohort"], COHORT_ORDER, ordered=True)
    return out


def _total_rows(cohorts: dict[str, int], area_name: str) -> pd.DataFrame:
    return pd.DataFrame({"la_code": TOTAL, "la_name": area_name, "cohort": list(cohorts),
                         "individuals": list(cohorts.values())})


def _service_la(ind: Individuals, geo: Geography, sites: pd.DataFrame, area_name: str,
                cohorts: dict[str, int]) -> pd.DataFrame:
    """An individual counts in every LA where a site they used in the period lies."""
    used = pd.concat([ind.nsp[["person", "site_code"]], ind.interventions[["person", "site_code"]]])
    used = used.assign(la_code=used["site_code"].map(sites.set_index("site_code")["la_code"]))
    pairs = used.dropna(subset=["la_code"]).drop_duplicates(["person", "la_code"])
    pairs = pairs.join(ind.people["cohort"], on="person")
    las = pd.DataFrame(geo.las[["la_code", "la_name"]])
    table = _complete(las, _by_cohort(pairs, ["la_code"]), ["la_code"])
    table = table.sort_values(["la_code", "cohort"])
    table = pd.concat([table, _total_rows(cohorts, area_name)], ignore_index=True)
    pops = geo.las.set_index("la_code")["population"]
    table["population"] = table["la_code"].map(pops).where(table["la_code"] != TOTAL,
                                                           pops.sum()).astype(np.int64)
    table["cohort"] = table["cohort"].astype(str)
    return table.reset_index(drop=True)


def _residence_lsoa(people: pd.DataFrame, geo: Geography) -> pd.DataFrame:
    """Each resident in their LSOA, or in the "LSOA not known" cell of their drop LA."""
    in_drop = people[people["residence_la"].isin(geo.la_codes)]
    lsoa = in_drop["residence_lsoa"].fillna(in_drop["residence_la"] + "-UNKNOWN")
    counted = pd.DataFrame({"lsoa_code": lsoa, "cohort": in_drop["cohort"]})
    cells = pd.DataFrame(geo.lsoas[["lsoa_code", "lsoa_name", "la_code"]])
    unknown = pd.DataFrame({"lsoa_code": geo.las["la_code"] + "-UNKNOWN",
                            "lsoa_name": LSOA_UNKNOWN_NAME, "la_code": geo.las["la_code"]})
    cells = pd.concat([cells, unknown], ignore_index=True)
    table = _complete(cells, _by_cohort(counted, ["lsoa_code"]), ["lsoa_code"])
    table = table.sort_values(["la_code", "lsoa_code", "cohort"])
    table["cohort"] = table["cohort"].astype(str)
    return table.reset_index(drop=True)


def residence_msoa(residence_lsoa: pd.DataFrame, msoa_of: pd.DataFrame) -> pd.DataFrame:
    """Each resident with a known LSOA once, in that LSOA's MSOA (the LSOA counts summed: an
    individual lives in one LSOA). ``la_code`` is empty for an MSOA that straddles LAs."""
    known = residence_lsoa.merge(msoa_of[["lsoa_code", "msoa_code", "msoa_name",
                                          "msoa_la_code"]], on="lsoa_code")
    table = (known.groupby(["msoa_la_code", "msoa_code", "msoa_name", "cohort"], sort=False)
             ["individuals"].sum().reset_index().rename(columns={"msoa_la_code": "la_code"}))
    table["cohort"] = pd.Categorical(table["cohort"], COHORT_ORDER, ordered=True)
    table = table.sort_values(["msoa_code", "cohort"])
    table["cohort"] = table["cohort"].astype(str)
    table["individuals"] = table["individuals"].astype(np.int64)
    return table[["msoa_code", "msoa_name", "la_code", "cohort", "individuals"]].reset_index(
        drop=True)


def _residence_la(people: pd.DataFrame, geo: Geography, area_name: str,
                  cohorts: dict[str, int]) -> pd.DataFrame:
    """Each resident once: in their drop LA, OUTSIDE, or UNKNOWN; then the TOTAL rows."""
    counted = pd.DataFrame({"la_code": people["residence_la"], "cohort": people["cohort"]})
    rows = pd.concat([pd.DataFrame(geo.las[["la_code", "la_name"]]),
                      pd.DataFrame({"la_code": [OUTSIDE, UNKNOWN],
                                    "la_name": [AREA_LABELS[OUTSIDE], AREA_LABELS[UNKNOWN]]})],
                     ignore_index=True)
    table = _complete(rows, _by_cohort(counted, ["la_code"]), ["la_code"])
    order = {code: i for i, code in enumerate(rows["la_code"])}
    table = table.sort_values(["la_code", "cohort"], key=lambda s: s.map(order)
                              if s.name == "la_code" else s)
    table["cohort"] = table["cohort"].astype(str)
    return pd.concat([table, _total_rows(cohorts, area_name)], ignore_index=True)


def _site_activity(ind: Individuals, sites: pd.DataFrame) -> pd.DataFrame:
    """Per site: NSP visits, returns, interventions and distinct individuals in the period."""
    nsp = ind.nsp.groupby("site_code").agg(nsp_visits=("person", "size"),
                                           nsp_returns=("returned", lambda s: (s == "Y").sum()))
    ints = ind.interventions.groupby("site_code").size().rename("interventions")
    people = (pd.concat([ind.nsp[["site_code", "person"]],
                         ind.interventions[["site_code", "person"]]])
              .drop_duplicates().groupby("site_code").size().rename("individuals"))
    table = sites[["site_code", "site_name", "site_type", "la_code"]].set_index("site_code")
    table = table.join([nsp, ints, people])
    for col in ("nsp_visits", "nsp_returns", "interventions", "individuals"):
        table[col] = table[col].fillna(0).astype(np.int64)
    return table.reset_index().sort_values("site_code").reset_index(drop=True)
