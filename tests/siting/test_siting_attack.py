"""The siting figures attacked (issue 13, point 1): an integer program over what an attacker
holds of a drop pins no suppressed LSOA cell.

The attacker reads the residence tables (LSOA and LA, with every additive relation), the
percentages of ``nsp_siting.csv`` and ``nsp_coverage_la.csv``, and which LSOAs the atlas data
says are covered today or added by each ranked site. Published as shares of the true PWID
demand, each percentage is a linear relation among suppressed cells (the demo pinned
``bi(E01900186) + bi(E01900197) = 4``; ``--seed 22`` six cells). Published as shares of the
*published* demand (README, siting section), every percentage can be recomputed from the
published cells, so it ties no true count to anything: the attack finds what the tables alone
give, which is nothing.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from atlas.counting.rates import format_fixed
from atlas.demo.extract import make_demo_extract, read_directory
from atlas.disclosure.attack import exposed
from atlas.disclosure.suppress import knowledge
from atlas.drop import compute_drop
from atlas.recipe import load_recipe
from atlas.siting.model import pwid_demand

PWID = ("pwid_psychoactive", "pwid_ipeds")
DEMO_LAS = ("E06900001", "E06900002", "E06900003")


@dataclass
class Holdings:
    """What the attacker reads from a drop's files."""

    lsoa: pd.DataFrame  # residence_lsoa_cohorts.csv (individuals: float, NaN when blank)
    la: pd.DataFrame  # residence_la_cohorts.csv
    status: pd.Series  # per LSOA code: "c" covered today, "a" added, "u" uncovered
    rank: pd.Series  # per LSOA code: the rank of the site that adds it (0: none)
    siting: pd.DataFrame  # nsp_siting.csv as text
    coverage_la: pd.DataFrame  # nsp_coverage_la.csv as text
    threshold: int
    rounding: int


def _table(data: bytes, text: bool = False) -> pd.DataFrame:
    frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    if not text:
        frame["individuals"] = pd.to_numeric(frame["individuals"].replace("", np.nan))
        frame["suppressed"] = frame["suppressed"] == "true"
    return frame


def read_holdings(files: dict[str, bytes], threshold: int, rounding: int = 0) -> Holdings:
    """Parse the tables and the atlas page's data, as an attacker would."""
    page = files["atlas.html"].decode()
    data = json.loads(
        re.search(
            r'<script type="application/json" id="atlas-data">(.*?)</script>', page, re.S
        ).group(1)
    )
    codes = next(level for level in data["levels"] if level["id"] == "lsoa")["codes"]
    status = pd.Series(list(data["siting"]["status"]), index=codes)
    rank = pd.Series(0, index=codes)
    for i, r in data["siting"]["added"]:
        rank.iloc[i] = r
    return Holdings(
        _table(files["tables/residence_lsoa_cohorts.csv"]),
        _table(files["tables/residence_la_cohorts.csv"]),
        status,
        rank,
        _table(files["tables/nsp_siting.csv"], text=True),
        _table(files["tables/nsp_coverage_la.csv"], text=True),
        threshold,
        rounding,
    )


def percentages(h: Holdings) -> list[tuple[str, pd.Series, pd.Series]]:
    """Every published percentage with its numerator and denominator LSOAs (bool per LSOA)."""
    lsoas = h.lsoa.drop_duplicates("lsoa_code").set_index("lsoa_code")["la_code"]
    lsoas = lsoas[~lsoas.index.str.endswith("-UNKNOWN")]
    status, rank = h.status.reindex(lsoas.index), h.rank.reindex(lsoas.index)
    area = pd.Series(True, index=lsoas.index)
    covered = status == "c"
    out = []
    for row in h.siting.itertuples():
        r = int(row.rank)
        upto = covered | ((status == "a") & (rank <= r))
        added = covered if r == 0 else (status == "a") & (rank == r)
        out += [(row.added_pct, added, area), (row.cumulative_pct, upto, area)]
    for row in h.coverage_la.itertuples():
        in_la = lsoas == row.la_code
        after = covered | (status == "a")
        out += [
            (row.coverage_pct, in_la & covered, in_la),
            (row.coverage_pct_after, in_la & after, in_la),
        ]
    return [(p, s, u) for p, s, u in out if p != ""]


def published_demand_from_files(h: Holdings) -> pd.Series:
    """The README's published demand, worked out from the files alone."""
    wide = h.lsoa.pivot(index="lsoa_code", columns="cohort", values="individuals")
    wide = wide[~wide.index.str.endswith("-UNKNOWN")]
    direct = wide[list(PWID)].sum(axis=1, min_count=2)
    rest = (wide["all"] - wide["bi"]).clip(lower=0)
    estimate = wide[list(PWID)].fillna(h.threshold // 2).sum(axis=1)
    return direct.fillna(rest).fillna(estimate)


def _share(part: float, whole: float) -> str:
    return format_fixed(pd.Series([100 * part / whole]), 2).iloc[0]


# ------------------------------------------------------------ the integer program


def attack(
    h: Holdings, relations: list[tuple[str, pd.Series, pd.Series]], first: bool = False
) -> pd.DataFrame:
    """Smallest and largest whole value of every suppressed LSOA cell, given the residence
    tables (bounds as ``knowledge`` gives them, every additive group) and each relation
    ``p = 100 * sum(D over S) / sum(D over U)`` to two decimals, D = the LSOA's PWID cells.
    Returns the exposed cells with their bounds (with ``first``: stops at the first one)."""
    cells = pd.concat(
        [
            h.lsoa.assign(row="lsoa:" + h.lsoa["lsoa_code"]),
            h.la.assign(row="la:" + h.la["la_code"], lsoa_code=""),
        ],
        ignore_index=True,
    )
    cells["id"] = cells["row"] + ":" + cells["cohort"]
    pos = pd.Series(np.arange(len(cells)), index=cells["id"])
    lo, hi = knowledge(
        cells["individuals"].fillna(0).to_numpy(),
        cells["suppressed"].to_numpy(),
        h.threshold,
        h.rounding,
    )
    rows, lower, upper = [], [], []

    def equal(total: str, parts: list[str]) -> None:
        row = np.zeros(len(cells))
        row[pos[parts].to_numpy()] += 1
        row[pos[total]] -= 1
        rows.append(row), lower.append(0.0), upper.append(0.0)

    for key, frame in cells.groupby("row"):  # cohorts add to all
        equal(f"{key}:all", [f"{key}:{c}" for c in frame["cohort"] if c != "all"])
    lsoa = h.lsoa
    for (la, cohort), frame in lsoa.groupby(["la_code", "cohort"]):  # LSOAs add to their LA
        equal(f"la:{la}:{cohort}", ("lsoa:" + frame["lsoa_code"] + ":" + cohort).tolist())
    for cohort, frame in h.la[h.la["la_code"] != "TOTAL"].groupby("cohort"):
        equal(f"la:TOTAL:{cohort}", ("la:" + frame["la_code"] + ":" + cohort).tolist())
    for pct, part, whole in relations:
        p = float(pct)
        num, den = np.zeros(len(cells)), np.zeros(len(cells))
        for mask, vec in ((part, num), (whole, den)):
            for c in PWID:
                vec[pos[("lsoa:" + mask.index[mask] + ":" + c)].to_numpy()] += 1
        # 100 * num - (p +- 0.005) * den within [ , ]
        rows += [100 * num - (p + 0.005) * den, 100 * num - (p - 0.005) * den]
        lower += [-np.inf, 0.0]
        upper += [0.0, np.inf]
    constraint = LinearConstraint(sparse.csr_matrix(np.array(rows)), lower, upper)
    whole = np.ones(len(cells))
    targets = np.flatnonzero(cells["suppressed"].to_numpy() & cells["row"].str.startswith("lsoa:"))
    low, high = np.full(len(cells), np.nan), np.full(len(cells), np.nan)
    # values seen in whole-number solutions: a cell seen at two values, not both in 1..t-1,
    # is safe whatever its exact bounds, and needs no solve of its own
    seen_lo, seen_hi = np.full(len(cells), np.inf), np.full(len(cells), -np.inf)

    def safe(i: int) -> bool:
        return seen_lo[i] < seen_hi[i] and (seen_lo[i] < 1 or seen_hi[i] > h.threshold - 1)

    for i in targets:
        for sense, out in ((1.0, low), (-1.0, high)):
            if safe(i):
                break
            c = np.zeros(len(cells))
            c[i] = sense
            res = milp(c, constraints=constraint, integrality=whole, bounds=Bounds(lo, hi))
            if res.status == 2:
                raise AssertionError("the published figures contradict each other")
            if res.x is None:  # unbounded above
                out[i] = np.inf
                continue
            out[i] = res.x[i]
            seen_lo, seen_hi = np.minimum(seen_lo, res.x), np.maximum(seen_hi, res.x)
        if safe(i):
            low[i], high[i] = seen_lo[i], seen_hi[i]
        elif first and exposed(low[i : i + 1], high[i : i + 1], h.threshold)[0]:
            break
    found = cells.assign(low=low, high=high).iloc[targets]
    return found[exposed(found["low"].to_numpy(), found["high"].to_numpy(), h.threshold)]


# ------------------------------------------------------------ the drops


def _demo_recipe(tmp: Path, seed: int | None = None, rounding: int = 0) -> Path:
    """The demo recipe (with its [siting]), over ``ims-atlas demo-data --seed SEED`` when
    given, with ``rounding`` when given."""
    text = (ROOT / "builders" / "demo.toml").read_text()
    if seed is not None:
        directory = read_directory(ROOT / "boundaries" / "demo" / "postcodes.csv")
        make_demo_extract(tmp / "extract", directory, list(DEMO_LAS), seed=seed)
        text = text.replace('"../boundaries/demo/extract"', f'"{tmp / "extract"}"')
    text = text.replace('"../boundaries/', f'"{ROOT / "boundaries"}/')
    text = text.replace("threshold = 5", f"threshold = 5\nrounding = {rounding}")
    (tmp / "builders").mkdir()
    recipe = tmp / "builders" / "attacked.toml"
    recipe.write_text(text.replace('name = "demo"', 'name = "attacked"'))
    return recipe


@pytest.fixture(scope="module", params=["demo", "seed22", "rounded"])
def drop(request, tmp_path_factory):
    """(the drop's holdings, its true PWID demand per LSOA): the demo recipe, the demo recipe
    over ``--seed 22``, and the demo recipe with ``rounding = 5``."""
    tmp = tmp_path_factory.mktemp(request.param)
    recipe = load_recipe(
        _demo_recipe(
            tmp,
            seed=22 if request.param == "seed22" else None,
            rounding=5 if request.param == "rounded" else 0,
        )
    )
    content = compute_drop(recipe)
    h = read_holdings(content.files, recipe.threshold, recipe.rounding)
    return h, pwid_demand(content.counts.residence_lsoa)


def test_every_siting_percentage_is_recomputed_from_the_published_cells(drop):
    h, _ = drop
    demand = published_demand_from_files(h)
    relations = percentages(h)
    assert len(relations) >= 10
    for pct, part, whole in relations:
        assert pct == _share(demand[part].sum(), demand[whole].sum())


def test_the_attack_pins_no_suppressed_lsoa_cell(drop):
    h, _ = drop
    # the relations as published: each holds of the published demand, so they add nothing
    demand = published_demand_from_files(h)
    assert all(pct == _share(demand[s].sum(), demand[u].sum()) for pct, s, u in percentages(h))
    assert attack(h, []).empty


@pytest.mark.parametrize("drop", ["demo", "seed22"], indirect=True)
def test_the_attack_finds_what_shares_of_the_true_demand_would_give_away(drop):
    """The attacker above is strong enough: had the same figures been shares of the true PWID
    demand (the leak of issue 13), it would pin or narrow suppressed cells (with rounding = 5
    it would not: rounded cells leave the relations too loose)."""
    h, true_demand = drop
    true = true_demand.reindex(h.status.index).fillna(0)
    relations = [
        (_share(true[s].sum(), true[u].sum()), s, u)
        for _, s, u in percentages(h)
        if true[u].sum() > 0
    ]
    found = attack(h, relations, first=True)
    assert len(found) == 1
    assert set(found["lsoa_code"]) <= set(h.lsoa.loc[h.lsoa["suppressed"], "lsoa_code"])
