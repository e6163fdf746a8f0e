"""Where to site new NSP services: coverage today and a recommendation (issue 7).

Demand is the individuals of the two PWID cohorts per LSOA of residence, placed at the mean
British National Grid position of the LSOA's live postcodes (else its polygon's representative
point). A demand point is *covered* when a site lies within ``radius_m`` metres (straight line,
EPSG:27700). The recommendation solves the Maximal Covering Location Problem with the existing
NSP sites fixed, to proven optimality with HiGHS (``scipy.optimize.milp``), on a sparse coverage
matrix from a KD-tree; the chosen sites are then listed so that each adds the most to those
before it. Everything here is a pure function of frames: reading the candidates file is
:func:`read_candidates`, and disclosure control of what is published is in ``siting_publish``.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.spatial import cKDTree

from ..errors import AtlasError
from ..geography.areas import BNG, WGS84, Geography
from ..geography.geocode import place_sites

log = logging.getLogger(__name__)

PWID = ("pwid_psychoactive", "pwid_ipeds")
CANDIDATE_REQUIRED = ("site_code", "site_name", "postcode")
CANDIDATE_OPTIONAL = ("latitude", "longitude")
MIP_REL_GAP = 1e-9  # demand is whole people: this gap proves the optimum exactly


class SitingError(AtlasError):
    """The candidates file cannot be used, or the plan cannot be solved."""


# ---------------------------------------------------------------- inputs


@dataclass
class Candidates:
    """Candidate sites placed on the map, the rows set aside, and how many rows were read."""

    sites: pd.DataFrame  # site_code, site_name, postcode, la_code, lat, long, x, y, placed_by
    rejects: pd.DataFrame  # file, line, reason
    read: int


def read_candidates(path: Path, geo: Geography) -> Candidates:
    """Read a candidates CSV (site_code, site_name, postcode; optional latitude, longitude).

    A missing column stops with a message naming the file and column; a bad row (blank or
    repeated site_code, a latitude/longitude that is not a number, a site that cannot be placed)
    is set aside with its line and reason, and the rest are used.
    """
    path = Path(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        raise SitingError(
            f"{path}: the candidates file is empty (expected a header with "
            f"{', '.join(CANDIDATE_REQUIRED)})"
        )
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in CANDIDATE_REQUIRED if c not in header]
    if missing:
        raise SitingError(
            f"{path}: missing column(s) {', '.join(missing)} (a candidates file "
            f"has {', '.join(CANDIDATE_REQUIRED)}; optionally "
            f"{', '.join(CANDIDATE_OPTIONAL)})"
        )
    body = [r + [""] * (len(header) - len(r)) for r in rows[1:] if any(c.strip() for c in r)]
    lines = [i + 2 for i, r in enumerate(rows[1:]) if any(c.strip() for c in r)]
    frame = pd.DataFrame([r[: len(header)] for r in body], columns=header, dtype=str)
    frame = frame.reindex(columns=[*CANDIDATE_REQUIRED, *CANDIDATE_OPTIONAL], fill_value="")
    frame = frame.apply(lambda s: s.str.strip())
    frame.insert(0, "line", lines)
    sites, rejects = place_candidates(frame, geo, path.name)
    return Candidates(sites, rejects, len(frame))


def place_candidates(
    frame: pd.DataFrame, geo: Geography, file_name: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check and place candidate rows (with a ``line`` column); return (placed, rejects)."""
    reasons = pd.Series("", index=frame.index)

    def reject(mask: pd.Series, reason: pd.Series | str) -> None:
        nonlocal reasons
        reasons = reasons.where(~(mask & (reasons == "")), reason)

    reject(frame["site_code"] == "", "site_code is blank")
    first = frame.groupby("site_code")["line"].transform("first")
    reject(
        frame["site_code"].duplicated() & (frame["site_code"] != ""),
        "site_code '" + frame["site_code"] + "' repeats line " + first.astype(str),
    )
    for col in CANDIDATE_OPTIONAL:
        bad = (frame[col] != "") & pd.to_numeric(frame[col], errors="coerce").isna()
        reject(bad, col + " '" + frame[col] + "' is not a number")
    ok = frame[reasons == ""]
    placed = place_sites(ok.assign(local_authority=""), geo.directory, geo.las)
    unplaced = placed["placed_by"] == "unplaced"
    reject(
        unplaced.reindex(frame.index, fill_value=False),
        "cannot be placed: no latitude/longitude in the UK and postcode '"
        + frame["postcode"]
        + "' is not in the postcode directory",
    )
    placed = placed[~unplaced].copy()
    placed["x"], placed["y"] = to_bng(placed["lat"], placed["long"])
    rejects = pd.DataFrame({"file": file_name, "line": frame["line"], "reason": reasons})
    rejects = rejects[rejects["reason"] != ""].reset_index(drop=True)
    for r in rejects.itertuples():
        log.warning("%s line %d: %s; the candidate is set aside", r.file, r.line, r.reason)
    cols = ["site_code", "site_name", "postcode", "la_code", "lat", "long", "x", "y", "placed_by"]
    return placed[cols].sort_values("site_code").reset_index(drop=True), rejects


_TO_BNG = pyproj.Transformer.from_crs(WGS84, BNG, always_xy=True)


def to_bng(lat: pd.Series, lon: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 latitude/longitude to British National Grid easting/northing in metres."""
    x, y = _TO_BNG.transform(np.asarray(lon, float), np.asarray(lat, float))
    return np.asarray(x), np.asarray(y)


def lsoa_points(geo: Geography) -> pd.DataFrame:
    """Each LSOA's demand point (x, y in EPSG:27700) and how it was found (``placed_by``).

    The mean position of the LSOA's live postcodes in the directory, a stand-in for ONS
    population-weighted centroids; else the representative point of its polygon.
    """
    d = geo.directory
    d = d[d["live"] & d["lat"].notna() & d["lsoa_code"].isin(geo.lsoas["lsoa_code"])]
    x, y = to_bng(d["lat"], d["long"])
    mean = (
        pd.DataFrame({"lsoa_code": d["lsoa_code"].to_numpy(), "x": x, "y": y})
        .groupby("lsoa_code")[["x", "y"]]
        .mean()
    )
    rep = geo.lsoas.set_index("lsoa_code").geometry.to_crs(BNG).representative_point()
    out = pd.DataFrame(
        {
            "la_code": geo.lsoas.set_index("lsoa_code")["la_code"],
            "x": mean["x"].reindex(rep.index),
            "y": mean["y"].reindex(rep.index),
        }
    )
    out["placed_by"] = np.where(out["x"].notna(), "postcodes", "polygon")
    out["x"] = out["x"].fillna(pd.Series(rep.x, index=rep.index))
    out["y"] = out["y"].fillna(pd.Series(rep.y, index=rep.index))
    return out.rename_axis("lsoa_code").reset_index()


def pwid_demand(residence_lsoa: pd.DataFrame) -> pd.Series:
    """Individuals in the PWID cohorts per LSOA of residence (unprotected counts; the
    "LSOA not known" cells are left out)."""
    rows = residence_lsoa[
        residence_lsoa["cohort"].isin(PWID) & ~residence_lsoa["lsoa_code"].str.endswith("-UNKNOWN")
    ]
    return rows.groupby("lsoa_code")["individuals"].sum().astype(np.int64)


def existing_nsp_sites(sites: pd.DataFrame) -> pd.DataFrame:
    """The extract's placed sites whose ``services`` include NSP, with BNG x, y."""
    services = sites["services"].fillna("").str.upper().str.split(";")
    nsp = sites[services.map(lambda s: "NSP" in [v.strip() for v in s]) & sites["lat"].notna()]
    nsp = nsp[["site_code", "site_name", "site_type", "la_code", "lat", "long"]].copy()
    nsp["x"], nsp["y"] = to_bng(nsp["lat"], nsp["long"])
    return nsp.sort_values("site_code").reset_index(drop=True)


# ---------------------------------------------------------------- the plan


@dataclass
class Plan:
    """Coverage today and the recommended sites, as counts of individuals (unprotected)."""

    demand: pd.DataFrame  # lsoa_code, la_code, demand, x, y, covered_today, added_by_rank,
    #                       reachable (some candidate within the radius)
    ranked: pd.DataFrame  # rank, site_code, site_name, la_code, added, cumulative
    total: int
    covered_today: int
    radius_m: float
    new_sites: int  # how many were asked for
    target_pct: float | None = None
    target_sites: int | None = None  # fewest new sites reaching target_pct (None: unreachable)
    target_reached: int | None = None  # demand covered by that fewest set
    best_possible: int = 0  # demand covered if every candidate were opened


def coverage_matrix(points: np.ndarray, sites: np.ndarray, radius: float) -> sp.csr_matrix:
    """Sparse boolean matrix: row i, column j is set when site j lies within radius of point i."""
    if len(points) == 0 or len(sites) == 0:
        return sp.csr_matrix((len(points), len(sites)), dtype=bool)
    hits = cKDTree(sites).query_ball_point(points, r=radius, return_sorted=True)
    lengths = np.fromiter(map(len, hits), np.int64, len(hits))
    indices = np.fromiter((j for h in hits for j in h), np.int64, int(lengths.sum()))
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    return sp.csr_matrix(
        (np.ones(len(indices), bool), indices, indptr), shape=(len(points), len(sites))
    )


def plan_sites(
    demand: pd.DataFrame,
    existing: pd.DataFrame,
    candidates: pd.DataFrame,
    radius_m: float,
    new_sites: int,
    target_pct: float | None = None,
) -> Plan:
    """Coverage today and the best ``new_sites`` candidates (MCLP, existing sites fixed).

    ``demand`` has lsoa_code, la_code, demand, x, y; ``existing`` and ``candidates`` have x, y
    (candidates also site_code, site_name, la_code). Only candidates that add coverage are
    listed, so fewer than ``new_sites`` rows mean the rest would add nothing.
    """
    demand = demand.sort_values("lsoa_code").reset_index(drop=True)
    candidates = candidates.sort_values("site_code").reset_index(drop=True)
    w = demand["demand"].to_numpy(np.int64)
    xy = demand[["x", "y"]].to_numpy(float)
    today = coverage_matrix(xy, existing[["x", "y"]].to_numpy(float), radius_m)
    covered = np.asarray(today.sum(axis=1)).ravel() > 0
    cover = coverage_matrix(xy, candidates[["x", "y"]].to_numpy(float), radius_m)
    # Only demand not yet covered, with someone in it, that some candidate reaches, matters.
    open_rows = np.flatnonzero(~covered & (w > 0) & (np.diff(cover.indptr) > 0))
    sub = cover[open_rows]
    chosen = _max_cover(sub, w[open_rows], new_sites)
    order, gains = _greedy_order(sub, w[open_rows], chosen)
    added_by_rank = np.zeros(len(demand), np.int64)
    reached = np.zeros(len(open_rows), bool)
    for rank, j in enumerate(order, start=1):
        newly = ~reached & (sub[:, j].toarray().ravel() > 0)
        added_by_rank[open_rows[newly]] = rank
        reached |= newly
    today_total = int(w[covered].sum())
    ranked = candidates.loc[order, ["site_code", "site_name", "la_code"]].reset_index(drop=True)
    ranked.insert(0, "rank", np.arange(1, len(order) + 1))
    ranked["added"] = np.asarray(gains, np.int64)
    ranked["cumulative"] = today_total + np.cumsum(ranked["added"]).astype(np.int64)
    out = demand[["lsoa_code", "la_code", "demand", "x", "y"]].copy()
    out["covered_today"] = covered
    out["added_by_rank"] = added_by_rank
    out["reachable"] = np.diff(cover.indptr) > 0
    plan = Plan(
        out,
        ranked,
        int(w.sum()),
        today_total,
        radius_m,
        new_sites,
        best_possible=today_total + int(w[open_rows].sum()),
    )
    if target_pct is not None:
        _fewest_for_target(plan, sub, w[open_rows], target_pct)
    return plan


def _max_cover(a: sp.csr_matrix, w: np.ndarray, k: int) -> np.ndarray:
    """Columns of ``a`` (at most k) covering the most weight: an exact MILP.

    x_j binary (open candidate j), y_i in [0, 1] (point i covered); maximise w.y subject to
    y_i <= sum_j a_ij x_j and sum_j x_j <= k. With x whole, y is whole at the optimum.
    """
    m, n = a.shape
    useful = np.flatnonzero(np.diff(a.tocsc().indptr) > 0)
    if m == 0 or len(useful) == 0:
        return np.array([], np.int64)
    if len(useful) <= k:
        return useful
    a = a[:, useful]
    n = len(useful)
    res = _solve(
        np.concatenate([np.zeros(n), -w.astype(float)]),
        [
            LinearConstraint(
                sp.hstack([-a.astype(float), sp.identity(m)], format="csr"), -np.inf, 0
            ),
            LinearConstraint(
                sp.hstack([sp.csr_matrix(np.ones((1, n))), sp.csr_matrix((1, m))], format="csr"),
                0,
                k,
            ),
        ],
        n,
        m,
    )
    return useful[np.flatnonzero(res.x[:n] > 0.5)]


def _solve(c: np.ndarray, constraints: list[LinearConstraint], n: int, m: int):
    """HiGHS branch and bound to a proven optimum; x (first n) binary, y (next m) in [0, 1]."""
    res = milp(
        c,
        constraints=constraints,
        bounds=Bounds(0, 1),
        integrality=np.concatenate([np.ones(n), np.zeros(m)]),
        options={"mip_rel_gap": MIP_REL_GAP},
    )
    if res.status != 0 or res.x is None:
        raise SitingError(f"the siting problem was not solved to optimality: {res.message}")
    return res


def _greedy_order(
    a: sp.csr_matrix, w: np.ndarray, chosen: np.ndarray
) -> tuple[list[int], list[int]]:
    """Order the chosen columns so each adds the most to those before it (ties: the lower
    column, i.e. the lower site_code); sites that would add nothing are left out."""
    remaining = [int(j) for j in chosen]
    uncovered = np.ones(a.shape[0], bool)
    cols = a.tocsc()
    order, gains = [], []
    while remaining:
        weight = np.where(uncovered, w, 0)
        gain = [
            int(weight[cols.indices[cols.indptr[j] : cols.indptr[j + 1]]].sum()) for j in remaining
        ]
        best = int(np.argmax(gain))
        if gain[best] == 0:
            break
        j = remaining.pop(best)
        order.append(j)
        gains.append(gain[best])
        uncovered[cols.indices[cols.indptr[j] : cols.indptr[j + 1]]] = False
    return order, gains


def _fewest_for_target(plan: Plan, a: sp.csr_matrix, w: np.ndarray, target_pct: float) -> None:
    """The fewest new sites reaching target_pct of demand (set on the plan), by MILP."""
    plan.target_pct = target_pct
    needed = target_pct / 100 * plan.total - plan.covered_today
    if needed <= 1e-9:
        plan.target_sites, plan.target_reached = 0, plan.covered_today
        return
    if plan.best_possible < target_pct / 100 * plan.total - 1e-9:
        return
    m, n = a.shape
    res = _solve(
        np.concatenate([np.ones(n), np.zeros(m)]),
        [
            LinearConstraint(
                sp.hstack([-a.astype(float), sp.identity(m)], format="csr"), -np.inf, 0
            ),
            LinearConstraint(
                sp.hstack([sp.csr_matrix((1, n)), sp.csr_matrix(w.astype(float))], format="csr"),
                np.ceil(needed - 1e-9),
                np.inf,
            ),
        ],
        n,
        m,
    )
    x = res.x[:n] > 0.5
    plan.target_sites = int(x.sum())
    reached = np.asarray(a[:, np.flatnonzero(x)].sum(axis=1)).ravel() > 0
    plan.target_reached = plan.covered_today + int(w[reached].sum())
