"""Rates by IMD decile and the Slope Index of Inequality (``counting.inequality``): hand-made
deciles with hand-computed rates and SII, the SII against a direct weighted least squares in
numpy, the simulated interval, and when each figure is withheld."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

from atlas.counting.inequality import (
    REPETITIONS,
    WHY_DECILES,
    WHY_SUPPRESSED,
    WHY_ZERO,
    decile_table,
    sii,
    sii_interval,
    sii_table,
)


def _cells(counts: list[int | None], populations: list[float], la: str = "TOTAL") -> pd.DataFrame:
    """One cohort's published cells by decile (None: suppressed); the other cohorts 0s."""
    rows = []
    for d, (n, pop) in enumerate(zip(counts, populations), start=1):
        for cohort in ("all", "pwid_psychoactive", "pwid_ipeds", "bi"):
            value = n if cohort == "all" else 0
            rows.append((la, str(d), cohort, pop, value, value is None))
    frame = pd.DataFrame(
        rows, columns=["la_code", "decile", "cohort", "population", "individuals", "suppressed"]
    )
    frame["individuals"] = frame["individuals"].astype("Int64")
    return frame


def _wls_slope(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Weighted least squares slope of y on x (weights w), written out."""
    xm, ym = np.average(x, weights=w), np.average(y, weights=w)
    return float(np.sum(w * (x - xm) * (y - ym)) / np.sum(w * (x - xm) ** 2))


def test_equal_populations_and_a_straight_line_by_hand():
    # each decile 1,000 people; rate per 1,000 = 10 - decile (9 in decile 1 .. 0 in 10):
    # relative ranks b = (d - 0.5) / 10, so rate = 9.5 - 10 b: the SII is -10 exactly
    pops = np.full(10, 1000.0)
    rate = 10.0 - np.arange(1, 11)
    assert sii(pops, rate) == pytest.approx(-10.0, abs=1e-12)


def test_the_sii_is_the_weighted_regression_on_the_cumulative_midpoint_rank():
    pops = np.array([1200, 800, 1500, 1000, 900, 1100, 700, 1300, 1000, 500], dtype=float)
    counts = np.array([30, 18, 25, 14, 12, 11, 6, 9, 7, 2], dtype=float)
    rate = counts / pops * 1000
    a = pops / pops.sum()
    b = np.cumsum(a) - a / 2
    assert b[0] == pytest.approx(0.06 / 1)  # 1,200 of 10,000: its midpoint is 0.06
    assert sii(pops, rate) == pytest.approx(_wls_slope(b, rate, a), rel=1e-12)
    assert sii(pops, rate) < 0  # higher where more deprived


def test_rates_by_decile_with_the_drops_interval_method():
    table = decile_table(
        _cells([6, 10, None, 0, 40, 5, 5, 5, 5, 5], [1000.0, 2000.0] + [1000.0] * 8)
    )
    alls = table[table["cohort"] == "all"].set_index("decile")
    # 6 of 1,000: 6.0 per 1,000; exact Poisson under 10
    lo, hi = chi2.ppf(0.025, 12) / 2, chi2.ppf(0.975, 14) / 2
    assert alls.loc["1", ["rate_per_1000", "rate_lower", "rate_upper"]].tolist() == [
        "6.0",
        f"{lo:.1f}",
        f"{hi:.1f}",
    ]
    assert (lo, hi) == pytest.approx((2.2019, 13.0594), abs=1e-4)
    # 10 of 2,000: 5.0; Byar's method from 10
    byar_lo = 10 * (1 - 1 / 90 - 1.959964 / (3 * np.sqrt(10))) ** 3 / 2
    byar_hi = 11 * (1 - 1 / 99 + 1.959964 / (3 * np.sqrt(11))) ** 3 / 2
    assert alls.loc["2", "rate_per_1000"] == "5.0"
    assert alls.loc["2", "rate_lower"] == f"{byar_lo:.1f}" == "2.4"
    assert alls.loc["2", "rate_upper"] == f"{byar_hi:.1f}" == "9.2"
    # a suppressed count: no rate, no interval
    assert alls.loc["3", ["individuals", "rate_per_1000", "rate_lower", "rate_upper"]].tolist()[
        1:
    ] == ["", "", ""]
    assert pd.isna(alls.loc["3", "individuals"])
    assert alls.loc["4", "rate_per_1000"] == "0.0"


def test_the_sii_table_and_when_it_is_withheld():
    pops = [1000.0] * 10
    full = sii_table(_cells([9, 8, 7, 6, 5, 5, 6, 7, 8, 9], pops))
    row = full[full["cohort"] == "all"].iloc[0]
    rate = np.array([9, 8, 7, 6, 5, 5, 6, 7, 8, 9], dtype=float)
    assert row["sii"] == round(sii(np.array(pops), rate), 2)
    assert row["sii_lower"] < row["sii"] < row["sii_upper"]
    assert row["sii_note"] == ""
    # the other cohorts are all 0: an SII of 0 without an interval (log scale)
    zero = full[full["cohort"] == "bi"].iloc[0]
    assert zero["sii"] == 0 and np.isnan(zero["sii_lower"]) and zero["sii_note"] == WHY_ZERO
    # one decile suppressed: no SII (it would give the count back)
    one = sii_table(_cells([9, 8, None, 6, 5, 5, 6, 7, 8, 9], pops))
    row = one[one["cohort"] == "all"].iloc[0]
    assert np.isnan(row["sii"]) and np.isnan(row["sii_upper"])
    assert row["sii_note"] == WHY_SUPPRESSED
    # a decile with no residents in the area: no SII
    nine = sii_table(_cells([9, 8, 7, 6, 5, 5, 6, 7, 8], pops[:9]))
    assert nine.loc[nine["cohort"] == "all", "sii_note"].item() == WHY_DECILES


def test_the_interval_is_phes_simulation_reproducible_and_sensible():
    pops = np.full(10, 10_000.0)
    counts = np.array([300, 260, 240, 200, 180, 160, 140, 120, 100, 80], dtype=float)
    rate = counts / pops * 1000
    lo = rate * 0 + np.array([chi2.ppf(0.025, 2 * c) / 2 for c in counts]) / pops * 1000
    hi = np.array([chi2.ppf(0.975, 2 * c + 2) / 2 for c in counts]) / pops * 1000
    first = sii_interval(pops, rate, lo, hi)
    assert first == sii_interval(pops, rate, lo, hi)  # fixed seed
    point = sii(pops, rate)
    assert first[0] < point < first[1]
    # on the log scale the simulated SII's spread is close to the delta-method one
    a = pops / pops.sum()
    b = np.cumsum(a) - a / 2
    weights = a * (b - np.average(b, weights=a)) / np.sum(a * (b - np.average(b, weights=a)) ** 2)
    se = (np.log(hi) - np.log(lo)) / (2 * 1.959964) * rate
    half = 1.959964 * np.sqrt(np.sum((weights * se) ** 2))
    assert (first[1] - first[0]) / 2 == pytest.approx(half, rel=0.03)
    assert REPETITIONS == 100_000
