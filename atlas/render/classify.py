"""Class breaks for the choropleths: the recipe's scheme (``atlas.classification``) first, and
every scheme for the page, where the reader can switch between them.

Each scheme is a small class with one method. Fisher–Jenks is computed exactly on the distinct
values weighted by how often each occurs: published counts and one-decimal rates repeat a lot,
so this is the same optimum as mapclassify's FisherJenks at a fraction of the cost (mapclassify
runs it in pure Python without numba: seconds per layer at Cheshire & Merseyside size).
Quantiles and equal intervals are mapclassify's definitions written in numpy (the tests compare
them with mapclassify): importing mapclassify takes seconds, as long as a whole IMS-sized build.

With few areas (``separated_breaks``, the local authority level) the classes must not mislead:
two areas whose 95% intervals overlap are never put more than one class apart. The scheme's
classes are kept when they obey that; otherwise the number of classes is lowered until they do
(two classes always do).
"""

from __future__ import annotations

import numpy as np

K = 5


class Scheme:
    """A class-break scheme: ``bins`` gives the upper bound of each class."""

    label = ""

    def bins(self, values: np.ndarray, k: int) -> list[float]:
        raise NotImplementedError


class FisherJenks(Scheme):
    label = "Fisher–Jenks natural breaks"

    def bins(self, values: np.ndarray, k: int) -> list[float]:
        v, w = np.unique(values, return_counts=True)
        return [float(b) for b in jenks_weighted(v, w.astype(float), k)]


class Quantiles(Scheme):
    label = "quantiles"

    def bins(self, values: np.ndarray, k: int) -> list[float]:
        # mapclassify.classifiers.quantile: the k percentiles, ties collapsed
        w = 100.0 / k
        p = np.arange(w, 100 + w, w)
        if p[-1] > 100.0:
            p[-1] = 100.0
        return [float(b) for b in np.unique(np.percentile(values, p))]


class EqualInterval(Scheme):
    label = "equal intervals"

    def bins(self, values: np.ndarray, k: int) -> list[float]:
        # mapclassify.EqualInterval: k classes of equal width from the least value to the most
        lo, hi = float(np.min(values)), float(np.max(values))
        width = (hi - lo) / k
        cuts = np.arange(lo + width, hi + width, width)[:k]
        cuts[-1] = hi
        return [float(b) for b in cuts]


SCHEMES: dict[str, Scheme] = {
    "fisher_jenks": FisherJenks(),
    "quantiles": Quantiles(),
    "equal_interval": EqualInterval(),
}


def class_breaks(values: np.ndarray, scheme: str, k: int = K) -> list[float]:
    """Upper bounds of up to k classes of the non-missing, non-zero values."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    distinct = len(np.unique(v))
    if distinct <= 1:
        return [float(v.max())] if len(v) else []
    return SCHEMES[scheme].bins(v, min(k, distinct))


def separated_breaks(
    values: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    scheme: str,
    k: int = K,
) -> list[float]:
    """:func:`class_breaks` for few areas: the most classes (up to k) of the scheme under which
    no two areas whose intervals ``[lower, upper]`` overlap lie more than one class apart.
    Missing values, and 0 (drawn white, outside the classes), are left out."""
    v = np.asarray(values, dtype=float)
    lo, hi = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    keep = np.isfinite(v) & (v > 0)
    v, lo, hi = v[keep], lo[keep], hi[keep]
    lo, hi = np.where(np.isfinite(lo), lo, v), np.where(np.isfinite(hi), hi, v)
    overlap = (lo[:, None] <= hi[None, :]) & (lo[None, :] <= hi[:, None])
    for n in range(k, 0, -1):
        bounds = class_breaks(v, scheme, n)
        if len(bounds) <= 2:
            return bounds
        cls = np.searchsorted(np.asarray(bounds), v, side="left")
        if not (overlap & (np.abs(cls[:, None] - cls[None, :]) > 1)).any():
            return bounds
    return class_breaks(v, scheme, 1)


def shown_breaks(bounds: list[float], step: float) -> list[float]:
    """Class bounds as the legend prints them: down to the published precision ``step`` (1 for
    counts, 0.1 for rates), which classes the published values the same way, ties merged."""
    out: list[float] = []
    for b in bounds:
        b = float(np.floor(b / step + 1e-6) * step)  # 3.2999999 is 3.3
        b = round(b, 1) if step < 1 else b
        if not out or b > out[-1]:
            out.append(b)
    return out


def jenks_weighted(v: np.ndarray, w: np.ndarray, k: int, block: int = 512) -> np.ndarray:
    """Fisher's exact optimal k-class partition of sorted distinct values ``v`` with weights
    ``w`` (least weighted within-class squared deviation); returns the classes' upper bounds."""
    n = len(v)
    if k >= n:
        return v.copy()
    W = np.concatenate([[0.0], np.cumsum(w)])
    S1 = np.concatenate([[0.0], np.cumsum(w * v)])
    S2 = np.concatenate([[0.0], np.cumsum(w * v * v)])

    def cost(i: np.ndarray, j: np.ndarray) -> np.ndarray:  # classes v[i..j] inclusive
        ww = W[j + 1] - W[i]
        with np.errstate(divide="ignore", invalid="ignore"):
            return (S2[j + 1] - S2[i]) - (S1[j + 1] - S1[i]) ** 2 / ww

    idx = np.arange(n)
    best = cost(np.zeros(n, dtype=int), idx)  # one class ending at j
    starts = np.zeros((k, n), dtype=int)
    for c in range(1, k):
        new = np.full(n, np.inf)
        for lo in range(0, n, block):
            j = idx[lo : lo + block]
            i = idx[:, None]  # start of the last class
            total = np.where(
                (i >= c) & (i <= j[None, :]),
                best[np.maximum(i - 1, 0)] + cost(i, j[None, :]),
                np.inf,
            )
            arg = np.argmin(total, axis=0)
            new[lo : lo + block] = total[arg, np.arange(len(j))]
            starts[c, lo : lo + block] = arg
        best = new
    bounds, end = [], n - 1
    for c in range(k - 1, -1, -1):
        bounds.append(v[end])
        end = starts[c, end] - 1
    return np.array(bounds[::-1])
