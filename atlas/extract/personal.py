"""The personal values of every record read, accepted or rejected (spec section 2: no published
file may hold a client's ``client_ref``, attributor, date of birth or full postcode).

Gathered as each file is read, whatever validation then decides, because a rejected or shifted
record reaches the drop as surely as an accepted one (a date of birth in the gender column, a
postcode in free text): every ``client_ref`` of every file; every date written anywhere in
clients.csv (its one date is the date of birth); every postcode written anywhere in clients.csv
and assessments.csv (where clients live); and the attributors of the client records set aside
(the accepted ones' come from their frame). The audit then looks for them in every published
byte (:mod:`atlas.disclosure.identifier_scan`). A column is read once per distinct value; a
key or reference column (mostly distinct) only in the records set aside, since an accepted
record's is a key of clients.csv (all of whose references are gathered) or of sites.csv.

A reference that is an ordinary word or number (``false``, ``TOTAL``, ``1``: ``ORDINARY_REF``)
cannot be told apart from the same word or count on a page, so is set aside, with where it was
first read, for the audit to say so rather than fail on every page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .csv_text import Rows

# A date: year-month-day (four digits, then one or two, one or two) or day-month-year (one or
# two, one or two, then two or four), its parts joined by the same ``-``, ``/`` or ``.``, not
# inside a longer run of digits. Zero-width, so that overlapping dates are all found.
DATE_TEXT = re.compile(
    r"(?<![0-9])(?=([0-9]{4})([./-])([0-9]{1,2})\2([0-9]{1,2})(?![0-9])"
    r"|([0-9]{1,2})([./-])([0-9]{1,2})\6([0-9]{4}|[0-9]{2})(?![0-9]))"
)
# A full postcode in either case: outward code, any run of spaces (also no-break), tabs and
# hyphens (or none), inward code, not inside a longer run of letters and digits.
POSTCODE_TEXT = re.compile(
    r"(?<![A-Za-z0-9])([A-Za-z]{1,2}[0-9][A-Za-z0-9]?)[ \t\xa0-]*([0-9][A-Za-z]{2})"
    r"(?![A-Za-z0-9])"
)
POSTCODE_KEY = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}")  # upper case, no space
# References too ordinary to search for: up to three characters, a number of up to five digits
# or with a decimal point, or words of letters only.
ORDINARY_REF = re.compile(
    r"(?:.{1,3}|[+-]?[0-9]{1,5}|[+-]?[0-9]*[.,][0-9]+|[^\W\d_]+(?:[ '-][^\W\d_]+)*)"
)
DATE_FILES = ("clients.csv",)
POSTCODE_FILES = ("clients.csv", "assessments.csv")
ATTRIBUTOR = ("first_initial", "last_initial", "date_of_birth", "gender")


def dates_in(text: str) -> list[str]:
    """Every date written in the text, as ISO ``YYYY-MM-DD`` (a two-digit year as both of its
    centuries); parts out of range (month 13, day 32) are no date."""
    found = []
    for m in DATE_TEXT.finditer(text):
        if m.group(1):
            years, month, day = [m.group(1)], m.group(3), m.group(4)
        else:
            year, month, day = m.group(8), m.group(7), m.group(5)
            years = [year] if len(year) == 4 else ["19" + year, "20" + year]
        if 1 <= int(month) <= 12 and 1 <= int(day) <= 31:
            found += [f"{y}-{int(month):02d}-{int(day):02d}" for y in years]
    return found


def postcodes_in(text: str) -> list[str]:
    """Every full postcode written in the text, upper case without space."""
    return [(m.group(1) + m.group(2)).upper() for m in POSTCODE_TEXT.finditer(text)]


@dataclass
class PersonalValues:
    """The personal values read from the extract's records (see the module's docstring)."""

    refs: list[pa.Array] = field(default_factory=list)  # distinct per file, none ordinary
    ordinary: dict[str, str] = field(default_factory=dict)  # ordinary ref -> where first read
    date_texts: list[pa.Array] = field(default_factory=list)  # values that may hold dates
    postcode_texts: list[pa.Array] = field(default_factory=list)  # ... or postcodes
    attributors: list[pa.Array] = field(default_factory=list)

    def add(self, name: str, rows: Rows, kept: np.ndarray) -> None:
        """Gather the personal values of one file's records, well-formed or not, once
        validated (``kept``: which well-formed records were accepted)."""
        cols = rows.columns
        rejected = np.flatnonzero(~kept)
        if "client_ref" in cols:
            self._add_refs(name, rows, rejected)
        if name not in DATE_FILES + POSTCODE_FILES:
            return
        values = [
            pa.array(col.values(rejected) if col.keyed else col.distinct()[1], pa.string())
            for col in cols.values()
        ]
        values.append(pa.array(_flat(rows.misshaped), pa.string()))
        if name in DATE_FILES:  # read for dates (and postcodes) once all are gathered
            self.date_texts += values
        if name in POSTCODE_FILES:
            self.postcode_texts += values
        if all(c in cols for c in ATTRIBUTOR):  # the accepted records': from their frame
            parts = [pa.array(cols[c].values(rejected), pa.string()) for c in ATTRIBUTOR]
            parts[2] = pc.utf8_slice_codeunits(parts[2], 0, 10)
            text = pc.binary_join_element_wise(*parts, "|")
            self.attributors.append(text.filter(pc.not_equal(parts[2], "")))

    def _add_refs(self, name: str, rows: Rows, rejected: np.ndarray) -> None:
        """Every reference: a key's distinct values; elsewhere those of the records set aside
        (an accepted record refers to a key of clients.csv)."""
        col = rows.columns["client_ref"]
        if name == "clients.csv":
            refs = col.firsts()[2]
        else:
            refs = pc.unique(pa.array(col.values(rejected), pa.string()))
        if rows.misshaped and "client_ref" in rows.header:
            at = rows.header.index("client_ref")
            odd = [r[at].strip() for r in rows.misshaped if len(r) > at]
            refs = pc.unique(
                pa.concat_arrays([refs.cast(pa.string()), pa.array(odd, pa.string())])
            )
        refs = refs.filter(pc.not_equal(refs, ""))
        ordinary = _ordinary(refs)
        if ordinary.any():
            self._add_ordinary(name, rows, refs.filter(pa.array(ordinary)))
        self.refs.append(refs.filter(pa.array(~ordinary)))

    def _add_ordinary(self, name: str, rows: Rows, refs: pa.Array) -> None:
        """Note where each ordinary reference not seen before is first read, in file order."""
        refs = pa.array([r for r in refs.to_pylist() if r not in self.ordinary], pa.string())
        pos = pc.fill_null(pc.index_in(rows.columns["client_ref"].whole(), value_set=refs), -1)
        pos = pos.to_numpy(zero_copy_only=False)
        first = np.full(len(refs), len(pos))
        found = np.flatnonzero(pos >= 0)
        np.minimum.at(first, pos[found], found)
        line = np.append(rows.lines, 0)[first]  # 0: only in a mis-shaped record
        for at in np.argsort(np.where(line > 0, line, np.iinfo(np.int64).max), kind="stable"):
            ref = refs[int(at)].as_py()
            self.ordinary[ref] = f"{name} line {line[at]}" if line[at] else name

    def client_refs(self) -> pa.Array:
        """The distinct references to search for."""
        return _union(self.refs)

    def dates_of_birth(self) -> pa.Array:
        """The distinct dates of birth (any date in clients.csv), ISO."""
        return pc.unique(_dates(_union(self.date_texts)))

    def full_postcodes(self) -> pa.Array:
        """The distinct full postcodes, upper case without space."""
        return pc.unique(_postcodes(_union(self.postcode_texts)))

    def client_attributors(self) -> pa.Array:
        """The distinct attributors (initials, date of birth, gender joined by ``|``)."""
        return _union(self.attributors)


def _flat(records: Iterable[list[str]]) -> list[str]:
    return [value.strip() for record in records for value in record]


def _union(arrays: list[pa.Array]) -> pa.Array:
    """The distinct values of the arrays, as large strings."""
    if not arrays:
        return pa.array([], pa.large_string())
    return pc.unique(pa.concat_arrays([a.cast(pa.large_string()) for a in arrays]))


def _ordinary(refs: pa.Array) -> np.ndarray:
    """Which refs are ``ORDINARY_REF`` (the regular expression runs only on the few that may
    be: short, or without a letter and digit both)."""
    maybe = pc.or_(
        pc.less_equal(pc.utf8_length(refs), 5),
        pc.invert(
            pc.and_(
                pc.match_substring_regex(refs, "[0-9]"), pc.match_substring_regex(refs, r"\pL")
            )
        ),
    )
    few = np.flatnonzero(maybe.to_numpy(zero_copy_only=False))
    out = np.zeros(len(refs), dtype=bool)
    out[few] = [ORDINARY_REF.fullmatch(r) is not None for r in refs.take(few).to_pylist()]
    return out


def _dates(text: pa.Array) -> pa.Array:
    """The dates written in the values (stripped), ISO (a whole ISO value without the regular
    expression: a date of birth column is mostly those)."""
    iso = pc.match_substring_regex(text, r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
    rest = text.filter(pc.invert(iso))
    rest = rest.filter(pc.match_substring_regex(rest, "[0-9][./-][0-9]"))
    found = [d for value in rest.to_pylist() for d in dates_in(value)]
    return pa.concat_arrays([text.filter(iso), pa.array(found, text.type)])


def _postcodes(text: pa.Array) -> pa.Array:
    """The full postcodes written in the values (stripped), upper case without space (a whole
    value that is one without the regular expression: a postcode column is mostly those)."""
    upper = pc.ascii_upper(text)
    compact = pc.replace_substring_regex(upper, "[ \t\u00a0-]+", "")
    whole = pc.match_substring_regex(compact, f"^{POSTCODE_KEY.pattern}$")
    rest = text.filter(pc.invert(whole))
    rest = rest.filter(pc.match_substring_regex(rest, "[0-9][A-Za-z][A-Za-z]"))
    found = [p for value in rest.to_pylist() for p in postcodes_in(value)]
    return pa.concat_arrays([compact.filter(whole), pa.array(found, text.type)])
