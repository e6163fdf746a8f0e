"""CSV tables of spec section 4, written the way analysts and spreadsheets expect.

Integers without decimals, rates as text with one decimal, ``suppressed`` as ``true``/``false``,
and text cells that a spreadsheet would run as a formula neutralised with a leading ``'``.
"""

from __future__ import annotations

import io

import pandas as pd

from ..suppress import Published

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

COLUMNS = {
    "tables/service_la_cohorts.csv": ("service_la", ["la_code", "la_name", "cohort",
                                                      "individuals", "population", "rate_per_1000",
                                                      "rate_lower", "rate_upper", "suppressed"]),
    "tables/residence_lsoa_cohorts.csv": ("residence_lsoa", ["lsoa_code", "lsoa_name", "la_code",
                                                              "cohort", "individuals",
                                                              "suppressed"]),
    "tables/residence_la_cohorts.csv": ("residence_la", ["la_code", "la_name", "cohort",
                                                          "individuals", "suppressed"]),
    "tables/site_activity.csv": ("site_activity", ["site_code", "site_name", "site_type",
                                                    "la_code", "nsp_visits", "nsp_returns",
                                                    "interventions", "individuals",
                                                    "suppressed"]),
}


def neutralise(values: pd.Series) -> pd.Series:
    """Prefix ``'`` to text a spreadsheet would read as a formula (=, +, -, @, tab, CR)."""
    text = values.astype(str)
    risky = text.str.startswith(FORMULA_START)
    return text.where(~risky, "'" + text)


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """A frame as UTF-8 CSV bytes: deterministic, text neutralised, booleans as true/false."""
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


MSOA_TABLE = ("tables/residence_msoa_cohorts.csv",
              ["msoa_code", "msoa_name", "la_code", "cohort", "individuals", "suppressed"])


def render_tables(published: Published) -> dict[str, bytes]:
    """The four spec tables (and the MSOA table when there is one) as CSV bytes, keyed by
    their path in the drop."""
    files = {path: to_csv_bytes(getattr(published, attr)[cols])
             for path, (attr, cols) in COLUMNS.items()}
    if published.residence_msoa is not None:
        files[MSOA_TABLE[0]] = to_csv_bytes(published.residence_msoa[MSOA_TABLE[1]])
    return files
