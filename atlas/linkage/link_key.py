"""``ims-atlas link-key``: a partner's file of attributors to a file of keyed attributors.

The partner's ``first_initial, last_initial, date_of_birth, gender`` are normalised as the IMS
extract's client records are (trimmed, initials and gender upper-cased, the date read as the
extract reader reads it: ISO, or ``--date-format``), joined into the attributor of spec
section 2 and keyed (:mod:`.keys`). The output holds ``attributor_key`` and every other column
of the partner's file, in order; the four identifying columns are dropped. A row whose
attributor is incomplete (a part blank, gender ``U``, a date that is not one) keeps its other
columns with a blank key: it is counted (a death is a death) but cannot be linked.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ExtractError, UsageError
from ..extract.csv_text import decode
from ..extract.reader import GENDERS, _dates
from .keys import ATTRIBUTOR_COLUMNS, KEY_COLUMN, key_attributors


@dataclass
class KeyedFile:
    """What ``link-key`` wrote: rows keyed, and the rows that could not be (by reason, with
    the first line of each), never a value."""

    out: Path
    rows: int = 0
    keyed: int = 0
    unlinkable: Counter[str] = field(default_factory=Counter)
    first_line: dict[str, int] = field(default_factory=dict)
    set_aside: list[int] = field(default_factory=list)  # lines of records of the wrong width

    def summary(self) -> str:
        """One line: how many rows were keyed, and why the others could not be."""
        parts = [f"{self.out.name}: {self.rows:,} rows written, {self.keyed:,} keyed"]
        for reason, n in sorted(self.unlinkable.items()):
            parts.append(f"{n:,} not linkable ({reason}; first at line {self.first_line[reason]})")
        if self.set_aside:
            parts.append(
                f"{len(self.set_aside):,} records set aside (not as many fields as the header; "
                f"first at line {self.set_aside[0]})"
            )
        return ", ".join(parts)


def link_key(source: Path, key: bytes, out: Path, date_format: str | None = None) -> KeyedFile:
    """Key ``source``'s attributors with ``key`` and write the keyed file to ``out``."""
    source, out = Path(source), Path(out)
    if out.resolve() == source.resolve():
        raise UsageError(f"--out {out}: is the attributors file; give a new file")
    header, records, lines, aside = _read(source)
    frame = pd.DataFrame(
        {c: [r[header.index(c)] for r in records] for c in ATTRIBUTOR_COLUMNS}, dtype=object
    )
    result = KeyedFile(out, rows=len(records), set_aside=aside)
    for col in ATTRIBUTOR_COLUMNS:
        frame[col] = frame[col].str.strip()
    for col in ("first_initial", "last_initial", "gender"):
        frame[col] = frame[col].str.upper()
    raw_dob = frame["date_of_birth"].to_numpy(dtype=object)
    codes, distinct = pd.factorize(raw_dob)
    dates = _dates(np.asarray(distinct, dtype=object), date_format).to_numpy()
    frame["date_of_birth"] = (
        dates[codes] if len(distinct) else np.array([], dtype="datetime64[ns]")
    )
    keys, complete = key_attributors(frame, key)
    result.keyed = int(complete.sum())
    reasons = _reasons(frame, raw_dob, complete)
    for reason, line in zip(reasons, lines):
        if reason:
            result.unlinkable[reason] += 1
            result.first_line.setdefault(reason, int(line))
    kept = [i for i, h in enumerate(header) if h not in ATTRIBUTOR_COLUMNS]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([KEY_COLUMN, *(header[i] for i in kept)])
    for k, record in zip(keys, records):
        writer.writerow([k, *(record[i] for i in kept)])
    try:
        out.write_text(buffer.getvalue(), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write it: {exc.strerror or exc}") from None
    return result


def _reasons(frame: pd.DataFrame, raw_dob: np.ndarray, complete: np.ndarray) -> list[str]:
    """Why each row's attributor cannot be keyed ("" where it is keyed): a part blank, gender
    ``U``, or a date of birth or gender that is not one (never the value)."""
    out = []
    gender = frame["gender"].to_numpy(dtype=object)
    blank = (frame[["first_initial", "last_initial"]] == "").any(axis=1).to_numpy()
    nat = pd.isna(frame["date_of_birth"]).to_numpy()
    for i in range(len(frame)):
        if complete[i]:
            out.append("")
        elif blank[i] or gender[i] == "" or str(raw_dob[i]).strip() == "":
            out.append("incomplete attributor: a part is blank")
        elif gender[i] == "U":
            out.append("incomplete attributor: gender U")
        elif gender[i] not in GENDERS:
            out.append("gender is not M, F, X or U")
        elif nat[i]:
            out.append("date_of_birth is not a date as given")
        else:
            out.append("incomplete attributor")
    return out


def _read(path: Path) -> tuple[list[str], list[list[str]], list[int], list[int]]:
    """The header (lower-cased, trimmed), the records of the header's width with their line
    numbers, and the lines of records of another width."""
    try:
        text = decode(path, None)[0].text
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ExtractError(f"{path.name}: the file is empty (no header row)") from None
    missing = [c for c in ATTRIBUTOR_COLUMNS if c not in header]
    if missing:
        raise ExtractError(
            f"{path.name}: missing required column(s): {', '.join(missing)} "
            f"(found: {', '.join(h for h in header if h)})"
        )
    if KEY_COLUMN in header:
        raise ExtractError(f"{path.name}: already has a {KEY_COLUMN} column (keyed already?)")
    twice = [c for c in ATTRIBUTOR_COLUMNS if header.count(c) > 1]
    if twice:
        raise ExtractError(f"{path.name}: the header names {twice[0]} more than once; keep one")
    records, lines, aside = [], [], []
    for record in reader:
        line = reader.line_num
        if not any(v.strip() for v in record):
            continue
        if len(record) != len(header):
            aside.append(line)
            continue
        records.append(record)
        lines.append(line)
    return header, records, lines, aside
