"""The LP attacker (spec section 2, *Audit*): what can be worked out about each hidden cell.

The attacker knows every published number, every additive relation (a total equals the sum of
its parts) and that counts are not negative. What the attacker knows of a cell is an interval
``[lo, hi]``: a published count is ``[v, v]``, a count rounded to the nearest ``b`` is
``[r - b//2, r + b//2]`` (tighter where a published cell cannot be small), a suppressed count is
``[0, inf)``. For every *target* (suppressed) cell, the smallest and largest value consistent
with all of this is found by linear programming with HiGHS, the solver behind scipy's
``linprog``, called through its own interface ``highspy`` so that a component is loaded once and
re-solved from the last optimal basis for each cell (``linprog`` rebuilds the model per call,
which is ten times slower at national size).

The problem splits into independent components: cells whose value is known exactly are
constants, and two unknown cells are in one component only when a chain of groups links them.
Each component is solved alone. Most bounds are proved without a solve of their own: every
solution found is a feasible table, so a cell that sits there at a bound proved by constraint
propagation (or at 0) has that bound as its exact minimum or maximum.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

EPS = 1e-6


@dataclass
class Problem:
    """Cells (columns), what the attacker knows of each, and the additive groups (rows).

    ``groups`` holds +1 for each part and -1 for the total of each group, so ``groups @ x = 0``.
    """

    lo: np.ndarray  # float, per cell
    hi: np.ndarray  # float, per cell; inf where unbounded
    groups: sparse.csr_matrix
    targets: np.ndarray  # bool, per cell: the cells whose interval is wanted


@dataclass
class Intervals:
    """The attacker's interval for each target cell (NaN for other cells)."""

    low: np.ndarray
    high: np.ndarray
    components: int  # independent components solved
    solves: int  # linear programs solved
    infeasible: list[int]  # cells of components where the published numbers contradict


def intervals(problem: Problem, near: np.ndarray | None = None,
              cells: np.ndarray | None = None) -> Intervals:
    """Smallest and largest value of target cells: all of them, or (``near``, bool per cell)
    those of the components holding a ``near`` cell, or (``cells``) just those cells."""
    n = len(problem.lo)
    low, high = np.full(n, np.nan), np.full(n, np.nan)
    known = problem.hi - problem.lo <= EPS
    low[problem.targets & known] = problem.lo[problem.targets & known]
    high[problem.targets & known] = problem.hi[problem.targets & known]
    unknown = np.flatnonzero(~known)
    out = Intervals(low, high, 0, 0, [])
    if not len(unknown):
        return out
    g = problem.groups.tocsc()
    rhs = -(g[:, known] @ problem.lo[known])
    sub = g[:, unknown].tocsr()
    labels = _components(sub)
    order = np.argsort(labels, kind="stable")
    splits = np.flatnonzero(np.diff(labels[order])) + 1
    wanted = problem.targets if cells is None else problem.targets & cells
    by_column = sub.tocsc()
    for members in np.split(order, splits):
        comp = unknown[members]
        t = wanted[comp]
        if not t.any() or (near is not None and not near[comp].any()):
            continue
        out.components += 1
        rows = np.unique(by_column[:, members].tocoo().row)
        a = sub[rows][:, members].tocsr()
        result = _solve_component(a, rhs[rows], problem.lo[comp], problem.hi[comp], t)
        if result is None:
            out.infeasible.extend(comp.tolist())
            continue
        (clo, chi), solves = result
        out.solves += solves
        low[comp[t]], high[comp[t]] = clo[t], chi[t]
    return out


def exposed(low: np.ndarray, high: np.ndarray, threshold: int) -> np.ndarray:
    """Cells an attacker pins down: a single whole value, or whole values all in 1..t-1."""
    lo_int = np.ceil(np.nan_to_num(low, nan=-np.inf) - EPS)
    hi_int = np.floor(np.nan_to_num(high, nan=np.inf) + EPS)
    return (lo_int >= hi_int) | ((lo_int >= 1) & (hi_int <= threshold - 1))


def _components(sub: sparse.csr_matrix) -> np.ndarray:
    """Component label of each unknown cell, linking cells through shared groups."""
    m, k = sub.shape
    pattern = sub.copy()
    pattern.data = np.ones_like(pattern.data)
    graph = sparse.bmat([[None, pattern], [pattern.T, None]], format="csr")
    _, labels = connected_components(graph, directed=False)
    return labels[m:]


def _propagate(a: sparse.csr_matrix, b: np.ndarray, lo: np.ndarray, hi: np.ndarray,
               rounds: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Bounds implied by each row alone, repeated: valid outer bounds of the LP's."""
    coo = a.tocoo()
    r, c, v = coo.row, coo.col, coo.data
    lo, hi = lo.copy(), hi.copy()
    for _ in range(rounds):
        act_min = np.where(v > 0, v * lo[c], v * hi[c])  # least each term can add
        act_max = np.where(v > 0, v * hi[c], v * lo[c])
        rest_min = _sum_without(r, act_min, len(b))
        rest_max = _sum_without(r, act_max, len(b))
        # v * x_c = b - rest  =>  x_c in [(b - rest_max)/v, (b - rest_min)/v] for v > 0
        with np.errstate(invalid="ignore"):
            one = (b[r] - rest_max) / v
            two = (b[r] - rest_min) / v
        new_lo = np.where(v > 0, one, two)
        new_hi = np.where(v > 0, two, one)
        nlo = lo.copy()
        nhi = hi.copy()
        np.maximum.at(nlo, c, np.nan_to_num(new_lo, nan=-np.inf))
        np.minimum.at(nhi, c, np.nan_to_num(new_hi, nan=np.inf))
        if np.allclose(nlo, lo, equal_nan=True) and np.allclose(nhi, hi, equal_nan=True):
            break
        lo, hi = nlo, nhi
    return lo, hi


def _sum_without(rows: np.ndarray, terms: np.ndarray, m: int) -> np.ndarray:
    """For each nonzero, the sum of the other terms of its row (infinities counted apart)."""
    finite = np.isfinite(terms)
    total = np.bincount(rows, np.where(finite, terms, 0.0), minlength=m)
    pos = np.bincount(rows, ~finite & (terms > 0), minlength=m)
    neg = np.bincount(rows, ~finite & (terms < 0), minlength=m)
    own = np.where(finite, terms, 0.0)
    pos_rest = pos[rows] - (~finite & (terms > 0))
    neg_rest = neg[rows] - (~finite & (terms < 0))
    out = total[rows] - own
    out = np.where(pos_rest > 0, np.inf, out)
    return np.where(neg_rest > 0, np.where(pos_rest > 0, np.nan, -np.inf), out)


def _solve_component(a: sparse.csr_matrix, b: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                     targets: np.ndarray):
    """Exact [min, max] of every target cell of one component; None if infeasible.

    The component is passed to HiGHS once; each bound is then a change of objective solved
    from the previous optimal basis (a few simplex pivots)."""
    k = len(lo)
    if a.shape[0] == 0:  # in no group: nothing narrows it
        return (lo.copy(), hi.copy()), 0
    plo, phi = _propagate(a, b, lo, hi)
    if np.any(plo > phi + EPS):
        return None
    low, high = np.full(k, np.nan), np.full(k, np.nan)
    lp = _Solver(a, b, lo, hi)

    def certify(x: np.ndarray) -> None:
        at_lo = targets & np.isnan(low) & (x <= plo + EPS)
        low[at_lo] = plo[at_lo]
        at_hi = targets & np.isnan(high) & np.isfinite(phi) & (x >= phi - EPS)
        high[at_hi] = phi[at_hi]

    try:
        if targets.sum() > 2:  # two solves that prove many bounds at once
            certify(lp.solve(np.where(targets, 1.0, 0.0)))
            scale = np.maximum(np.where(np.isfinite(phi), phi, 1.0), 1.0)
            x = lp.solve(np.where(targets, -1.0 / scale, 0.0))
            if x is not None:
                certify(x)
        for i in np.flatnonzero(targets):
            for sense, found in ((1.0, low), (-1.0, high)):
                if np.isnan(found[i]):
                    x = lp.solve_one(i, sense)
                    found[i] = x[i] if x is not None else -sense * np.inf
                    if x is not None:
                        certify(x)
    except _Infeasible:
        return None
    return (low, high), lp.solves


class _Solver:
    """One component held by HiGHS, re-solved for one objective after another."""

    def __init__(self, a: sparse.csr_matrix, b: np.ndarray, lo: np.ndarray, hi: np.ndarray):
        csc = a.tocsc()
        model = highspy.HighsLp()
        model.num_col_, model.num_row_ = a.shape[1], a.shape[0]
        model.col_cost_ = np.zeros(a.shape[1])
        model.col_lower_ = lo.astype(float)
        model.col_upper_ = np.where(np.isfinite(hi), hi, highspy.kHighsInf).astype(float)
        model.row_lower_ = model.row_upper_ = b.astype(float)
        model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        model.a_matrix_.start_ = csc.indptr
        model.a_matrix_.index_ = csc.indices
        model.a_matrix_.value_ = csc.data.astype(float)
        self.highs = highspy.Highs()
        self.highs.setOptionValue("output_flag", False)
        self.highs.setOptionValue("presolve", "off")
        self.highs.setOptionValue("simplex_strategy", 4)  # primal: the basis stays feasible
        self.highs.passModel(model)
        self.k = a.shape[1]
        self.cost = np.zeros(self.k)
        self.solves = 0

    def solve(self, cost: np.ndarray) -> np.ndarray | None:
        """Minimise cost @ x; the optimal x, or None when unbounded."""
        changed = np.flatnonzero(cost != self.cost)
        if len(changed):
            self.highs.changeColsCost(len(changed), changed.astype(np.int32), cost[changed])
            self.cost = cost.copy()
        return self._run()

    def solve_one(self, i: int, sense: float) -> np.ndarray | None:
        cost = np.zeros(self.k)
        cost[i] = sense
        return self.solve(cost)

    def _run(self) -> np.ndarray | None:
        self.solves += 1
        self.highs.run()
        status = self.highs.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            return np.asarray(self.highs.getSolution().col_value)
        if status in (highspy.HighsModelStatus.kUnbounded,
                      highspy.HighsModelStatus.kUnboundedOrInfeasible):
            if status == highspy.HighsModelStatus.kUnboundedOrInfeasible:
                self._check_feasible()
            return None
        raise _Infeasible

    def _check_feasible(self) -> None:
        saved = self.cost.copy()
        self.solve(np.zeros(self.k))
        self.solve(saved)


class _Infeasible(Exception):
    """The published numbers of a component contradict each other."""
