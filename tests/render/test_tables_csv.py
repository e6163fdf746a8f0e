"""CSV bytes built column-wise are those pandas' ``to_csv`` writes for the same frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas.render.tables import CsvLines, _pandas_csv, to_csv_bytes

TEXT = st.text(alphabet=st.sampled_from(list("ab ,\"\n\r\t=+-@'é€;\x00")), max_size=6)
FLOATS = st.one_of(st.floats(allow_nan=True), st.sampled_from([0.1, 2.0, 1e16, 1e-5, -0.0]))


@st.composite
def frames(draw) -> pd.DataFrame:
    n = draw(st.integers(0, 5))
    kinds = draw(
        st.lists(
            st.sampled_from(["text", "cat", "int", "Int64", "bool", "float", "boolean", "mixed"]),
            min_size=1,
            max_size=4,
        )
    )
    data = {}
    for k, kind in enumerate(kinds):
        if kind in ("text", "cat"):
            values = draw(st.lists(st.one_of(TEXT, st.none()), min_size=n, max_size=n))
            col = pd.Series(values, dtype=object)
            data[f"c{k}"] = col.astype("category") if kind == "cat" else col
        elif kind == "int":
            data[f"c{k}"] = pd.Series(
                draw(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n)),
                dtype=np.int64,
            )
        elif kind == "Int64":
            data[f"c{k}"] = pd.Series(
                draw(
                    st.lists(
                        st.one_of(st.integers(-(10**18), 10**18), st.none()),
                        min_size=n,
                        max_size=n,
                    )
                ),
                dtype="Int64",
            )
        elif kind == "bool":
            data[f"c{k}"] = pd.Series(
                draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool
            )
        elif kind == "boolean":
            data[f"c{k}"] = pd.Series(
                draw(st.lists(st.one_of(st.booleans(), st.none()), min_size=n, max_size=n)),
                dtype="boolean",
            )
        elif kind == "float":
            data[f"c{k}"] = pd.Series(draw(st.lists(FLOATS, min_size=n, max_size=n)), dtype=float)
        else:
            data[f"c{k}"] = pd.Series(
                draw(
                    st.lists(
                        st.one_of(TEXT, st.integers(), FLOATS, st.none()), min_size=n, max_size=n
                    )
                ),
                dtype=object,
            )
    names = draw(st.lists(TEXT, min_size=len(data), max_size=len(data), unique=True))
    return pd.DataFrame(data).set_axis(names, axis=1)


@settings(max_examples=400, deadline=None)
@given(frames())
def test_csv_bytes_are_what_pandas_writes(frame):
    assert to_csv_bytes(frame) == _pandas_csv(frame)


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"a": ["", "=1+1", "x,y", 'say "hi"', "line\nbreak", None]}),
        pd.DataFrame({"": ["q"]}),
        pd.DataFrame({"a": pd.Series([], dtype=object), "b": pd.Series([], dtype=float)}),
        pd.DataFrame({"when": pd.to_datetime(["2020-01-01"]), "n": [1]}),
        pd.DataFrame({1: ["x"]}),
    ],
)
def test_edge_frames_are_what_pandas_writes(frame):
    assert to_csv_bytes(frame) == _pandas_csv(frame)


@settings(max_examples=200, deadline=None)
@given(frames(), st.data())
def test_csv_lines_of_some_rows_are_the_csv_of_those_rows(frame, data):
    """An LA pack's CSV is written from the area table's lines: the same bytes as the CSV of
    the LA's rows, whatever the cells (quoted line ends, a column left to pandas)."""
    at = np.array(
        data.draw(st.lists(st.integers(0, max(len(frame) - 1, 0)), max_size=len(frame))),
        dtype=np.int64,
    )
    at = np.unique(at) if len(frame) else at[:0]
    lines = CsvLines(frame)
    assert lines.rows() == to_csv_bytes(frame)
    assert lines.rows(at) == to_csv_bytes(frame.iloc[at].reset_index(drop=True))
