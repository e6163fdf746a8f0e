"""``round_half_up`` (vectorised) and ``half_up`` round every value exactly as the decimal
arithmetic they stand for does."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas.counting.rates import half_up, round_half_up


def reference(value: float, places: int) -> float:
    """Half up in decimal arithmetic, after rounding to 9 decimals (the rule as first written)."""
    if math.isnan(value):
        return math.nan
    return float(
        Decimal(repr(round(float(value), 9))).quantize(
            Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP
        )
    )


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or (
        a == b and math.copysign(1, a) == math.copysign(1, b)
    )


TIES = [k / 20 for k in range(-400, 400)] + [
    2.675,
    1.005,
    0.045,
    24.25,
    1e6 + 0.25,
    -0.04,
    -0.0,
    0.0,
    1e-12,
    -1e-12,
    0.049999999999,
    0.0500000001,
    123456.75,
    7e5 + 0.05,
]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(min_value=-1e7, max_value=1e7),
            st.just(math.nan),
            st.sampled_from(TIES),
            st.integers(-(10**6), 10**6).map(lambda k: k / 1000),
            st.integers(1, 5000).flatmap(
                lambda n: st.integers(0, 10 * n).map(lambda k: 1000 * k / n)
            ),
        ),
        max_size=40,
    ),
    st.sampled_from([0, 1, 2, 3]),
)
def test_round_half_up_is_half_up_of_every_value(values, places):
    got = round_half_up(pd.Series(values, dtype=float), places).tolist()
    assert all(_same(g, reference(v, places)) for g, v in zip(got, values))
    assert all(_same(half_up(v, places), reference(v, places)) for v in values)


def test_round_half_up_keeps_the_index_name_and_reads_nullable_values():
    s = pd.Series([0.25, pd.NA, 2.675], dtype="Float64", index=[4, 2, 9], name="r")
    out = round_half_up(s, 1)
    assert out.name == "r" and list(out.index) == [4, 2, 9] and out.dtype == np.float64
    assert out.tolist()[0] == 0.3 and math.isnan(out.tolist()[1]) and out.tolist()[2] == 2.7
