"""The English Indices of Deprivation as MHCLG publishes them (``[geography] imd``, spec
section 5): each LSOA's Index of Multiple Deprivation decile.

Read as published: MHCLG's File 1 (``IMD2019`` / ``IMD 2015`` sheets of the xlsx, or its CSV
form), File 2 (the domains) or File 7 (the scores, CSV) of the 2019 or 2015 release, whose
columns are named ``LSOA code (2011)`` and ``Index of Multiple Deprivation (IMD) Decile`` (2019
adds ``(where 1 is most deprived 10% of LSOAs)``), and the same table re-published with
snake_case names (``lsoa11_code``, ``IMD_decile``). Deciles are national (1: the most deprived
10% of England's LSOAs), as published; nothing here recomputes them. The data is public (Open
Government Licence) and is not a count of anyone.
"""

from __future__ import annotations

import csv
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import GeographyError

log = logging.getLogger(__name__)

_HEADER_SEARCH_LINES = 30  # a title row or two above the header is allowed, as for population
_LSOA_COLUMN = re.compile(r"^(?:lsoa(?: ?\d{2})? ?(?:code|cd)(?: \(\d{4}\))?)$")
_DECILE_COLUMN = re.compile(
    r"^(?:index of multiple deprivation \(imd\) decile(?: \(where 1 is most deprived.*\))?"
    r"|imd decile|imd\d{2,4} decile)$"
)
_YEAR = re.compile(r"(?:imd|iod|indices of deprivation)\D{0,3}(20\d\d)", re.IGNORECASE)
_LAD_YEAR = {"2013": "2015", "2019": "2019", "2024": "2025"}  # the LAs each release names
CREDIT = "MHCLG, English Indices of Deprivation{year}; Open Government Licence v3.0"


@dataclass(frozen=True)
class Deprivation:
    """Each LSOA's IMD decile (1 most deprived .. 10 least), national as published."""

    deciles: pd.Series  # lsoa_code -> decile (int)
    edition: str  # "2019", "2015", or "" when the file does not say
    source: str  # the file's name

    @property
    def label(self) -> str:
        """The index's name as the reports and the atlas give it: "IMD 2019"."""
        return f"IMD {self.edition}".strip()

    @property
    def credit(self) -> str:
        """The attribution the Open Government Licence asks for."""
        return CREDIT.format(year=f" {self.edition}" if self.edition else "")


def _key(name: object) -> str:
    return re.sub(r"[\s_\-]+", " ", str(name).strip().lower()).strip()


def _columns(names: list[str]) -> tuple[int, int] | None:
    keys = [_key(n) for n in names]
    lsoa = next((i for i, k in enumerate(keys) if _LSOA_COLUMN.match(k)), None)
    decile = next((i for i, k in enumerate(keys) if _DECILE_COLUMN.match(k)), None)
    return None if lsoa is None or decile is None else (lsoa, decile)


def _edition(path: Path, names: list[str]) -> str:
    for name in names:  # "Local Authority District code (2019)"; lad13_code in 2015's
        found = re.search(r"(?:district|lad)\D{0,10}\(?(?:20)?(\d{2})\)?", _key(name))
        if found and f"20{found.group(1)}" in _LAD_YEAR:
            return _LAD_YEAR[f"20{found.group(1)}"]
    found = _YEAR.search(path.name)
    return found.group(1) if found else ""


def _expected(path: Path, found: list[str]) -> GeographyError:
    shown = ", ".join(found[:8]) if found else "nothing"
    return GeographyError(
        f"{path}: not an Indices of Deprivation file: expected an LSOA code column (LSOA code "
        "(2011), lsoa11_code, ...) and an IMD decile column (Index of Multiple Deprivation "
        f"(IMD) Decile, IMD_decile) in its first {_HEADER_SEARCH_LINES} lines (found {shown})"
    )


def _read_csv(path: Path) -> tuple[pd.DataFrame, int, list[str]]:
    """The LSOA and decile columns of a CSV, the line of its first data row, its header."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
            head = [row for _, row in zip(range(_HEADER_SEARCH_LINES), csv.reader(fh))]
    except OSError as exc:
        raise GeographyError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    except csv.Error as exc:
        raise GeographyError(f"{path}: not a CSV file ({exc})") from None
    for skip, row in enumerate(head):
        cols = _columns(row)
        if cols is None:
            continue
        table = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            encoding="utf-8-sig",
            encoding_errors="replace",
            skiprows=skip,
            usecols=list(cols),
            skip_blank_lines=False,  # so that row i is line skip + 2 + i
        )
        lsoa, decile = (
            table.columns[int(cols[0] > cols[1])],
            table.columns[int(cols[1] > cols[0])],
        )
        return table[[lsoa, decile]], skip + 2, row
    raise _expected(path, head[0] if head else [])


def _read_xlsx(path: Path) -> tuple[pd.DataFrame, int, list[str]]:
    """The LSOA and decile columns of the xlsx sheet that has them (MHCLG's ``IMD2019``)."""
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
        for layer in layers:
            table = pyogrio.read_dataframe(
                path, layer=layer, read_geometry=False, HEADERS="FORCE", FIELD_TYPES="STRING"
            )
            cols = _columns(list(table.columns))
            if cols is not None:
                picked = table.iloc[:, list(cols)].fillna("").astype(str)
                return picked, 2, [str(c) for c in table.columns]
    except (DataSourceError, DataLayerError) as exc:
        raise GeographyError(f"{path}: cannot be read as a spreadsheet ({exc})") from None
    raise _expected(path, (layers and [f"sheets {', '.join(layers)}"]) or [])


def read_imd(path: Path, lsoa_codes: list[str] | None = None) -> Deprivation:
    """Each LSOA's IMD decile from an Indices of Deprivation file as MHCLG publishes it.

    A decile that is not a whole number from 1 to 10, or an LSOA given two deciles, stops the
    build with one line naming the file, the line and the column. ``lsoa_codes`` (the drop's
    LSOAs): none of them in the file is an error (another vintage of LSOA codes); some
    missing is a warning (they get no decile)."""
    path = Path(path)
    if not path.is_file():
        raise GeographyError(f"{path}: no such file")
    if path.suffix.lower() in (".xlsx", ".xls", ".ods"):
        table, first, header = _read_xlsx(path)
    else:
        table, first, header = _read_csv(path)
    code_col, decile_col = table.columns
    codes = table[code_col].str.strip()
    text = table[decile_col].str.strip()
    value = pd.to_numeric(text, errors="coerce")
    rows = codes.str.match(r"^[EW]\d{8}$")
    bad = rows & ~(value.isin(range(1, 11)))
    if bad.any():
        i = int(bad.to_numpy().argmax())
        raise GeographyError(
            f"{path} line {first + i}: {decile_col}: not a decile (a whole number from 1 to "
            f"10) in {int(bad.sum())} row(s)"
        )
    deciles = pd.Series(value[rows].astype(int).to_numpy(), index=codes[rows].to_numpy())
    twice = deciles.index.duplicated(keep=False)
    clash = deciles[twice].groupby(level=0).nunique()
    if (clash > 1).any():
        code = clash[clash > 1].index[0]
        i = int((codes == code).to_numpy().nonzero()[0][1])
        raise GeographyError(
            f"{path} line {first + i}: {code_col}: an LSOA given a second, different decile "
            f"({int((clash > 1).sum())} LSOA(s))"
        )
    deciles = deciles[~deciles.index.duplicated()]
    if not len(deciles):
        raise GeographyError(f"{path}: no LSOA rows (codes such as E01006412) under {code_col}")
    if lsoa_codes is not None:
        known = pd.Index(lsoa_codes).isin(deciles.index)
        if len(lsoa_codes) and not known.any():
            raise GeographyError(
                f"{path}: none of the drop's {len(lsoa_codes):,} LSOAs is in it; is it the "
                "same vintage of LSOA codes (2011 or 2021) as the boundaries?"
            )
        if not known.all():
            log.warning(
                "%s: %d of the drop's %d LSOAs have no IMD decile in it; their residents are "
                "counted as 'decile not known'",
                path,
                int((~known).sum()),
                len(lsoa_codes),
            )
    return Deprivation(deciles, _edition(path, header), path.name)
