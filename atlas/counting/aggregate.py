"""Counting (spec section 2, *Two geographies of counting*), before disclosure control.

Produces the raw counts behind every published table. Nothing here is published as it is:
``suppress.protect`` turns these counts into the published values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..geography.areas import Geography
from ..geography.geocode import OUTSIDE, UNKNOWN
from .individuals import ALL, COHORT_ORDER, COHORTS, Individuals
from .tally import TOTAL, activity_rows, cohort_of, distinct_pairs, positions

LSOA_UNKNOWN_NAME = "LSOA not known"
AREA_LABELS = {OUTSIDE: "Outside the area", UNKNOWN: "LA not known"}

# Where each table of spec section 4 is published: path -> (Counts attribute, columns).
COLUMNS = {
    "tables/service_la_cohorts.csv": (
        "service_la",
        [
            "la_code",
            "la_name",
            "cohort",
            "individuals",
            "population",
            "rate_per_1000",
            "rate_lower",
            "rate_upper",
            "suppressed",
        ],
    ),
    "tables/residence_lsoa_cohorts.csv": (
        "residence_lsoa",
        ["lsoa_code", "lsoa_name", "la_code", "cohort", "individuals", "suppressed"],
    ),
    "tables/residence_la_cohorts.csv": (
        "residence_la",
        ["la_code", "la_name", "cohort", "individuals", "suppressed"],
    ),
    "tables/site_activity.csv": (
        "site_activity",
        [
            "site_code",
            "site_name",
            "site_type",
            "la_code",
            "nsp_visits",
            "nsp_returns",
            "interventions",
            "individuals",
            "suppressed",
        ],
    ),
}

MSOA_TABLE = (
    "tables/residence_msoa_cohorts.csv",
    ["msoa_code", "msoa_name", "la_code", "cohort", "individuals", "suppressed"],
)


@dataclass
class Counts:
    """Unprotected counts of individuals (and activity) for every output table."""

    service_la: pd.DataFrame  # la_code, la_name, cohort, individuals, population
    residence_lsoa: pd.DataFrame  # lsoa_code, lsoa_name, la_code, cohort, individuals
    residence_la: pd.DataFrame  # la_code, la_name, cohort, individuals
    site_activity: (
        pd.DataFrame
    )  # site_code, ..., nsp_visits, nsp_returns, interventions, individuals
    cohorts: dict[str, int]
    area_name: str
    residence_msoa: pd.DataFrame | None = (
        None  # msoa_code, msoa_name, la_code, cohort, individuals
    )
    msoa_of: pd.DataFrame | None = None  # lsoa_code, la_code, msoa_code, msoa_la_code


def count_all(
    ind: Individuals,
    geo: Geography,
    sites: pd.DataFrame,
    area_name: str,
    msoa_of: pd.DataFrame | None = None,
) -> Counts:
    """Every table's counts from the individuals seen, their residence and the placed sites;
    with ``msoa_of`` (``geography.msoa_table``), the MSOA residence table too."""
    people = ind.people
    seen = people["cohort"].value_counts()
    cohorts = {ALL: len(people), **{c: int(seen.get(c, 0)) for c in COHORTS}}
    residence_lsoa = _residence_lsoa(people, geo)
    person, site = activity_rows(ind, sites)
    used = distinct_pairs(site, person)  # (site, person) pairs
    # the totals count everyone seen; when some were seen at services placed in LAs outside
    # the drop's they are not the area's, so they are not named for it, nor given a rate on
    # the area's population (unplaced sites may lie in the area: the totals stay the area's)
    in_use = sites["la_code"].iloc[np.unique(used[0][used[0] >= 0])]
    beyond = bool((in_use.notna() & ~in_use.isin(geo.las["la_code"])).any())
    total_name = BEYOND_THE_AREA if beyond else area_name
    return Counts(
        service_la=_service_la(ind, geo, sites, total_name, cohorts, *used, beyond=beyond),
        residence_lsoa=residence_lsoa,
        residence_la=_residence_la(people, geo, total_name, cohorts),
        site_activity=_site_activity(ind, sites, site, used[0]),
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


def _long(rows: pd.DataFrame, counts: np.ndarray) -> pd.DataFrame:
    """``rows`` once per cohort of ``COHORT_ORDER``, with a ``cohort`` column and the counts
    (one row of ``counts`` per row, one column per cohort) as ``individuals``."""
    out = rows.iloc[np.repeat(np.arange(len(rows)), len(COHORT_ORDER))].reset_index(drop=True)
    out["cohort"] = np.tile(np.asarray(COHORT_ORDER, dtype=object), len(rows))
    out["individuals"] = np.asarray(counts, dtype=np.int64).reshape(-1)
    return out


def _per_cohort(row: np.ndarray, cohort: np.ndarray, n: int) -> np.ndarray:
    """People per row 0..n-1 (one entry each; negative: not counted) and cohort: ``all``,
    then each of ``COHORTS``."""
    keep = row >= 0
    per = np.bincount(row[keep] * len(COHORTS) + cohort[keep], minlength=n * len(COHORTS))
    per = per.reshape(n, len(COHORTS))
    return np.column_stack([per.sum(axis=1), per])


def _complete(index: pd.DataFrame, counts: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Every row of ``index`` for every cohort, zero where nobody was counted."""
    grid = index.merge(pd.DataFrame({"cohort": COHORT_ORDER}), how="cross")
    out = grid.merge(counts, on=[*keys, "cohort"], how="left")
    out["individuals"] = out["individuals"].fillna(0).astype(np.int64)
    out["cohort"] = pd.Categorical(out["cohort"], COHORT_ORDER, ordered=True)
    return out


BEYOND_THE_AREA = "All services in the extract"  # the service total, when not the area's


def _total_rows(cohorts: dict[str, int], area_name: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "la_code": TOTAL,
            "la_name": area_name,
            "cohort": list(cohorts),
            "individuals": list(cohorts.values()),
        }
    )


def _service_la(
    ind: Individuals,
    geo: Geography,
    sites: pd.DataFrame,
    area_name: str,
    cohorts: dict[str, int],
    site: np.ndarray,
    person: np.ndarray,
    beyond: bool = False,
) -> pd.DataFrame:
    """An individual counts in every LA where a site they used in the period lies
    (``site``, ``person``: the distinct pairs of :func:`activity_rows`). ``beyond``: some
    were seen at services in LAs outside the drop's, so the total has no population."""
    las = pd.DataFrame(geo.las[["la_code", "la_name"]])
    la = positions(sites["la_code"], las["la_code"])[site]  # -1: not an LA of the drop
    n = len(las)
    la, person = distinct_pairs(la, person)
    counts = _per_cohort(la, cohort_of(ind.people)[person], n)
    table = _complete(las, _long(las[["la_code"]], counts), ["la_code"])
    table = table.sort_values(["la_code", "cohort"])
    table = pd.concat([table, _total_rows(cohorts, area_name)], ignore_index=True)
    pops = geo.las.set_index("la_code")["population"]
    population = table["la_code"].map(pops).where(table["la_code"] != TOTAL, pops.sum())
    if beyond:
        table["population"] = population.astype("Int64").mask(table["la_code"] == TOTAL)
    else:
        table["population"] = population.astype(np.int64)
    table["cohort"] = table["cohort"].astype(str)
    return table.reset_index(drop=True)


def _residence_lsoa(people: pd.DataFrame, geo: Geography) -> pd.DataFrame:
    """Each resident in their LSOA, or in the "LSOA not known" cell of their drop LA."""
    cells = pd.DataFrame(geo.lsoas[["lsoa_code", "lsoa_name", "la_code"]])
    unknown = pd.DataFrame(
        {
            "lsoa_code": geo.las["la_code"] + "-UNKNOWN",
            "lsoa_name": LSOA_UNKNOWN_NAME,
            "la_code": geo.las["la_code"],
        }
    )
    cells = pd.concat([cells, unknown], ignore_index=True)
    la = positions(people["residence_la"], geo.las["la_code"])
    cell = np.where(la >= 0, positions(people["residence_lsoa"], cells["lsoa_code"]), -1)
    cell = np.where(
        (la >= 0) & people["residence_lsoa"].isna().to_numpy(), len(geo.lsoas) + la, cell
    )  # the drop LA's "LSOA not known"
    counts = _per_cohort(cell, positions(people["cohort"], list(COHORTS)), len(cells))
    order = cells.sort_values(["la_code", "lsoa_code"]).index.to_numpy()
    return _long(cells.iloc[order].reset_index(drop=True), counts[order])


def residence_msoa(residence_lsoa: pd.DataFrame, msoa_of: pd.DataFrame) -> pd.DataFrame:
    """Each resident with a known LSOA once, in that LSOA's MSOA (the LSOA counts summed: an
    individual lives in one LSOA). ``la_code`` is empty for an MSOA that straddles LAs."""
    known = residence_lsoa.merge(
        msoa_of[["lsoa_code", "msoa_code", "msoa_name", "msoa_la_code"]], on="lsoa_code"
    )
    table = (
        known.groupby(["msoa_la_code", "msoa_code", "msoa_name", "cohort"], sort=False)[
            "individuals"
        ]
        .sum()
        .reset_index()
        .rename(columns={"msoa_la_code": "la_code"})
    )
    table["cohort"] = pd.Categorical(table["cohort"], COHORT_ORDER, ordered=True)
    table = table.sort_values(["msoa_code", "cohort"])
    table["cohort"] = table["cohort"].astype(str)
    table["individuals"] = table["individuals"].astype(np.int64)
    return table[["msoa_code", "msoa_name", "la_code", "cohort", "individuals"]].reset_index(
        drop=True
    )


def _residence_la(
    people: pd.DataFrame, geo: Geography, area_name: str, cohorts: dict[str, int]
) -> pd.DataFrame:
    """Each resident once: in their drop LA, OUTSIDE, or UNKNOWN; then the TOTAL rows."""
    counted = pd.DataFrame({"la_code": people["residence_la"], "cohort": people["cohort"]})
    rows = pd.concat(
        [
            pd.DataFrame(geo.las[["la_code", "la_name"]]),
            pd.DataFrame(
                {
                    "la_code": [OUTSIDE, UNKNOWN],
                    "la_name": [AREA_LABELS[OUTSIDE], AREA_LABELS[UNKNOWN]],
                }
            ),
        ],
        ignore_index=True,
    )
    table = _complete(rows, _by_cohort(counted, ["la_code"]), ["la_code"])
    order = {code: i for i, code in enumerate(rows["la_code"])}
    table = table.sort_values(
        ["la_code", "cohort"], key=lambda s: s.map(order) if s.name == "la_code" else s
    )
    table["cohort"] = table["cohort"].astype(str)
    return pd.concat([table, _total_rows(cohorts, area_name)], ignore_index=True)


def _site_activity(
    ind: Individuals, sites: pd.DataFrame, site: np.ndarray, used: np.ndarray
) -> pd.DataFrame:
    """Per site: NSP visits, returns, interventions and distinct individuals in the period
    (``site``: the site of each row of :func:`activity_rows`; ``used``: the site of each
    distinct (site, person) pair)."""
    n = len(sites)
    visits = site[: len(ind.nsp)]
    listed = site >= 0
    table = sites[["site_code", "site_name", "site_type", "la_code"]].reset_index(drop=True)
    table["nsp_visits"] = np.bincount(visits[visits >= 0], minlength=n)
    returned = visits[(visits >= 0) & (ind.nsp["returned"] == "Y").to_numpy()]
    table["nsp_returns"] = np.bincount(returned, minlength=n)
    table["interventions"] = np.bincount(site[len(ind.nsp) :][listed[len(ind.nsp) :]], minlength=n)
    table["individuals"] = np.bincount(used, minlength=n)
    for col in ("nsp_visits", "nsp_returns", "interventions", "individuals"):
        table[col] = table[col].astype(np.int64)
    return table.sort_values("site_code").reset_index(drop=True)
