"""Rates by IMD decile and the Slope Index of Inequality (SII), as PHE computes them.

Everything here is a function of *published* counts (after disclosure control: suppressed,
rounded or perturbed) and public populations, so that it adds no relation among the true
counts: anyone can recompute it from the published table, and the audit does.

- **Rate per 1,000** by decile, with its 95% interval by the method of the drop's other rates
  (:func:`rates.rate_per_1000`: exact Poisson under 10, Byar's from 10).
- **SII** (PHE, *Technical Guide: Confidence intervals*; Fingertips; ``phe_sii`` of
  PHEindicatormethods; Low & Low 2004): deciles ordered from 1 (most deprived) to 10; each
  gets the proportion ``a`` of the area's population in it and the relative rank ``b`` of the
  midpoint of its range in the cumulative population (``cumsum(a) - a/2``); the regression
  ``rate * sqrt(a) ~ sqrt(a) + b * sqrt(a)`` without intercept (weighted least squares of the
  rate on ``b``, weights ``a``) gives the SII as the coefficient of ``b * sqrt(a)``: the
  fitted rate at the least deprived end (b = 1) minus the fitted rate at the most deprived end
  (b = 0). Negative: the rate is higher where deprivation is greater.
- **Its 95% interval** by simulation, as ``phe_sii`` does for rates: each decile's rate is
  drawn ``REPETITIONS`` (100,000) times from a normal distribution on the log scale, mean
  ``log(rate)`` and standard error ``(log(upper) - log(lower)) / (2 * 1.96)``; the SII of
  each draw (the same regression) gives the 2.5th and 97.5th percentiles. The generator is
  numpy's PCG64 seeded by ``SII_SEED``: the same draws serve every area and cohort (made once),
  so the same inputs give the same bytes.

The SII is published only where every decile 1..10 has residents (population) in the area and
no decile's count is suppressed: an SII over a suppressed count, with the others published,
would give it back (the SII is linear in the counts). Its interval needs every count above 0
(the log scale). Where it is not published, ``sii_note`` says why.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from .deprivation import DECILES
from .individuals import COHORT_ORDER
from .rates import Z95, format_fixed, rate_per_1000, round_half_up

SII_SEED = 20190926  # the IoD 2019's publication date: any fixed number would do
REPETITIONS = 100_000  # as PHE's phe_sii
SII_PLACES = 2  # the SII is a difference of rates per 1,000: two decimals

RATE_COLUMNS = ("rate_per_1000", "rate_lower", "rate_upper")
SII_COLUMNS = ("sii", "sii_lower", "sii_upper", "sii_note")

WHY_SUPPRESSED = "not published: a decile's count is suppressed"
WHY_DECILES = "not published: not every decile 1 to 10 has residents in the area"
WHY_POPULATION = "not published: no population for every decile"
WHY_ZERO = "interval not published: a decile has no individuals"


def sii(population: np.ndarray, rate: np.ndarray) -> float:
    """The SII of rates by decile (ordered most deprived first) with these populations."""
    sqrt_a, design = _design(population)
    beta, *_ = np.linalg.lstsq(design, rate * sqrt_a, rcond=None)
    return float(beta[1])


def _design(population: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(population, dtype=float) / float(np.sum(population))
    b = np.cumsum(a) - a / 2
    sqrt_a = np.sqrt(a)
    return sqrt_a, np.column_stack([sqrt_a, b * sqrt_a])


def sii_interval(
    population: np.ndarray, rate: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> tuple[float, float]:
    """The 95% interval of the SII by PHE's simulation (log-normal rates): the same
    ``REPETITIONS`` standard normal draws per decile (:func:`_draws`) for every area and
    cohort, so that the result is reproducible and the draws are made once."""
    sqrt_a, design = _design(population)
    weights = np.linalg.pinv(design)[1] * sqrt_a  # the SII is weights @ rates
    se = (np.log(upper) - np.log(lower)) / (2 * Z95)
    # single precision: half the memory traffic of the 10 x 100,000 draws, far finer than
    # the two decimals published; each decile's draws contiguous, summed in double precision
    # one decile at a time (a BLAS product of this shape is several times slower)
    sims = _draws(len(rate)) * se.astype(np.float32)[:, None]
    sims += np.log(rate).astype(np.float32)[:, None]
    np.exp(sims, out=sims)
    total = np.zeros(REPETITIONS)
    for w, row in zip(weights.tolist(), sims):
        total += w * row
    lo, hi = np.quantile(total, [0.025, 0.975])
    return float(lo), float(hi)


@functools.cache
def _draws(deciles: int) -> np.ndarray:
    """``deciles`` x ``REPETITIONS`` standard normal draws (single precision) of numpy's
    PCG64 seeded by ``SII_SEED`` (read-only: each use scales a copy)."""
    rng = np.random.default_rng(SII_SEED)
    out = rng.standard_normal((deciles, REPETITIONS), dtype=np.float32)
    out.flags.writeable = False
    return out


def decile_table(cells: pd.DataFrame) -> pd.DataFrame:
    """The published table by decile: each row of the protected cells (``la_code``,
    ``decile``, ``cohort``, ``population``, ``individuals`` (NA: suppressed), ``suppressed``)
    with its rate per 1,000 and interval, one decimal, blank beside a suppressed count."""
    out = cells[["la_code", "decile", "cohort", "population", "individuals", "suppressed"]].copy()
    out["population"] = pd.to_numeric(out["population"]).round().astype("Int64")
    rates = rate_per_1000(out["individuals"].astype(float), out["population"].astype(float))
    for col in RATE_COLUMNS:
        out[col] = format_fixed(rates[col], 1).where(~out["suppressed"].astype(bool), "")
    return out.reset_index(drop=True)


def sii_table(cells: pd.DataFrame) -> pd.DataFrame:
    """The SII and its interval per area (``la_code``) and cohort, from the published cells
    (:func:`decile_table`'s input), with ``sii_note`` saying why one is not published."""
    rows = []
    for la, part in cells.groupby("la_code", sort=False):
        for cohort in COHORT_ORDER:
            one = part[part["cohort"] == cohort]
            rows.append((la, cohort, *_sii_row(one)))
    out = pd.DataFrame(rows, columns=["la_code", "cohort", *SII_COLUMNS])
    for col in SII_COLUMNS[:3]:
        out[col] = round_half_up(out[col].astype(float), SII_PLACES)
    return out


def _sii_row(one: pd.DataFrame) -> tuple[float, float, float, str]:
    nan = float("nan")
    decile = one["decile"].astype(int).to_numpy()
    if sorted(decile.tolist()) != list(DECILES):
        return nan, nan, nan, WHY_DECILES
    one = one.iloc[np.argsort(decile)]
    population = pd.to_numeric(one["population"]).to_numpy(dtype=float)
    if np.isnan(population).any() or (population <= 0).any():
        return nan, nan, nan, WHY_POPULATION
    if one["suppressed"].astype(bool).any() or one["individuals"].isna().any():
        return nan, nan, nan, WHY_SUPPRESSED
    n = one["individuals"].astype(float).to_numpy()
    return _sii_of(tuple(population.tolist()), tuple(n.tolist()))


@functools.lru_cache(maxsize=4096)
def _sii_of(
    population: tuple[float, ...], counts: tuple[float, ...]
) -> tuple[float, float, float, str]:
    """The SII, its interval and note of counts by decile (most deprived first), once per
    distinct input: the build's audit recomputes every SII the build published, from the same
    published counts, and the simulation is the costly part."""
    nan = float("nan")
    pops, n = np.asarray(population), np.asarray(counts)
    rates = rate_per_1000(pd.Series(n), pd.Series(pops))
    rate = rates["rate_per_1000"].to_numpy()
    value = sii(pops, rate)
    if (n <= 0).any():
        return value, nan, nan, WHY_ZERO
    lo, hi = sii_interval(
        pops, rate, rates["rate_lower"].to_numpy(), rates["rate_upper"].to_numpy()
    )
    return value, lo, hi, ""
