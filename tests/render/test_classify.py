"""Class breaks (issue 17, item 5): quantiles and equal intervals as mapclassify defines them,
classes with few areas that never set overlapping intervals far apart, and bounds shown at the
published precision."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from atlas.render.classify import class_breaks, separated_breaks, shown_breaks


@pytest.mark.parametrize(
    "values",
    [
        np.arange(1, 101, dtype=float),
        np.array([5, 5, 5, 6, 7, 7, 9, 12, 12, 12, 40, 41], dtype=float),
        np.round(np.random.default_rng(17).gamma(2.0, 3.0, 500), 1),
        np.array([3.3, 3.3, 3.3, 3.3, 8.1]),  # ties: quantiles collapse
    ],
)
@pytest.mark.parametrize("k", [2, 3, 5])
def test_quantiles_and_equal_intervals_are_mapclassifys(values, k):
    import mapclassify  # slow to import: only here, never in a build

    k = min(k, len(np.unique(values)))  # never more classes than values (as before)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want_q = [float(b) for b in mapclassify.Quantiles(values, k=k).bins]
    want_e = [float(b) for b in mapclassify.EqualInterval(values, k=k).bins]
    assert class_breaks(values, "quantiles", k) == pytest.approx(want_q, abs=1e-12)
    assert class_breaks(values, "equal_interval", k) == pytest.approx(want_e, abs=1e-12)


def _classes(values, bounds):
    return np.searchsorted(np.asarray(bounds), values, side="left")


def test_the_issues_nine_authorities_get_fewer_classes_not_misleading_ones():
    """Issue 17: Fisher-Jenks puts 4.0 two classes below 4.3 and 4.4 although their intervals
    overlap; one class fewer keeps every overlapping pair in the same or adjacent classes."""
    rates = np.array([2.1, 2.2, 3.0, 3.9, 4.0, 4.1, 4.2, 4.3, 4.4])
    lower, upper = rates - 0.3, rates + 0.3
    five = class_breaks(rates, "fisher_jenks")
    assert five == [2.2, 3.0, 4.0, 4.2, 4.4]
    assert _classes(np.array([4.0, 4.3]), five).tolist() == [2, 4]  # overlapping, 2 apart
    bounds = separated_breaks(rates, lower, upper, "fisher_jenks")
    assert bounds == [2.2, 3.0, 4.1, 4.4]
    cls = _classes(rates, bounds)
    overlap = (lower[:, None] <= upper[None, :]) & (lower[None, :] <= upper[:, None])
    assert (np.abs(cls[:, None] - cls[None, :])[overlap] <= 1).all()


@pytest.mark.parametrize("scheme", ["fisher_jenks", "quantiles", "equal_interval"])
def test_separated_classes_keep_the_schemes_own_when_intervals_allow(scheme):
    rates = np.array([2.1, 2.2, 3.0, 3.9, 4.0, 4.1, 4.2, 4.3, 4.4, np.nan, 0.0])
    narrow = separated_breaks(rates, rates - 0.01, rates + 0.01, scheme)
    assert narrow == class_breaks(rates, scheme)  # no interval overlaps another: unchanged
    # intervals so wide that they all overlap: two classes, which are always adjacent
    wide = separated_breaks(rates, rates - 5, rates + 5, scheme)
    assert len(wide) == 2 and wide[-1] == 4.4


def test_bounds_are_shown_at_the_published_precision_and_class_values_alike():
    assert shown_breaks([7.5, 12.25, 40.0], 1.0) == [7.0, 12.0, 40.0]
    assert shown_breaks([3.2999999999, 4.35, 4.36, 9.1], 0.1) == [3.3, 4.3, 9.1]
    counts = np.arange(5, 41, dtype=float)
    raw = class_breaks(counts, "equal_interval")
    shown = shown_breaks(raw, 1.0)
    assert _classes(counts, raw).tolist() == _classes(counts, shown).tolist()
