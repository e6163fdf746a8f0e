"""The atlas page's years read back (issue 17, point 1): every year's residents per area and
cohort that the page ships (``render.atlas_years``), as the cells and groups the build declared
(``counting.year_residence``), so that the audit attacks them with everything else.

The page's packed integers are decoded here with the page's alphabet (``render.ring_text``
writes them; this stage may not import the renderer).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..counting.individuals import ALL, COHORT_ORDER, COHORTS
from ..counting.report_counts import CellSet

ATLAS_PAGE = "atlas.html"
CellId = Callable[[int, str, str, str], str]  # (year position, level, code, cohort) -> cell id
YEARS_KEYS = {
    "labels",
    "partial",
    "own",
    "ci",
    "area_pop",
    "area",
    "outside",
    "unknown",
    "nolsoa",
}
_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_DIGIT = np.zeros(128, dtype=np.int64)
_DIGIT[np.frombuffer(_ALPHABET, dtype=np.uint8)] = np.arange(64)


def packed_ints(text: str) -> np.ndarray:
    """The integers of a packed string of the page (``render.ring_text.pack_ints``)."""
    raw = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    if len(raw) and (
        raw.max() >= 128 or not np.isin(raw, np.frombuffer(_ALPHABET, np.uint8)).all()
    ):
        raise ValueError("not packed integers")
    digits = _DIGIT[raw]
    ends = digits >= 32
    if len(digits) and not ends[-1]:
        raise ValueError("packed integers cut short")
    starts = np.flatnonzero(np.r_[True, ends[:-1]])
    group = np.cumsum(np.r_[False, ends[:-1]])
    shift = 5 * (np.arange(len(digits)) - starts[group])
    z = np.add.reduceat((digits & 31) << shift, starts) if len(digits) else digits
    return np.where(z % 2 == 0, z // 2, -(z + 1) // 2)


def read_years(
    data: dict[str, Any],
    readings: list[Any],
    problems: list[str],
    make_reading: Callable[[str, str, str], Any],
) -> CellSet | None:
    """The years' cells and groups, with a reading (``make_reading(cell, text, place)``) for
    every count the page ships; ``problems`` gets what is not as the page writes it."""
    years = data.get("years")
    if years is None:
        return None
    if not isinstance(years, dict):
        problems.append(f"{ATLAS_PAGE}: the page's years are not as the drop writes them")
        return None
    extra = sorted(set(years) - YEARS_KEYS)
    if extra:
        problems.append(f"{ATLAS_PAGE} years: {extra[0]!r} is no cell of the drop")
    labels = [str(y) for y in years["labels"]]
    own = int(years["own"])
    levels = {lv["id"]: lv for lv in data["levels"]}
    la_codes = list(levels["la"]["codes"])
    cells: list[str] = []
    groups: list[tuple[str, list[str]]] = []

    def read(cell: str, value: Any, place: str) -> None:
        text = "" if value is None or value == -1 else str(int(value))
        readings.append(make_reading(cell, text, place))
        cells.append(cell)

    def cid(y: int, level: str, code: str, cohort: str) -> str:
        if y == own:
            return f"{level}:{code}:{cohort}"
        return f"y:{labels[y]}:{level}:{code}:{cohort}"

    for y, label in enumerate(labels):
        here = f"{ATLAS_PAGE} years {label}"
        for cohort in COHORT_ORDER:
            area = years["area"][cohort][y]
            read(f"area:{label}:{cohort}", area, f"{here} area {cohort}")
            for key, code in (("outside", "OUTSIDE"), ("unknown", "UNKNOWN")):
                v = years[key][cohort][y]
                if y == own:
                    readings.append(make_reading(cid(y, "la", code, cohort), _text(v), here))
                else:
                    read(cid(y, "la", code, cohort), v, f"{here} {key} {cohort}")
            nolsoa = packed_ints(years["nolsoa"][cohort][y])
            if len(nolsoa) != len(la_codes):
                raise ValueError("the LSOA-not-known counts are not one per local authority")
            for code, v in zip(la_codes, nolsoa):
                cell = cid(y, "lsoa", f"{code}-UNKNOWN", cohort)
                if y == own:
                    readings.append(make_reading(cell, _text(v), f"{here} {code} no LSOA"))
                else:
                    read(cell, v, f"{here} {code} no LSOA {cohort}")
            groups.append(
                (f"area:{label}:{cohort}", sorted(cid(y, "la", c, cohort) for c in la_codes))
            )
        groups.append((f"area:{label}:{ALL}", [f"area:{label}:{c}" for c in COHORTS]))
        if y == own:
            continue
        for lid, level in levels.items():
            codes = list(level["codes"])
            for cohort in COHORT_ORDER:
                counts = packed_ints(level["time"][cohort][y])
                if len(counts) != len(codes):
                    raise ValueError(f"level {lid}: the year's counts are not one per area")
                for code, v in zip(codes, counts):
                    read(cid(y, lid, code, cohort), v, f"{here} level {lid} {cohort} area {code}")
        groups += _structure(y, labels[y], levels, la_codes, cid)
    return CellSet("atlas_years", _cells(cells), groups)


def _text(v: Any) -> str:
    return "" if v is None or v == -1 else str(int(v))


def _structure(
    y: int, label: str, levels: dict[str, Any], la_codes: list[str], cid: CellId
) -> list[tuple[str, list[str]]]:
    """Another year's groups, as ``counting.year_residence.year_cells`` declares them."""
    out: list[tuple[str, list[str]]] = []
    units = {
        "lsoa": [*levels["lsoa"]["codes"], *(f"{c}-UNKNOWN" for c in la_codes)],
        "la": [*la_codes, "OUTSIDE", "UNKNOWN"],
    }
    if "msoa" in levels:
        units["msoa"] = list(levels["msoa"]["codes"])
    for lid, codes in units.items():  # cohorts add to all
        out += [(cid(y, lid, c, ALL), [cid(y, lid, c, k) for k in COHORTS]) for c in codes]
    lsoa = levels["lsoa"]
    parent = np.asarray(lsoa["la"], dtype=np.int64)
    lsoa_codes = np.asarray(lsoa["codes"], dtype=object)
    for cohort in COHORT_ORDER:
        for k, la in enumerate(la_codes):  # an LA's LSOAs and "LSOA not known" add to it
            parts = [cid(y, "lsoa", c, cohort) for c in lsoa_codes[parent == k]]
            parts.append(cid(y, "lsoa", f"{la}-UNKNOWN", cohort))
            out.append((cid(y, "la", la, cohort), sorted(parts)))
        out.append(
            (
                f"trend:{label}:{cohort}",
                sorted(cid(y, "la", c, cohort) for c in units["la"]),
            )
        )
    if "msoa" in levels:
        out += _msoa_groups(y, levels, la_codes, cid)
    return out


def _msoa_groups(
    y: int, levels: dict[str, Any], la_codes: list[str], cid: CellId
) -> list[tuple[str, list[str]]]:
    """An MSOA's LSOAs add to it (an LSOA is named after its MSOA with one more letter); an
    LA's MSOAs and "LSOA not known" add to it unless an MSOA straddles it."""
    lsoa, msoa = levels["lsoa"], levels["msoa"]
    code_of = dict(zip(msoa["names"], msoa["codes"]))
    links = pd.DataFrame(
        {
            "lsoa_code": lsoa["codes"],
            "la": lsoa["la"],
            "msoa_code": [code_of.get(str(n)[:-1]) for n in lsoa["names"]],
        }
    ).dropna(subset=["msoa_code"])
    msoa_la = dict(zip(msoa["codes"], msoa["la"]))
    straddled = set(links.loc[links["msoa_code"].map(msoa_la) == -1, "la"])
    msoas_of: dict[int, list[str]] = {}
    for code, k in msoa_la.items():
        msoas_of.setdefault(k, []).append(code)
    out: list[tuple[str, list[str]]] = []
    for cohort in COHORT_ORDER:
        for code, part in links.groupby("msoa_code", sort=True):
            out.append(
                (
                    cid(y, "msoa", code, cohort),
                    sorted(cid(y, "lsoa", c, cohort) for c in part["lsoa_code"]),
                )
            )
        for k, la in enumerate(la_codes):
            if k in straddled:
                continue
            parts = [cid(y, "msoa", c, cohort) for c in msoas_of.get(k, [])]
            parts.append(cid(y, "lsoa", f"{la}-UNKNOWN", cohort))
            out.append((cid(y, "la", la, cohort), sorted(parts)))
    return out


def _cells(ids: list[str]) -> pd.DataFrame:
    unique = list(dict.fromkeys(ids))
    return pd.DataFrame({"cell_id": unique, "individuals": np.zeros(len(unique), dtype=np.int64)})
