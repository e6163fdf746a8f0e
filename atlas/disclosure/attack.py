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

Disclosure control only asks whether a cell is *exposed* (:func:`exposed`). Given the threshold,
``intervals`` stops short of the exact bounds of a cell once the feasible tables already found
show it safe: its true interval contains the values it takes in them, and a wider interval is
never more exposed. Only cells not shown safe that way get their exact bounds solved for, so
the verdict is the one exact bounds give, at a fraction of the solves.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from dataclasses import dataclass
from typing import overload

import highspy
import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

EPS = 1e-6
LIFT_MIN = 8  # cells left to raise worth a table of their own (:meth:`_Solver.lift`)


@dataclass
class Problem:
    """Cells (columns), what the attacker knows of each, and the additive groups (rows).

    ``groups`` holds +1 for each part and -1 for the total of each group, so ``groups @ x = 0``.
    ``bounds`` (optional) holds further relations the attacker knows, ``bounds @ x <= 0``: a
    count of people is at most the activity rows they made, and at least 1 where there is one.
    """

    lo: np.ndarray  # float, per cell
    hi: np.ndarray  # float, per cell; inf where unbounded
    groups: sparse.csr_matrix
    targets: np.ndarray  # bool, per cell: the cells whose interval is wanted
    bounds: sparse.csr_matrix | None = None


@dataclass
class Intervals:
    """The attacker's interval for each target cell (NaN for other cells)."""

    low: np.ndarray
    high: np.ndarray
    components: int  # independent components solved
    solves: int  # linear programs solved
    infeasible: list[int]  # cells of components where the published numbers contradict


def intervals(
    problem: Problem,
    near: np.ndarray | None = None,
    cells: np.ndarray | None = None,
    threshold: int | None = None,
) -> Intervals:
    """Smallest and largest value of target cells: all of them, or (``near``, bool per cell)
    those of the components holding a ``near`` cell, or (``cells``) just those cells.

    With ``threshold``, only as far as :func:`exposed` needs: the bounds of an exposed cell are
    exact; a safe cell may get an inner interval (values it takes in feasible tables) that
    already shows it safe."""
    n = len(problem.lo)
    low, high = np.full(n, np.nan), np.full(n, np.nan)
    known = problem.hi - problem.lo <= EPS
    low[problem.targets & known] = problem.lo[problem.targets & known]
    high[problem.targets & known] = problem.hi[problem.targets & known]
    unknown = np.flatnonzero(~known)
    out = Intervals(low, high, 0, 0, [])
    if not len(unknown):
        return out
    n_eq = problem.groups.shape[0]
    g = problem.groups
    if problem.bounds is not None and problem.bounds.shape[0]:
        g = sparse.vstack([g, problem.bounds])
    g = g.tocsc()
    rhs = -(g[:, known] @ problem.lo[known])
    # equality rows: rhs <= a x <= rhs; bound rows: a x <= rhs
    row_lo = np.where(np.arange(g.shape[0]) < n_eq, rhs, -np.inf)
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
        result = _solve_component(
            a, (row_lo[rows], rhs[rows]), problem.lo[comp], problem.hi[comp], t, threshold
        )
        if result is None:
            out.infeasible.extend(comp.tolist())
            continue
        (clo, chi), solves = result
        out.solves += solves
        low[comp[t]], high[comp[t]] = clo[t], chi[t]
    return out


def exposed(low: np.ndarray, high: np.ndarray, threshold: int) -> np.ndarray:
    """Cells an attacker pins down: a single whole value, or whole values all in 1..t-1."""
    lo_int, hi_int = whole(low, high)
    return (lo_int >= hi_int) | ((lo_int >= 1) & (hi_int <= threshold - 1))


def whole(low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The least and the greatest whole value of each interval (NaN: unbounded that way)."""
    return (
        np.ceil(np.where(np.isnan(low), -np.inf, low) - EPS),
        np.floor(np.where(np.isnan(high), np.inf, high) + EPS),
    )


def _components(sub: sparse.csr_matrix) -> np.ndarray:
    """Component label of each unknown cell, linking cells through shared groups."""
    m, _k = sub.shape
    pattern = sub.copy()
    pattern.data = np.ones_like(pattern.data)
    graph = sparse.bmat([[None, pattern], [pattern.T, None]], format="csr")
    _, labels = connected_components(graph, directed=False)
    return labels[m:]


def _propagate(
    a: sparse.csr_matrix,
    b: tuple[np.ndarray, np.ndarray],
    lo: np.ndarray,
    hi: np.ndarray,
    rounds: int = 8,
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds implied by each row (``b``: its lower and upper bound) alone, repeated: valid
    outer bounds of the LP's."""
    b_lo, b_hi = b
    coo = a.tocoo()
    r, c, v = coo.row, coo.col, coo.data
    lo, hi = lo.copy(), hi.copy()
    for _ in range(rounds):
        with np.errstate(over="ignore", invalid="ignore"):  # inf * 0 and the like: ignored
            act_min, act_max = _terms(v, lo[c], hi[c])
        rest_min = _sum_without(r, act_min, len(b_lo))
        rest_max = _sum_without(r, act_max, len(b_lo))
        # v * x_c = s - rest, s in [b_lo, b_hi]
        #   =>  x_c in [(b_lo - rest_max)/v, (b_hi - rest_min)/v] for v > 0
        with np.errstate(invalid="ignore"):
            one = (b_lo[r] - rest_max) / v
            two = (b_hi[r] - rest_min) / v
        new_lo = np.where(v > 0, one, two)
        new_hi = np.where(v > 0, two, one)
        nlo = lo.copy()
        nhi = hi.copy()
        # fmax/fmin pass over NaN (a row that says nothing); infinities stay infinite
        np.fmax.at(nlo, c, new_lo)
        np.fmin.at(nhi, c, new_hi)
        if np.allclose(nlo, lo, equal_nan=True) and np.allclose(nhi, hi, equal_nan=True):
            break
        lo, hi = nlo, nhi
    return lo, hi


def _terms(v: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The least and the most each term ``v * x`` can add, x in [lo, hi]."""
    return np.where(v > 0, v * lo, v * hi), np.where(v > 0, v * hi, v * lo)


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


def _solve_component(
    a: sparse.csr_matrix,
    b: tuple[np.ndarray, np.ndarray],
    lo: np.ndarray,
    hi: np.ndarray,
    targets: np.ndarray,
    threshold: int | None = None,
):
    """Exact [min, max] of every target cell of one component (``b``: each row's lower and
    upper bound); None if infeasible. With
    ``threshold``, a cell the tables found show safe keeps their range instead.

    The component is passed to HiGHS once; each bound is then a change of objective solved
    from the previous optimal basis (a few simplex pivots)."""
    if a.shape[0] == 0:  # in no group: nothing narrows it
        return (lo.copy(), hi.copy()), 0
    plo, phi = _propagate(a, b, lo, hi)
    if np.any(plo > phi + EPS):
        return None
    found = _Bounds(plo, phi, targets)
    lp = _Solver(a, b, lo, hi)
    try:
        if threshold is not None:
            _sweep(lp, found, threshold)
        elif targets.sum() > 2:  # two solves that prove many bounds at once
            found.certify(lp.solve(np.where(targets, 1.0, 0.0)))
            found.certify(lp.solve(np.where(targets, -1.0 / found.scale, 0.0)))
        for i in np.flatnonzero(targets if threshold is None else found.open(threshold)):
            for sense, bound in ((1.0, found.low), (-1.0, found.high)):
                if np.isnan(bound[i]) and (threshold is None or found.open(threshold, int(i))):
                    x = lp.solve_one(int(i), sense)
                    bound[i] = x[i] if x is not None else -sense * np.inf
                    found.certify(x)
    except _Infeasible:
        return None
    return (found.low, found.high) if threshold is None else found.inner(), lp.solves


class _Bounds:
    """What the solves of one component have shown of each target cell: its exact minimum
    and maximum where proved (NaN until then), and the range of values it took in the feasible
    tables found (every LP solution is one)."""

    def __init__(self, plo: np.ndarray, phi: np.ndarray, targets: np.ndarray):
        self.plo, self.phi, self.targets = plo, phi, targets
        k = len(plo)
        self.low, self.high = np.full(k, np.nan), np.full(k, np.nan)
        self.seen_lo, self.seen_hi = np.full(k, np.inf), np.full(k, -np.inf)
        self.scale = np.maximum(np.where(np.isfinite(phi), phi, 1.0), 1.0)

    def certify(self, x: np.ndarray | None) -> None:
        """Take in a feasible table: a cell at a bound proved by propagation has that bound as
        its exact minimum (maximum)."""
        if x is None:
            return
        t = self.targets
        at_lo = t & np.isnan(self.low) & (x <= self.plo + EPS)
        self.low[at_lo] = self.plo[at_lo]
        at_hi = t & np.isnan(self.high) & np.isfinite(self.phi) & (x >= self.phi - EPS)
        self.high[at_hi] = self.phi[at_hi]
        np.minimum(self.seen_lo, x, out=self.seen_lo)
        np.maximum(self.seen_hi, x, out=self.seen_hi)

    def inner(self) -> tuple[np.ndarray, np.ndarray]:
        """The exact bounds where proved, else the range of the tables found: an interval the
        exact one contains."""
        return (
            np.where(np.isnan(self.low), self.seen_lo, self.low),
            np.where(np.isnan(self.high), self.seen_hi, self.high),
        )

    @overload
    def open(self, threshold: int, i: None = None) -> np.ndarray: ...
    @overload
    def open(self, threshold: int, i: int) -> bool: ...
    def open(self, threshold: int, i: int | None = None) -> np.ndarray | bool:
        """Target cells (or cell ``i``) that what is known so far does not show safe."""
        low, high = self.inner()
        if i is not None:
            return bool(exposed(low[[i]], high[[i]], threshold)[0])
        return self.targets & exposed(low, high, threshold)


def _sweep(lp: _Solver, found: _Bounds, threshold: int) -> None:
    """Solve for all the cells not yet shown safe at once, lows then highs, each time with new
    random weights (fixed seed: the same tables every build) so that successive tables differ,
    while a sweep shows at least a fifth of them safe; then raise those still lacking a high
    value together (:meth:`_Solver.lift`). The rest get solves of their own."""
    rng = np.random.default_rng(0)
    k = len(found.plo)
    left = found.open(threshold)
    while left.any():
        weights = rng.random(k) + 0.5
        lows = left & np.isnan(found.low)
        if lows.any():
            found.certify(lp.solve(np.where(lows, weights, 0.0)))
        highs = left & np.isnan(found.high)
        if highs.any():
            found.certify(lp.solve(np.where(highs, -weights / found.scale, 0.0)))
        now = found.open(threshold)
        if now.sum() > 0.8 * left.sum():
            break
        left = now
    # each vertex puts a group's total on one of its hidden parts: when many cells still
    # lack a table raising them, one table raising as many as can be
    low, high = found.inner()
    cap = np.where(low <= EPS, 1.0, np.maximum(threshold, np.ceil(low - EPS) + 1))
    raise_ = found.open(threshold) & np.isnan(found.high) & (high < cap - EPS)
    if raise_.sum() >= LIFT_MIN:
        found.certify(lp.lift(np.flatnonzero(raise_), cap[raise_]))


class _Solver:
    """One component held by HiGHS, re-solved for one objective after another."""

    def __init__(
        self,
        a: sparse.csr_matrix,
        b: tuple[np.ndarray, np.ndarray],
        lo: np.ndarray,
        hi: np.ndarray,
    ):
        self.a, self.b, self.lo, self.hi = a, b, lo, hi
        self.highs = _highs(a, lo, hi, *b)
        self.highs.setOptionValue("presolve", "off")
        # dual simplex: from the last basis as fast as primal for small components, and
        # tens of times faster for the one giant component that rounding makes
        self.highs.setOptionValue("simplex_strategy", 1)
        self.k = a.shape[1]
        self.cost = np.zeros(self.k)
        self.solves = 0

    def lift(self, cells: np.ndarray, cap: np.ndarray) -> np.ndarray | None:
        """A feasible table with as many of ``cells`` as can be at ``cap`` or more: the sum of
        min(x_i, cap_i) maximised (each min an extra column y_i <= x_i, y_i <= cap_i). Where a
        vertex raises one part of a group at a time, one table for many parts. Solved apart,
        from scratch; None if it is not solved."""
        (m, k), n = self.a.shape, len(cells)
        rows = np.r_[np.arange(n), np.arange(n)]
        link = sparse.csr_matrix(
            (np.r_[-np.ones(n), np.ones(n)], (rows, np.r_[cells, k + np.arange(n)])),
            shape=(n, k + n),
        )
        a = sparse.vstack([sparse.hstack([self.a, sparse.csr_matrix((m, n))]), link])
        highs = _highs(
            a,
            np.r_[self.lo, np.zeros(n)],
            np.r_[self.hi, cap],
            np.r_[self.b[0], np.full(n, -np.inf)],
            np.r_[self.b[1], np.zeros(n)],
            cost=np.r_[np.zeros(k), -np.ones(n)],
        )
        highs.setOptionValue("presolve", "off")
        self.solves += 1
        highs.run()
        if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        return np.asarray(highs.getSolution().col_value)[:k]

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
        if status in (
            highspy.HighsModelStatus.kUnbounded,
            highspy.HighsModelStatus.kUnboundedOrInfeasible,
        ):
            if status == highspy.HighsModelStatus.kUnboundedOrInfeasible:
                self._check_feasible()
            return None
        raise _Infeasible

    def _check_feasible(self) -> None:
        saved = self.cost.copy()
        self.solve(np.zeros(self.k))
        self.solve(saved)


def _highs(
    a: sparse.spmatrix,
    col_lo: np.ndarray,
    col_hi: np.ndarray,
    row_lo: np.ndarray,
    row_hi: np.ndarray,
    cost: np.ndarray | None = None,
) -> highspy.Highs:
    """HiGHS holding min cost @ x with row_lo <= a @ x <= row_hi, col_lo <= x <= col_hi."""
    csc = sparse.csc_matrix(a)

    def inf(v: np.ndarray) -> np.ndarray:  # HiGHS' infinity for unbounded
        return np.clip(np.asarray(v, dtype=float), -highspy.kHighsInf, highspy.kHighsInf)

    model = highspy.HighsLp()
    model.num_col_, model.num_row_ = a.shape[1], a.shape[0]
    model.col_cost_ = np.zeros(a.shape[1]) if cost is None else cost.astype(float)
    model.col_lower_, model.col_upper_ = inf(col_lo), inf(col_hi)
    model.row_lower_, model.row_upper_ = inf(row_lo), inf(row_hi)
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_ = csc.indptr
    model.a_matrix_.index_ = csc.indices
    model.a_matrix_.value_ = csc.data.astype(float)
    highs = _new_highs()
    highs.setOptionValue("output_flag", False)
    highs.passModel(model)
    return highs


class _Infeasible(Exception):
    """The published numbers of a component contradict each other."""


_banner_lock = threading.Lock()
_banner_done = False


def _new_highs() -> highspy.Highs:
    """A new HiGHS instance, without its banner: the C++ library writes "Running HiGHS ..." to
    file descriptor 1 when the first instance of a process is made, before any option can turn
    output off, so that one is made with descriptor 1 pointed at the null device."""
    global _banner_done
    with _banner_lock:
        if _banner_done:
            return highspy.Highs()
        sys.stdout.flush()
        saved = os.dup(1)
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 1)
            highs = highspy.Highs()
            ctypes.CDLL(None).fflush(None)  # what the C library buffered goes to the null device
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(null)
        _banner_done = True
        return highs
