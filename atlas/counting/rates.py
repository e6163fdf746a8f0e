"""Rates per 1,000 with 95% confidence intervals, and rounding as published tables do.

Confidence intervals follow Public Health England's indicator methods: the exact Poisson
interval (from the chi-squared distribution) for counts under 10, Byar's approximation from
10; Wilson's score interval for proportions.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
from scipy.special import gammaincinv

Z95 = 1.959963984540054


def poisson_ci(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """95% interval for Poisson counts: exact under 10, Byar's method from 10."""
    o = np.asarray(counts, dtype=float)
    # chi2.ppf(q, 2k) / 2 is gammaincinv(k, q) (how scipy computes it); scipy.stats itself is
    # slow to import.
    with np.errstate(invalid="ignore"):
        exact_lo = np.where(o > 0, gammaincinv(o, 0.025), 0.0)
    exact_hi = gammaincinv(o + 1, 0.975)
    with np.errstate(divide="ignore", invalid="ignore"):
        byar_lo = o * (1 - 1 / (9 * o) - Z95 / (3 * np.sqrt(o))) ** 3
    byar_hi = (o + 1) * (1 - 1 / (9 * (o + 1)) + Z95 / (3 * np.sqrt(o + 1))) ** 3
    small = o < 10
    return np.where(small, exact_lo, byar_lo), np.where(small, exact_hi, byar_hi)


def rate_per_1000(counts: pd.Series, population: pd.Series) -> pd.DataFrame:
    """Rate per 1,000 and its 95% interval, unrounded; NaN where the count or population is."""
    counts = counts.astype(float)
    pop = population.astype(float).where(population.astype(float) > 0)
    lo, hi = poisson_ci(counts.fillna(0).to_numpy())
    out = pd.DataFrame(
        {
            "rate_per_1000": counts / pop * 1000,
            "rate_lower": lo / pop * 1000,
            "rate_upper": hi / pop * 1000,
        },
        index=counts.index,
    )
    return out.where(counts.notna(), np.nan)


def wilson_ci(successes: np.ndarray, totals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """95% Wilson score interval for proportions (0..1)."""
    x = np.asarray(successes, dtype=float)
    n = np.asarray(totals, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        centre = p + Z95**2 / (2 * n)
        half = Z95 * np.sqrt(p * (1 - p) / n + Z95**2 / (4 * n**2))
        denom = 1 + Z95**2 / n
        return (centre - half) / denom, (centre + half) / denom


def round_half_up(values: pd.Series, places: int = 1) -> pd.Series:
    """Round as published tables do (2.25 -> 2.3), immune to binary floating-point error.

    Exactly :func:`half_up` of every value: vectorised where the value is clearly on one side
    of a tie (``floor(x * 10**places + 0.5)``, then the nearest float to that many tenths, as
    the decimal arithmetic gives), in decimal arithmetic near a tie or beyond the plain range."""
    if values.empty or not 0 <= places <= 3:
        return values.map(lambda v: half_up(v, places))
    v = values.to_numpy(dtype=float, na_value=np.nan)
    scale = 10.0**places
    with np.errstate(invalid="ignore", over="ignore"):
        x = v * scale
        out = np.floor(x + 0.5) / scale
        # half_up first rounds to 9 decimals: within 1e-6 (in units of the last place) of a
        # tie, that or binary error could tip the result
        exact = ~np.isnan(v) & ~((np.abs(v) < 1e6) & (np.abs(x - np.floor(x) - 0.5) > 1e-6))
    out = np.where(out == 0, np.copysign(0.0, v), out)  # half_up keeps the sign of zero
    if exact.any():
        out[exact] = [_decimal_half_up(u, places) for u in v[exact].tolist()]
    return pd.Series(out, index=values.index, name=values.name)


def half_up(value: float | None, places: int = 1) -> float:
    """One value rounded as :func:`round_half_up` does (NaN stays NaN): the value rounded to 9
    decimals, then half up in decimal arithmetic. A value clearly on one side of a tie is
    rounded directly (the same result, far faster)."""
    if value is None or pd.isna(value):
        return np.nan
    v = float(value)
    if 0 <= places <= 3 and abs(v) < 1e6:
        scale = 10.0**places
        x = v * scale
        if abs(x - math.floor(x) - 0.5) > 1e-6:
            out = math.floor(x + 0.5) / scale
            return out if out else math.copysign(0.0, v)
    return _decimal_half_up(v, places)


def _decimal_half_up(v: float, places: int) -> float:
    return float(
        Decimal(repr(round(v, 9))).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    )


def format_fixed(values: pd.Series, places: int = 1) -> pd.Series:
    """Half-up rounded values as text with a fixed number of decimals; blank for NaN."""
    rounded = round_half_up(values, places)
    return rounded.map(lambda v: "" if pd.isna(v) else f"{v:.{places}f}")
