"""Class breaks for the choropleths, picked by name from the recipe (``atlas.classification``).

Each scheme is a small class with one method. Fisher–Jenks is computed exactly on the distinct
values weighted by how often each occurs: published counts and one-decimal rates repeat a lot,
so this is the same optimum as mapclassify's FisherJenks at a fraction of the cost (mapclassify
runs it in pure Python without numba: seconds per layer at Cheshire & Merseyside size).
"""

from __future__ import annotations

import warnings

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
        import mapclassify  # slow to import (scikit-learn): only when the recipe picks it

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return [float(b) for b in np.unique(mapclassify.Quantiles(values, k=k).bins)]


class EqualInterval(Scheme):
    label = "equal intervals"

    def bins(self, values: np.ndarray, k: int) -> list[float]:
        import mapclassify

        return [float(b) for b in mapclassify.EqualInterval(values, k=k).bins]


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
