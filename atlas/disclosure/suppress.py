"""Disclosure control (spec section 2, *Disclosure control*): the one place that decides what
count of individuals may be published.

Every published count of individuals is a *cell*. Cells that add up are tied by *groups*
(a total and its parts): each LSOA's cohorts add to its ``all``; the LSOAs of an LA and its
"LSOA not known" cell add to the LA; LAs, ``OUTSIDE`` and ``UNKNOWN`` add to ``TOTAL``; in
every row, cohorts add to ``all``. The residence ``TOTAL`` and the service-LA ``TOTAL`` are the
same cells. Counts from 1 to threshold-1 are suppressed (primary); then any group with exactly
one suppressed cell gets another suppressed, the smallest non-zero cell of the group (secondary),
until no group changes, across all groups together.

That heuristic is not enough: across overlapping groups (LSOA rows x LA columns x cohorts) a
linear-programming attacker can still pin a cell down, or narrow it to 1..threshold-1
(``tests/test_audit.py`` has such a table). So ``CellTable.protect`` then attacks the result
(:mod:`atlas.attack`) and, for every exposed cell, suppresses the cheapest cell of its groups
(smallest non-zero first) that makes it safe, until the attack finds nothing.

With ``rounding = b`` every published count is rounded to the nearest ``b``: rounding, not
secondary suppression, then protects the cells that are not small, and complements are added
only where the attack (which knows rounded cells lie within +-b//2) still finds an exposure.

Activity (NSP visits, returns, interventions per site and service LA, in the year and each
quarter) counts events, not people, but bounds them: a count of people is at most the visits
and interventions they made, at least 1 where there is one, 0 where there is none (and returns
are at most visits). These are cells of the same model (``CellTable.activity``), tied by their
own groups (a site's quarters add to its year, the sites of an LA to the LA, the LAs and the
sites outside them to the area) and by the bounds (``CellTable.bounds``: rows of inequalities
the attack takes). The policy, the least hiding the attack shows safe: activity is published
unless the attack, knowing it, exposes a suppressed count of people; then that count's
activity figures (the row: for a site's year, its year and every quarter) are blanked, with
complements in every activity group left with one blank cell (smallest non-zero first, parts
before totals), widening through the activity groups while the attack still finds it exposed;
only when no activity is left to blank is a further count of people suppressed. A blanked
figure hides no person, so secondary suppression of people is unchanged by the bounds
wherever blanking activity suffices.

``protect`` returns the published tables: renderers receive only these.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import chain, pairwise
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import sparse

from ..counting.aggregate import Counts
from ..counting.individuals import ALL, COHORTS
from ..counting.rates import format_fixed, rate_per_1000
from ..counting.report_counts import ActivityBound, activity_id
from ..counting.tally import TOTAL
from ..errors import DisclosureError
from . import attack

if TYPE_CHECKING:
    from ..counting.report_counts import CellSet

ACTIVITY = ("nsp_visits", "nsp_returns", "interventions")  # site_activity.csv's activity
RESIDUAL_WEIGHT = 0.5  # a "Not known"/"Not stated"/"Other" cell costs half its people to hide
LOOKAHEAD = 4  # a complement is chosen among this many of a group's cheapest cells


@dataclass
class Published:
    """The protected tables, exactly as they are written to the drop."""

    service_la: pd.DataFrame
    residence_lsoa: pd.DataFrame
    residence_la: pd.DataFrame
    site_activity: pd.DataFrame
    threshold: int
    primary: int  # cells suppressed because they are small
    secondary: int  # cells suppressed to protect them
    extra: dict[str, pd.DataFrame] = field(default_factory=dict)  # report cell sets, protected
    residence_msoa: pd.DataFrame | None = None  # when the recipe gives an MSOA lookup
    rounding: int = 0  # published counts rounded to the nearest this (0: not rounded)
    attacked: Attacked | None = None  # the cells and groups the final attack found safe
    perturbation: int = 0  # the cell key's largest perturbation (0: counts not perturbed)


@dataclass
class Attacked:
    """The problem ``CellTable.protect`` left no hidden cell exposed in: every cell (id,
    published value, hidden), every group, and the settings. The build's audit reuses it
    (``audit.audit_files``) when the files' cells and groups are among these."""

    ids: list[str]
    published: np.ndarray
    hidden: np.ndarray
    groups: sparse.csr_matrix
    threshold: int
    rounding: int
    bounds: sparse.csr_matrix | None = None  # the activity bounds, ``bounds @ x <= 0``
    perturbation: int = 0  # the cell key's largest perturbation (0: counts not perturbed)


class CellTable:
    """Cells (id -> count) and additive groups (total id, part ids) for secondary suppression.

    Activity cells (``activity``: counts of events, not of people) are published exactly and
    only hidden to protect a count of people: ``bounds`` say what activity tells of people
    (``ActivityBound``), ``at_most`` pairs (a, b) that a <= b (returns and visits; a quarter
    and its year)."""

    def __init__(self) -> None:
        self.values: dict[str, int] = {}
        self.groups: list[tuple[str, list[str]]] = []
        self.activity: set[str] = set()
        self.bounds: list[ActivityBound] = []
        self.at_most: list[tuple[str, str]] = []
        self.floors: dict[str, int] = {}  # least values a reader knows (shown labels)
        self.residual: set[str] = set()  # "Not known", "Not stated", "Other" rows: cheaper
        self.attacked: Attacked | None = None  # set by protect
        self.perturbation = 0  # set by protect when counts are perturbed (cell key)
        self._bound_cells: _BoundCells | None = None  # the bounds' positions, per ``where``

    def add(self, ids: pd.Series, values: pd.Series) -> None:
        self.values.update(zip(ids, values.astype(int)))

    def group(self, total: str, parts: list[str]) -> None:
        self.groups.append((total, parts))

    def suppress(self, threshold: int) -> tuple[set[str], int]:
        """Primary then secondary suppression; returns the suppressed ids and the primary count."""
        ids = list(self.values)
        hidden, primary = self._suppress(threshold, ids, *self._members(_positions(ids)))
        return set(np.asarray(ids, dtype=object)[hidden].tolist()), primary

    def _suppress(
        self, threshold: int, ids: list[str], cells: np.ndarray, starts: np.ndarray
    ) -> tuple[np.ndarray, int]:
        """:meth:`suppress` on positions (``_members``): a worklist of groups; a group with
        exactly one suppressed cell gets its complement (:meth:`_complement`), and the groups
        of that cell are looked at again. Returns whether each cell is hidden."""
        value = [int(v) for v in self.values.values()]
        cost = self.costs(ids)
        events = self.activity
        hidden = bytearray(0 < v < threshold and c not in events for c, v in zip(ids, value))
        primary = sum(hidden)
        group = np.repeat(np.arange(len(self.groups)), np.diff(starts))
        # each cell's groups, in group order (a group as often as the cell is in it)
        by_cell = np.argsort(cells, kind="stable")
        groups_of, cell_starts = (
            group[by_cell].tolist(),
            np.searchsorted(cells[by_cell], np.arange(len(ids) + 1)).tolist(),
        )
        queue = deque(np.unique(group[np.frombuffer(hidden, dtype=bool)[cells]]).tolist())
        members, starts = cells.tolist(), starts.tolist()

        def groups_of_cell(c: int) -> list[int]:
            return groups_of[cell_starts[c] : cell_starts[c + 1]]

        def cells_of(g: int) -> list[int]:
            return members[starts[g] : starts[g + 1]]

        # hidden cells per group (a cell in a group twice counts twice: only 0 matters)
        in_group = np.bincount(
            group[np.frombuffer(hidden, dtype=bool)[cells]], minlength=len(self.groups)
        ).tolist()

        while queue:
            g = queue.popleft()
            m = cells_of(g)  # the total first, then the parts
            if sum(map(hidden.__getitem__, m)) != 1:
                continue
            pick = self._complement(
                m, hidden, value, ids, cost, g, groups_of_cell, cells_of, in_group
            )
            if pick is None:
                continue
            hidden[pick] = 1
            for h in groups_of_cell(pick):
                in_group[h] += 1
            queue.extend(groups_of_cell(pick))
        return np.frombuffer(hidden, dtype=bool).copy(), primary

    def costs(self, ids: list[str]) -> list[float]:
        """What hiding each cell costs: the people it holds, half that for a "Not known",
        "Not stated" or "Other" row (``residual``), which tells a reader least."""
        residual = self.residual
        return [
            v * (RESIDUAL_WEIGHT if c in residual else 1.0)
            for c, v in zip(ids, self.values.values())
        ]

    def protect(
        self,
        threshold: int,
        rounding: int = 0,
        max_tries: int = 8,
        perturbed: dict[str, int] | None = None,
    ) -> tuple[set[str], int, dict[str, int]]:
        """Suppression that survives the LP attack: returns the suppressed ids, the primary
        count and the published value of every cell (rounded when ``rounding`` > 1).

        A suppressed count of people that its activity figures expose (at most the visits,
        at least 1 where there is one) first gets those figures blanked, with the activity
        complements that keep totals from giving them back (no person more is hidden); only
        where the attack still finds it exposed are further counts of people suppressed."""
        ids = list(self.values)
        where = _positions(ids)
        true = np.fromiter(self.values.values(), dtype=np.int64, count=len(ids))
        people = np.fromiter((c not in self.activity for c in ids), dtype=bool, count=len(ids))
        published = np.where(people, round_to(true, rounding), true)
        if perturbed is not None:  # the cell key: every count of people perturbed, none hidden
            from .cell_key import MAX_PERTURBATION

            self.perturbation = MAX_PERTURBATION
            published = np.where(
                people, np.fromiter(map(perturbed.get, ids, true.tolist()), dtype=np.int64), true
            )
        cells, starts = self._members(where)
        if perturbed is not None:
            hidden, primary = np.zeros(len(ids), dtype=bool), 0
        elif rounding > 1:
            hidden = people & (true > 0) & (true < threshold)
            primary = int(hidden.sum())
        else:
            hidden, primary = self._suppress(threshold, ids, cells, starts)
        groups = self._matrix(cells, starts, len(ids))
        members = groups.tocsc()
        rows_of = self._bound_rows_of(where)
        floor = np.zeros(len(ids))
        floor[[where[c] for c in self.floors]] = list(self.floors.values())
        closing = _Closing(cells, starts, ~people, published, ids)
        treated: dict[int, int] = {}  # how often a cell's activity was blanked
        near = None

        def protector(cell: int) -> list[int]:
            """The cells to hide next for an exposed ``cell`` (``_protector``)."""
            return self._protector(
                cell,
                published,
                hidden,
                groups,
                members,
                threshold,
                rounding,
                ids,
                max_tries,
                people,
                where,
                floor,
            )

        while True:
            bounds = self._bound_matrix(where, published, hidden)
            found = self._attack(
                (published, hidden, groups, threshold, rounding, people, bounds, floor), near=near
            )
            if found.infeasible:
                raise DisclosureError(
                    "disclosure control: the counts do not add up in their "
                    f"groups (cells {', '.join(ids[i] for i in found.infeasible[:5])})"
                )
            bad = np.flatnonzero(
                (hidden | (self.perturbation > 0))
                & people
                & attack.exposed(found.low, found.high, threshold)
            )
            if not len(bad):
                break
            added = np.zeros(len(ids), dtype=bool)
            stuck: list[int] = []
            for cell in bad.tolist():
                if self.perturbation and not hidden[cell]:
                    # a perturbed count the others narrow: withheld itself first (its
                    # interval is then the others' sum, seldom narrow), no search
                    hidden[cell] = added[cell] = True
                    continue
                # blank its activity first (no one more hidden), widening through the
                # activity groups each time the attack still finds the cell exposed; not
                # when the groups alone expose it (no activity would help)
                base, step = rows_of.get(cell, []), treated.get(cell, 0)
                if (
                    base
                    and step == 0
                    and self._exposed_by_groups(
                        cell, published, hidden, groups, threshold, rounding, people, floor
                    )
                ):
                    base = []
                reach = self._widen(base, step, groups, members)
                if added[reach].any():
                    continue  # its activity was just blanked: re-attack
                new = [c for c in reach if not hidden[c]]
                while base and not new:
                    step += 1
                    wider = self._widen(base, step, groups, members)
                    if len(wider) == len(reach):
                        break
                    reach, new = wider, [c for c in wider if not hidden[c]]
                if new:
                    treated[cell] = step + 1
                    hidden[new] = added[new] = True
                    continue
                rows = members[:, cell].indices
                if added[groups[rows].indices].any():
                    continue  # a complement was just added to one of its groups: re-attack
                open_people = people & ~hidden
                if not open_people[groups[rows].indices].any():
                    # nothing of its own left to hide: re-attack first, once another cell's
                    # complement may have made it safe (another cell of this round may pin
                    # it through a group it is not in)
                    stuck.append(cell)
                    continue
                pick = protector(cell)
                hidden[pick] = added[pick] = True
            for cell in stuck if not added.any() else []:  # no other way: its cheapest cells
                pick = protector(cell)
                hidden[pick] = added[pick] = True
                break
            added |= closing.close(hidden)
            near = added
        out = set(np.asarray(ids, dtype=object)[hidden].tolist())
        self.attacked = Attacked(
            ids,
            published,
            hidden.copy(),
            groups,
            threshold,
            rounding,
            self._bound_matrix(where, published, hidden),
            self.perturbation,
        )
        return out, primary, dict(zip(ids, published.tolist()))

    def _attack(
        self,
        what: tuple[
            np.ndarray,
            np.ndarray,
            sparse.csr_matrix,
            int,
            int,
            np.ndarray,
            sparse.csr_matrix | None,
            np.ndarray,
        ],
        near: np.ndarray | None = None,
        cells: np.ndarray | None = None,
    ) -> attack.Intervals:
        """The attack on :meth:`problem` of ``what`` (published, hidden, groups, threshold,
        rounding, people, bounds, floor) with this table's perturbation, as far as the
        verdict at the threshold needs."""
        threshold = what[3]
        problem = self.problem(*what, perturbation=self.perturbation)
        return attack.intervals(problem, near=near, cells=cells, threshold=threshold)

    def _exposed_by_groups(
        self,
        cell: int,
        published: np.ndarray,
        hidden: np.ndarray,
        groups: sparse.csr_matrix,
        threshold: int,
        rounding: int,
        people: np.ndarray,
        floor: np.ndarray,
    ) -> bool:
        """Whether ``cell`` is exposed by the additive groups alone (no activity bounds)."""
        only = np.zeros(len(hidden), dtype=bool)
        only[cell] = True
        found = self._attack(
            (published, hidden, groups, threshold, rounding, people, None, floor), cells=only
        )
        return bool(attack.exposed(found.low[[cell]], found.high[[cell]], threshold)[0])

    @staticmethod
    def _widen(
        row: list[int], steps: int, groups: sparse.csr_matrix, members: sparse.csc_matrix
    ) -> list[int]:
        """The activity cells ``row`` and, ``steps`` times over, every cell sharing a group
        with one of them."""
        reach = set(row)
        for _ in range(steps):
            if not reach:
                break
            rows = np.unique(members[:, sorted(reach)].indices)
            reach |= set(groups[rows].indices.tolist())
        return sorted(reach)

    def _bound_rows_of(self, where: dict[str, int]) -> dict[int, list[int]]:
        """Per count of people with activity bounds: the activity figures shown with it."""
        out: dict[int, list[int]] = {}
        for b in self.bounds:
            out.setdefault(where[b.people], []).extend(where[c] for c in b.row)
        return {k: sorted(set(v)) for k, v in out.items()}

    def _bound_matrix(
        self, where: dict[str, int], published: np.ndarray, hidden: np.ndarray
    ) -> sparse.csr_matrix:
        """The activity bounds as rows, ``rows @ x <= 0``: people - activity <= 0; activity -
        c * people <= 0, with c the published activity where all of it is published (so
        people >= 1 where it is not 0) and otherwise its published cap; a - b <= 0 for each
        ``at_most`` pair. The cells' positions are looked up once per ``where``
        (:class:`_BoundCells`): disclosure control builds these rows for every trial."""
        if self._bound_cells is None or self._bound_cells.where is not where:
            self._bound_cells = _BoundCells(self.bounds, self.at_most, where)
        return self._bound_cells.matrix(published, hidden)

    def matrix(self, where: dict[str, int]) -> sparse.csr_matrix:
        """The groups as rows of +1 (parts) and -1 (total): ``matrix @ values == 0``."""
        return self._matrix(*self._members(where), len(where))

    def _matrix(self, cells: np.ndarray, starts: np.ndarray, n: int) -> sparse.csr_matrix:
        rows = np.repeat(np.arange(len(self.groups)), np.diff(starts))
        vals = np.ones(len(cells))
        vals[starts[:-1]] = -1.0
        return sparse.csr_matrix((vals, (rows, cells)), shape=(len(self.groups), n))

    @staticmethod
    def problem(
        published: np.ndarray,
        hidden: np.ndarray,
        groups: sparse.csr_matrix,
        threshold: int,
        rounding: int,
        people: np.ndarray | None = None,
        bounds: sparse.csr_matrix | None = None,
        floor: np.ndarray | None = None,
        perturbation: int = 0,
    ) -> attack.Problem:
        """What an attacker knows of every cell, given what is published; the targets are
        the hidden counts of people (``people``: which cells are; default all), and every
        count of people when counts are perturbed (``perturbation``: the cell key's largest).
        ``floor``: the least value a reader knows a cell has (hidden cells too)."""
        lo, hi = knowledge(
            published,
            hidden,
            threshold,
            rounding,
            exact=None if people is None else ~people,
            perturbation=perturbation,
        )
        if floor is not None:
            lo = np.maximum(lo, floor)
        targets = hidden | (perturbation > 0)
        targets = targets.copy() if people is None else targets & people
        return attack.Problem(lo, hi, groups, targets, bounds)

    def _protector(
        self,
        cell: int,
        published: np.ndarray,
        hidden: np.ndarray,
        groups: sparse.csr_matrix,
        by_cell: sparse.csc_matrix,
        threshold: int,
        rounding: int,
        ids: list[str],
        max_tries: int,
        people: np.ndarray,
        where: dict[str, int],
        floor: np.ndarray,
    ) -> list[int]:
        """The cheapest published cells to suppress so that ``cell`` is safe from the attack:
        one cell sharing a group with it (smallest non-zero first), else such a cell and one
        of its own group partners (so it is not pinned down in turn); else the cheapest one.
        ``by_cell``: ``groups`` by column."""

        def partners(of: int, exclude: set[int]) -> list[int]:
            near: np.ndarray | list[int] = np.unique(groups[by_cell[:, of].indices].indices)
            near = [c for c in near if not hidden[c] and people[c] and c not in exclude]
            return sorted(near, key=lambda c: (published[c] == 0, published[c], ids[c]))

        def cost(picks: tuple[int, ...]) -> tuple:
            return (
                sum(published[c] == 0 for c in picks),
                sum(published[c] for c in picks),
                len(picks),
                [ids[c] for c in picks],
            )

        order = partners(cell, {cell})
        if not order:
            raise DisclosureError(f"disclosure control: cell {ids[cell]} cannot be protected")
        only = np.zeros(len(hidden), dtype=bool)
        only[cell] = True
        singles = [(c,) for c in order[:max_tries]]
        pairs = sorted(
            {tuple(sorted((c, d))) for c in order[:max_tries] for d in partners(c, {cell, c})[:3]},
            key=cost,
        )
        for picks in singles + pairs:
            trial = hidden.copy()
            trial[list(picks)] = True
            bounds = self._bound_matrix(where, published, trial)
            found = self._attack(
                (published, trial, groups, threshold, rounding, people, bounds, floor), cells=only
            )
            if not attack.exposed(found.low[[cell]], found.high[[cell]], threshold)[0]:
                return list(picks)
        return [order[0]]

    @staticmethod
    def _complement(
        cells: list[int],
        hidden: bytearray,
        value: list[int],
        ids: list[str],
        cost: list[float],
        group: int,
        groups_of: Callable[[int], list[int]],
        cells_of: Callable[[int], list[int]],
        in_group: list[int],
    ) -> int | None:
        """The published cell of a group (``cells``: its total first) whose hiding costs
        least, counting what it sets off: its own ``cost``, plus, in each other group of it
        with no cell hidden yet (``in_group``: hidden cells per group; such a group would
        then need a complement of its own), the cost of that group's cheapest other cell.
        Only the ``LOOKAHEAD`` cheapest non-zero parts are weighed so (the total, never
        smaller than a part and shown in its own table, only when no part is left); ties by
        id. A zero only when no cell is non-zero; None when every cell is hidden."""
        open_cells = [c for c in cells if not hidden[c]]
        if not open_cells:
            return None
        nonzero = [c for c in open_cells if value[c] > 0]
        total = cells[0]
        if not nonzero:
            return min(open_cells, key=lambda c: (c == total, ids[c]))

        def own(c: int) -> tuple[float, bool, str]:
            return (cost[c], c == total, ids[c])

        def knock_on(c: int) -> float:
            extra = 0.0
            for h in set(groups_of(c)) - {group}:
                if in_group[h]:
                    continue  # hiding c gives it a second hidden cell: nothing more
                rest = [cost[d] for d in cells_of(h) if d != c and value[d] > 0]
                extra += min(rest, default=0.0)
            return extra

        parts = [c for c in nonzero if c != total] or nonzero  # the total only when alone
        weighed = heapq.nsmallest(LOOKAHEAD, parts, key=own)
        return min(weighed, key=lambda c: (cost[c] + knock_on(c), *own(c)))

    def _members(self, where: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
        """Every group's cells (positions in ``where``), its total first, one after the other;
        and where each group starts (one more entry: the end)."""
        sizes = np.fromiter(
            (len(parts) + 1 for _, parts in self.groups), dtype=np.int64, count=len(self.groups)
        )
        starts = np.concatenate([[0], np.cumsum(sizes)])
        cells = np.fromiter(
            map(
                where.__getitem__,
                chain.from_iterable((total, *parts) for total, parts in self.groups),
            ),
            dtype=np.int64,
            count=starts[-1],
        )
        return cells, starts


class _BoundCells:
    """The positions of the activity bounds' cells in ``where``, as arrays, so that the rows
    of :meth:`CellTable._bound_matrix` are built without a loop over the bounds."""

    def __init__(
        self,
        bounds: list[ActivityBound],
        at_most: list[tuple[str, str]],
        where: dict[str, int],
    ) -> None:
        self.where = where
        self.people = np.fromiter((where[b.people] for b in bounds), dtype=np.int64)
        sizes = np.fromiter((len(b.activity) for b in bounds), dtype=np.int64)
        self.acts = np.fromiter(
            (where[a] for b in bounds for a in b.activity), dtype=np.int64, count=sizes.sum()
        )
        self.owner = np.repeat(np.arange(len(bounds)), sizes)  # the bound of each of acts
        self.sizes = sizes
        self.cap = np.fromiter((b.cap for b in bounds), dtype=float, count=len(bounds))
        self.small = np.fromiter((where[a] for a, _ in at_most), dtype=np.int64)
        self.big = np.fromiter((where[b] for _, b in at_most), dtype=np.int64)

    def matrix(self, published: np.ndarray, hidden: np.ndarray) -> sparse.csr_matrix:
        """The rows for these published values and hidden cells (see ``_bound_matrix``)."""
        n_b = len(self.people)
        some_hidden = (
            np.bincount(self.owner, weights=np.asarray(hidden)[self.acts], minlength=n_b) > 0
        )
        total = np.bincount(
            self.owner, weights=np.asarray(published, dtype=float)[self.acts], minlength=n_b
        )
        second = ~some_hidden | np.isfinite(self.cap)  # a row c * people >= activity too
        scale = np.where(some_hidden, np.maximum(self.cap, 1.0), np.maximum(total, 1.0))
        first = np.arange(n_b) + np.cumsum(second) - second  # each bound's first row
        n = n_b + int(second.sum())

        def rows(pick: np.ndarray, row: np.ndarray, lead: np.ndarray, rest: float):
            """The picked bounds' rows, ``row``: ``lead`` on the people cell, then ``rest`` on
            each activity cell (row numbers, columns, values)."""
            sizes = self.sizes[pick] + 1
            head = np.cumsum(sizes) - sizes
            col = np.empty(int(sizes.sum()), dtype=np.int64)
            col[head] = self.people[pick]
            body = np.ones(len(col), dtype=bool)
            body[head] = False
            col[body] = self.acts[np.repeat(pick, self.sizes)]
            val = np.full(len(col), rest)
            val[head] = lead
            return np.repeat(row, sizes), col, val

        every = np.ones(n_b, dtype=bool)
        r1, c1, v1 = rows(every, first, np.ones(n_b), -1.0)
        r2, c2, v2 = rows(second, first[second] + 1, -scale[second], 1.0)
        pairs = np.repeat(np.arange(len(self.small)) + n, 2)
        pair_cols = np.column_stack([self.small, self.big]).reshape(-1)
        r, c = [r1, r2, pairs], [c1, c2, pair_cols]
        v = [v1, v2, np.tile([1.0, -1.0], len(self.small))]
        return sparse.csr_matrix(
            (np.concatenate(v), (np.concatenate(r), np.concatenate(c))),
            shape=(n + len(self.small), len(self.where)),
        )


class _Closing:
    """The complements of blanked activity: in every group of activity cells (a site's
    quarters and year, the sites of an LA, the LAs of the area) with exactly one blanked cell,
    blank the smallest non-zero other, parts before the total; repeat until stable."""

    def __init__(
        self,
        cells: np.ndarray,
        starts: np.ndarray,
        activity: np.ndarray,
        value: np.ndarray,
        ids: list[str],
    ):
        self.groups = [
            cells[a:b].tolist()
            for a, b in pairwise(starts.tolist())
            if b > a and activity[cells[a]]
        ]
        self.value, self.ids = value, ids

    def close(self, hidden: np.ndarray) -> np.ndarray:
        """Blank the complements (in ``hidden``); returns which cells were blanked."""
        added = np.zeros(len(hidden), dtype=bool)
        changed = True
        while changed:
            changed = False
            for m in self.groups:
                if int(hidden[m].sum()) != 1:
                    continue
                open_cells = [c for c in m if not hidden[c]]
                if not open_cells:
                    continue
                nonzero = [c for c in open_cells if self.value[c] > 0]
                pick = min(
                    nonzero or open_cells,
                    key=lambda c: (c == m[0], self.value[c], self.ids[c]),
                )
                hidden[pick] = added[pick] = True
                changed = True
        return added


def _positions(ids: list[str]) -> dict[str, int]:
    """Each cell id's position."""
    return {c: i for i, c in enumerate(ids)}


def round_to(values: np.ndarray, base: int) -> np.ndarray:
    """Counts rounded half up to the nearest ``base`` (unchanged when base <= 1)."""
    values = np.asarray(values, dtype=np.int64)
    if base <= 1:
        return values.copy()
    return (values + base // 2) // base * base


def knowledge(
    published: np.ndarray,
    hidden: np.ndarray,
    threshold: int,
    rounding: int,
    exact: np.ndarray | None = None,
    perturbation: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """The interval an attacker knows each cell lies in: ``[v, v]`` when published exactly
    (always for ``exact`` cells: activity); within +-rounding//2 of a rounded value, and 0 or
    at least the threshold, since small counts are never published; ``[0, inf)`` when
    suppressed."""
    v = np.asarray(published, dtype=float)
    if perturbation:  # the cell key: the counts the ptable turns into the published value
        from .cell_key import possible

        lo, hi = possible(v)
        if exact is not None:
            lo, hi = np.where(exact, v, lo), np.where(exact, v, hi)
    elif rounding > 1:
        half = rounding // 2
        lo = np.where(v > 0, np.maximum(v - half, threshold), 0.0)
        hi = np.where(v > 0, v + half, 0.0)
        if exact is not None:
            lo, hi = np.where(exact, v, lo), np.where(exact, v, hi)
    else:
        lo, hi = v.copy(), v.copy()
    return np.where(hidden, 0.0, lo), np.where(hidden, np.inf, hi)


def protect(
    counts: Counts,
    threshold: int,
    rounding: int = 0,
    extra: Sequence[CellSet] = (),
    keys: CellKeys | None = None,
) -> Published:
    """Apply primary and attack-proof secondary suppression (or rounding) to every table;
    blank what derives from a suppressed count. With ``keys`` (the cell key of every count
    of people, :mod:`atlas.counting.cell_keys`), every count of people is perturbed instead
    (:mod:`atlas.disclosure.cell_key`) and none is suppressed unless the attack, knowing the
    activity published beside it, pins it down.

    ``extra``: further counts of individuals (the reports' cell sets), protected together
    with the spec tables; they come back in ``Published.extra`` by name."""
    cells = CellTable()
    ids = _register(cells, counts)
    _register_extra(cells, extra)
    perturbed = None if keys is None else _perturbed(cells, keys.by_id(counts))
    suppressed, primary, _ = cells.protect(threshold, rounding, perturbed=perturbed)
    attacked = cells.attacked
    assert attacked is not None  # set by cells.protect
    where = pd.Index(attacked.ids)

    def published(frame: pd.DataFrame, cell_ids: pd.Series) -> pd.DataFrame:
        pos = where.get_indexer(cell_ids)
        hidden = attacked.hidden[pos]
        out = frame.copy()
        out["individuals"] = (
            pd.Series(attacked.published[pos], index=frame.index).astype("Int64").mask(hidden)
        )
        out["suppressed"] = hidden
        return out

    msoa = () if counts.residence_msoa is None else (("residence_msoa", counts.residence_msoa),)
    tables = {
        name: published(frame, ids[name])
        for name, frame in (
            ("service_la", counts.service_la),
            ("residence_lsoa", counts.residence_lsoa),
            ("residence_la", counts.residence_la),
            ("site_activity", counts.site_activity),
            *msoa,
        )
    }
    tables["service_la"] = _with_rates(tables["service_la"])
    site_act = tables["site_activity"]
    for kind in ACTIVITY:  # activity blanked to protect its individuals
        pos = where.get_indexer(ids[f"site_activity:{kind}"])
        site_act[kind] = site_act[kind].astype("Int64").mask(attacked.hidden[pos])
    published_extra = {
        cell_set.name: published(cell_set.table, cell_set.table["cell_id"]) for cell_set in extra
    }
    return Published(
        **tables,
        threshold=threshold,
        primary=primary,
        secondary=len(suppressed - cells.activity) - primary,  # counts of people only
        extra=published_extra,
        rounding=rounding,
        attacked=cells.attacked,
        perturbation=cells.perturbation,
    )


@dataclass
class CellKeys:
    """The cell key of every count of people: per table of ``Counts`` (its rows' keys, in
    their order), and per cell set (cell id -> key)."""

    tables: dict[str, np.ndarray]
    sets: dict[str, dict[str, int]]

    def by_id(self, counts: Counts) -> dict[str, int]:
        """Every key by cell id (the ids ``_register`` gives the tables' rows)."""
        keyed = {
            name: getattr(counts, name).assign(individuals=key)
            for name, key in self.tables.items()
        }
        shadow = CellTable()
        fields = {**counts.__dict__, **keyed}
        _register(shadow, Counts(**fields))
        out = {c: v for c, v in shadow.values.items() if c not in shadow.activity}
        for got in self.sets.values():
            out.update(got)
        return out


def _perturbed(cells: CellTable, keys: dict[str, int]) -> dict[str, int]:
    """The published value of every count of people: perturbed by its cell key."""
    from .cell_key import perturb

    ids = [c for c in cells.values if c not in cells.activity]
    missing = [c for c in ids if c not in keys]
    if missing:
        raise ValueError(f"cell key: no key for cell(s) {', '.join(missing[:3])}")
    values = perturb(
        np.array([cells.values[c] for c in ids], dtype=np.int64),
        np.array([keys[c] for c in ids], dtype=np.int64),
    )
    return dict(zip(ids, values.tolist()))


def _register_extra(cells: CellTable, extra: Sequence[CellSet]) -> None:
    """Add the reports' cells and groups; a group may name cells of the spec tables (one cell
    published in two tables is one cell), but never a cell that does not exist."""
    for cell_set in extra:
        cells.add(cell_set.table["cell_id"], cell_set.table["individuals"])
        if not cell_set.people:
            cells.activity.update(cell_set.table["cell_id"])
        cells.bounds.extend(cell_set.bounds)
        cells.at_most.extend(cell_set.at_most)
        cells.floors.update(cell_set.floors)
        cells.residual.update(cell_set.residual)
    named = [(b.people, *b.activity, *b.row) for b in cells.bounds] + cells.at_most
    unknown = [c for c in chain.from_iterable(named) if c not in cells.values]
    if unknown:
        raise ValueError(f"activity bounds name unknown cell(s) {', '.join(unknown[:3])}")
    for cell_set in extra:
        for total, parts in cell_set.groups:
            unknown = [c for c in (total, *parts) if c not in cells.values]
            if unknown:
                raise ValueError(
                    f"report cells {cell_set.name!r}: group names unknown "
                    f"cell(s) {', '.join(unknown[:3])}"
                )
            cells.group(total, parts)


def _register(cells: CellTable, counts: Counts) -> dict[str, pd.Series]:
    """Name every cell, add it, and declare the additive groups between them."""

    def cell_ids(prefix: str, codes: pd.Series, cohort: pd.Series) -> pd.Series:
        return prefix + ":" + codes.astype(str) + ":" + cohort.astype(str)

    lsoa, la, svc, sites = (
        counts.residence_lsoa,
        counts.residence_la,
        counts.service_la,
        counts.site_activity,
    )
    ids = {
        "residence_lsoa": cell_ids("lsoa", lsoa["lsoa_code"], lsoa["cohort"]),
        # a TOTAL published in two tables is one cell: the same id in both
        "residence_la": cell_ids("la", la["la_code"], la["cohort"]).where(
            la["la_code"] != TOTAL, "total:" + la["cohort"].astype(str)
        ),
        "service_la": cell_ids("svc", svc["la_code"], svc["cohort"]).where(
            svc["la_code"] != TOTAL, "total:" + svc["cohort"].astype(str)
        ),
        "site_activity": "site:" + sites["site_code"].astype(str),
    }
    for name, frame in (
        ("residence_lsoa", lsoa),
        ("residence_la", la),
        ("service_la", svc),
        ("site_activity", sites),
    ):
        cells.add(ids[name], frame["individuals"])
    _register_site_activity(cells, sites, ids)
    # cohorts add to all, in every row of every area table
    for name, key in (
        ("residence_lsoa", "lsoa_code"),
        ("residence_la", "la_code"),
        ("service_la", "la_code"),
    ):
        _cohort_groups(cells, counts.__dict__[name].assign(id=ids[name].to_numpy()), key)
    # LSOAs (and "LSOA not known") add to their LA; LAs, OUTSIDE and UNKNOWN add to TOTAL
    lsoa_ids = lsoa.assign(id=ids["residence_lsoa"].to_numpy())
    la_ids = la.assign(id=ids["residence_la"].to_numpy()).set_index(["la_code", "cohort"])["id"]
    keys, parts = _parts_by(lsoa_ids, ["la_code", "cohort"])
    cells.groups.extend(zip(la_ids[pd.MultiIndex.from_frame(keys)].tolist(), parts))
    areas = la[la["la_code"] != TOTAL].assign(id=ids["residence_la"][la["la_code"] != TOTAL])
    keys, parts = _parts_by(areas, ["cohort"])
    cells.groups.extend(zip(("total:" + keys["cohort"].astype(str)).tolist(), parts))
    if counts.residence_msoa is not None:
        ids["residence_msoa"] = _register_msoa(
            cells, counts.residence_msoa, counts.msoa_of, lsoa_ids, la_ids
        )
    return ids


def _register_site_activity(
    cells: CellTable, sites: pd.DataFrame, ids: dict[str, pd.Series]
) -> None:
    """A site's activity in the year (``act:<kind>:<site>``) as cells, and what it tells of
    its individuals: at most its visits and interventions, at least 1 where there is one;
    returns at most visits."""
    codes = sites["site_code"].astype(str).tolist()
    for kind in ACTIVITY:
        ids[f"site_activity:{kind}"] = pd.Series(
            [activity_id(kind, c) for c in codes], index=sites.index
        )
        cells.add(ids[f"site_activity:{kind}"], sites[kind])
        cells.activity.update(ids[f"site_activity:{kind}"])
    for code in codes:
        row = tuple(activity_id(k, code) for k in ACTIVITY)
        cells.bounds.append(ActivityBound(f"site:{code}", (row[0], row[2]), np.inf, row))
        cells.at_most.append((row[1], row[0]))


def _cohort_groups(cells: CellTable, frame: pd.DataFrame, key: str) -> None:
    """One group per row (``key``) of an area table: its cohorts add to its ``all``."""
    wide = frame.pivot(index=key, columns="cohort", values="id").sort_index()
    missing = [c for c in (ALL, *COHORTS) if c not in wide]
    if missing or wide[[ALL, *COHORTS]].isna().to_numpy().any():
        raise KeyError(f"{key}: a row lacks one of the cohorts {ALL}, {', '.join(COHORTS)}")
    cells.groups.extend(
        zip(wide[ALL].tolist(), map(list, zip(*(wide[c].tolist() for c in COHORTS))))
    )


def _parts_by(frame: pd.DataFrame, keys: list[str]) -> tuple[pd.DataFrame, list[list[str]]]:
    """The distinct ``keys`` (sorted) and, for each, the sorted ``id`` of its rows."""
    ordered = frame.sort_values([*keys, "id"], kind="stable")
    k = ordered[keys].reset_index(drop=True)
    starts = np.flatnonzero(k.ne(k.shift()).any(axis=1).to_numpy())
    ids = ordered["id"].to_numpy(dtype=object)
    parts = [ids[a:b].tolist() for a, b in zip(starts, [*starts[1:], len(ids)])]
    return k.iloc[starts].reset_index(drop=True), parts


def _register_msoa(
    cells: CellTable,
    msoa: pd.DataFrame,
    links: pd.DataFrame,
    lsoa_ids: pd.DataFrame,
    la_ids: pd.Series,
) -> pd.Series:
    """MSOA cells: cohorts add to all; an MSOA's LSOAs add to it; an LA's MSOAs and its
    "LSOA not known" cell add to the LA (for LAs that no MSOA straddles)."""
    ids = "msoa:" + msoa["msoa_code"].astype(str) + ":" + msoa["cohort"].astype(str)
    cells.add(ids, msoa["individuals"])
    frame = msoa.assign(id=ids.to_numpy())
    _cohort_groups(cells, frame, "msoa_code")
    # the LSOAs of an MSOA add to it, cohort by cohort
    member = lsoa_ids.merge(links[["lsoa_code", "msoa_code"]], on="lsoa_code")
    member = member.assign(total="msoa:" + member["msoa_code"] + ":" + member["cohort"])
    keys, parts = _parts_by(member, ["total"])
    cells.groups.extend(zip(keys["total"].tolist(), parts))
    # the MSOAs of an LA and its "LSOA not known" cell add to the LA
    straddled = set(links.loc[links["msoa_la_code"] == "", "la_code"])
    unknown = lsoa_ids[lsoa_ids["lsoa_code"].str.endswith("-UNKNOWN")]
    parts = pd.concat([frame[["la_code", "cohort", "id"]], unknown[["la_code", "cohort", "id"]]])
    parts = parts[(parts["la_code"] != "") & ~parts["la_code"].isin(straddled)]
    keys, parts = _parts_by(parts, ["la_code", "cohort"])
    cells.groups.extend(zip(la_ids[pd.MultiIndex.from_frame(keys)].tolist(), parts))
    return ids


def _with_rates(table: pd.DataFrame) -> pd.DataFrame:
    """Rate per 1,000 and its interval, one decimal; blank wherever the count is suppressed."""
    rates = rate_per_1000(table["individuals"].astype(float), table["population"])
    for col in rates:
        table[col] = format_fixed(rates[col], 1).where(~table["suppressed"], "")
    return table


def safe_share(part: pd.Series, whole: pd.Series, threshold: int) -> pd.Series:
    """A percentage of individuals, published only when neither the part nor the rest is a
    small count (so the suppressed count cannot be worked back from it); NaN otherwise."""
    rest = whole - part
    small = lambda s: (s > 0) & (s < threshold)  # noqa: E731
    ok = (whole > 0) & ~small(part) & ~small(rest) & ~small(whole)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (100 * part / whole).where(ok)
