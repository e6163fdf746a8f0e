"""Candidate-site files as they are published, read into one shape for ``model.read_candidates``.

Three layouts are read directly, detected from the file's first line or named in the recipe
(``[siting] candidates_format``):

- ``csv``: our own layout, a header with ``site_code, site_name, postcode`` and optionally
  ``latitude, longitude`` (UTF-8, else Windows-1252).
- ``edispensary``: the NHS Organisation Data Service's dispensary file (``edispensary.csv``):
  no header, field 1 the ODS code, 2 the name, 10 the postcode, 13 the status (A active,
  C closed, P proposed). Only active dispensers are candidates; the others are counted as
  skipped.
- ``nhs_pharmacy``: the NHS website's pharmacy list (``Pharmacy.csv``): ``¬``-separated,
  Latin-1, with ``OrganisationCode, OrganisationName, Postcode, Latitude, Longitude``; only
  visible community pharmacies are candidates (appliance contractors, which serve no walk-in
  customers, and hidden entries are counted as skipped).

Every data line is accounted for: a candidate row (checked and placed later), a skipped row with
its reason counted, or a blank line.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import AtlasError

FORMATS = ("auto", "csv", "edispensary", "nhs_pharmacy")
CANDIDATE_REQUIRED = ("site_code", "site_name", "postcode")
CANDIDATE_OPTIONAL = ("latitude", "longitude")
COLUMNS = (*CANDIDATE_REQUIRED, *CANDIDATE_OPTIONAL)

NHS_SEPARATOR = "\xac"  # ¬, byte 0xAC in Latin-1
NHS_COLUMNS = {
    "site_code": "OrganisationCode",
    "site_name": "OrganisationName",
    "postcode": "Postcode",
    "latitude": "Latitude",
    "longitude": "Longitude",
}
# edispensary fields (1-based in the ODS documentation): 1 code, 2 name, 10 postcode, 13 status
EDISPENSARY_FIELDS = {"site_code": 0, "site_name": 1, "postcode": 9}
EDISPENSARY_STATUS = 12
EDISPENSARY_STATUS_NAMES = {"C": "closed", "P": "proposed"}
ODS_CODE = re.compile(r"^[A-Z0-9]{3,8}$")


class SitingError(AtlasError):
    """A candidates file that cannot be used at all."""


@dataclass
class CandidateRows:
    """The candidate rows of a file, before checks: ``line`` and the five columns as text."""

    frame: pd.DataFrame  # line, site_code, site_name, postcode, latitude, longitude
    layout: str  # "csv", "edispensary" or "nhs_pharmacy"
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> rows

    @property
    def read(self) -> int:
        """Data rows read: the candidates and the rows skipped."""
        return len(self.frame) + sum(self.skipped.values())


def read_candidate_rows(path: Path, layout: str = "auto") -> CandidateRows:
    """Read a candidates file in any of ``FORMATS``; ``auto`` detects the layout."""
    path = Path(path)
    raw = path.read_bytes()
    if not raw.strip():
        raise SitingError(
            f"{path}: the candidates file is empty (expected a header with "
            f"{', '.join(CANDIDATE_REQUIRED)}, an ODS edispensary file or the NHS pharmacy list)"
        )
    if layout == "auto":
        layout = detect_layout(raw)
    if layout == "nhs_pharmacy":
        return _nhs_pharmacy(path, raw)
    if layout == "edispensary":
        return _edispensary(path, raw)
    return _own_csv(path, raw)


def detect_layout(raw: bytes) -> str:
    """``nhs_pharmacy`` for a ``¬``-separated file with NHS column names, ``edispensary`` for a
    headerless file whose first field is an ODS code, else ``csv``."""
    first = raw.split(b"\n", 1)[0]
    if b"\xac" in first and b"OrganisationCode" in first:
        return "nhs_pharmacy"
    fields = next(csv.reader([_decode(first).strip("\r\n")]), [])
    names = {f.strip().lower() for f in fields}
    if not names & set(COLUMNS) and len(fields) >= 13 and ODS_CODE.match(fields[0].strip()):
        return "edispensary"
    return "csv"


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _rows(text: str, delimiter: str = ",") -> list[tuple[int, list[str]]]:
    """(line, fields) of every non-blank record; line numbers are the file's."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    out = []
    line = 1
    for record in reader:
        if any(f.strip() for f in record):
            out.append((line, record))
        line = reader.line_num + 1
    return out


def _frame(rows: list[tuple[int, dict[str, str]]]) -> pd.DataFrame:
    frame = pd.DataFrame(
        [[line, *(values.get(c, "").strip() for c in COLUMNS)] for line, values in rows],
        columns=["line", *COLUMNS],
    )
    return frame.astype({c: str for c in COLUMNS})


def _own_csv(path: Path, raw: bytes) -> CandidateRows:
    rows = _rows(_decode(raw))
    header = [h.strip().lower() for h in rows[0][1]]
    missing = [c for c in CANDIDATE_REQUIRED if c not in header]
    if missing:
        raise SitingError(
            f"{path}: missing column(s) {', '.join(missing)} (a candidates file "
            f"has {', '.join(CANDIDATE_REQUIRED)}; optionally "
            f"{', '.join(CANDIDATE_OPTIONAL)}; or give the ODS edispensary file or the NHS "
            'pharmacy list, with [siting] candidates_format = "edispensary" or "nhs_pharmacy" '
            "if it is not recognised)"
        )
    body = [(line, dict(zip(header, record))) for line, record in rows[1:]]
    return CandidateRows(_frame(body), "csv")


def _edispensary(path: Path, raw: bytes) -> CandidateRows:
    body: list[tuple[int, dict[str, str]]] = []
    skipped: Counter[str] = Counter()
    for line, record in _rows(_decode(raw)):
        if len(record) <= EDISPENSARY_STATUS:
            raise SitingError(
                f"{path} line {line}: {len(record)} fields; an ODS edispensary file has at "
                f"least {EDISPENSARY_STATUS + 1} (field 13 is the status)"
            )
        status = record[EDISPENSARY_STATUS].strip()
        if status != "A":
            skipped[f"not active ({EDISPENSARY_STATUS_NAMES.get(status, 'other status')})"] += 1
            continue
        body.append((line, {c: record[i] for c, i in EDISPENSARY_FIELDS.items()}))
    return CandidateRows(_frame(body), "edispensary", dict(sorted(skipped.items())))


def _nhs_pharmacy(path: Path, raw: bytes) -> CandidateRows:
    rows = _rows(raw.decode("latin-1"), delimiter=NHS_SEPARATOR)
    header = [h.strip() for h in rows[0][1]]
    missing = [c for c in NHS_COLUMNS.values() if c not in header]
    if missing:
        raise SitingError(f"{path}: missing column(s) {', '.join(missing)} of the NHS list")
    body: list[tuple[int, dict[str, str]]] = []
    skipped: Counter[str] = Counter()
    for line, record in rows[1:]:
        values = dict(zip(header, (f.strip() for f in record)))
        if values.get("OrganisationStatus", "Visible") != "Visible":
            skipped["not visible on the NHS website"] += 1
        elif values.get("SubType", "") == "Appliance Pharmacy":
            skipped["appliance pharmacy (no walk-in customers)"] += 1
        else:
            body.append((line, {c: values.get(n, "") for c, n in NHS_COLUMNS.items()}))
    return CandidateRows(_frame(body), "nhs_pharmacy", dict(sorted(skipped.items())))
