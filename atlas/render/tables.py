"""CSV tables of spec section 4, written the way analysts and spreadsheets expect.

Integers without decimals, rates as text with one decimal, ``suppressed`` as ``true``/``false``,
and text cells that a spreadsheet would run as a formula neutralised with a leading ``'``.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..counting.aggregate import COLUMNS, MSOA_TABLE
from ..disclosure.suppress import Published

if TYPE_CHECKING:
    from ..siting.publish import PublishedPlan

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(values: pd.Series) -> pd.Series:
    """Prefix ``'`` to text a spreadsheet would read as a formula (=, +, -, @, tab, CR)."""
    text = values.astype(str)
    risky = text.str.startswith(FORMULA_START)
    return text.where(~risky, "'" + text)


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """A frame as UTF-8 CSV bytes: deterministic, text neutralised, booleans as true/false.

    The bytes pandas' ``to_csv`` writes (minimal quoting, LF line ends, floats as numpy
    prints them, missing values empty), built column by column with Arrow; a frame with a kind
    of column this does not cover is written by pandas."""
    return CsvLines(frame).rows()


class CsvLines:
    """A frame's CSV as :func:`to_csv_bytes` writes it, each row's line made once, so that the
    CSV of any of its rows (an LA pack's part of an area table) is written without formatting
    the cells again: the same bytes as ``to_csv_bytes`` of those rows."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.header = b""
        self.lines: pa.Array | None = None  # None: a frame left to pandas
        names = list(frame.columns)
        if not names or not all(isinstance(c, str) for c in names) or len(set(names)) < len(names):
            return
        cells = [_cell_text(frame[c]) for c in names]
        if any(c is None for c in cells):
            return
        self.header = _text(_line([pa.array([c], type=pa.string()) for c in names]))
        self.lines = _line(cells) if len(frame) else pa.array([], type=pa.string())

    def rows(self, positions: np.ndarray | None = None) -> bytes:
        """The CSV of the rows at ``positions`` (in that order; None: every row)."""
        if self.lines is None:
            frame = self.frame if positions is None else self.frame.iloc[positions]
            return _pandas_csv(frame)
        lines = self.lines if positions is None else self.lines.take(pa.array(positions))
        return self.header + (_text(lines) if len(lines) else b"")


def _pandas_csv(frame: pd.DataFrame) -> bytes:
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_bool_dtype(s):
            out[col] = s.map({True: "true", False: "false"})
        elif pd.api.types.is_integer_dtype(s):
            out[col] = s.astype("Int64").astype(str).replace("<NA>", "")
        elif s.dtype == object or isinstance(s.dtype, pd.CategoricalDtype):
            out[col] = neutralise(s.astype(object).where(s.notna(), ""))
    buf = io.StringIO()
    out.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue().encode("utf-8")


def _cell_text(s: pd.Series) -> pa.Array | None:
    """Each cell of a column as the CSV shows it (before quoting); None for a kind of column
    left to pandas."""
    if pd.api.types.is_bool_dtype(s):
        text = pa.array(np.where(s.to_numpy(dtype=bool, na_value=False), "true", "false"))
        return pc.if_else(pa.array(s.isna().to_numpy()), "", text)
    if pd.api.types.is_signed_integer_dtype(s):
        return pc.fill_null(pc.cast(pa.array(s.astype("Int64")), pa.string()), "")
    if s.dtype == np.float64:
        return pc.if_else(pa.array(s.isna().to_numpy()), "", pa.array(s.to_numpy().astype(str)))
    if s.dtype == object or isinstance(s.dtype, pd.CategoricalDtype):
        text = pa.array(
            s.astype(object).where(s.notna(), "").astype(str).to_numpy(), type=pa.string()
        )
        risky = pc.is_in(pc.utf8_slice_codeunits(text, 0, 1), value_set=_FORMULA_FIRST)
        return pc.if_else(risky, pc.binary_join_element_wise("'", text, ""), text)
    return None


_FORMULA_FIRST = pa.array(FORMULA_START, type=pa.string())


def _quoted(text: pa.Array, columns: int) -> pa.Array:
    """Cells quoted as Python's csv writer does: those holding a comma, a quote or a line end
    (quotes doubled); an empty cell when it is a row's only cell."""
    needs = pc.match_substring_regex(text, '[\n",]')
    if columns == 1:
        needs = pc.or_(needs, pc.equal(text, ""))
    if not pc.any(needs).as_py():
        return text
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, text)


def _line(columns: list[pa.Array]) -> pa.Array:
    """Each row's cells, quoted, joined by commas, with its line end."""
    row = pc.binary_join_element_wise(*(_quoted(c, len(columns)) for c in columns), ",")
    return pc.binary_join_element_wise(row, "\n", "")


def _text(lines: pa.Array) -> bytes:
    """The UTF-8 text of a string array's values, one after another."""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    start, end = offsets[lines.offset], offsets[lines.offset + len(lines)]
    return lines.buffers()[2].slice(start, end - start).to_pybytes()


def render_tables(published: Published) -> dict[str, bytes]:
    """The four spec tables (and the MSOA table when there is one) as CSV bytes, keyed by
    their path in the drop."""
    files = {
        path: to_csv_bytes(getattr(published, attr)[cols])
        for path, (attr, cols) in COLUMNS.items()
    }
    if published.residence_msoa is not None:
        files[MSOA_TABLE[0]] = to_csv_bytes(published.residence_msoa[MSOA_TABLE[1]])
    return files


def siting_tables(plan: PublishedPlan) -> dict[str, bytes]:
    """The siting stage's two tables (``[siting]``) as CSV bytes, keyed by their path."""
    return {
        "tables/nsp_siting.csv": to_csv_bytes(plan.siting),
        "tables/nsp_coverage_la.csv": to_csv_bytes(plan.coverage_la),
    }
