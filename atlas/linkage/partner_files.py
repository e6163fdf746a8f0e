"""Reading a partner's keyed file (``[linkage] treatment`` or ``deaths``) as the extract's
files are read: UTF-8 or Windows-1252, columns by name in any case and order, and every row
either accepted or set aside for ``rejects.csv`` with the file's name, its line and a reason
that names the column and the problem, never the value.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ExtractError
from ..extract.csv_text import decode, read_rows
from ..extract.reader import ONS_CODE_RE, _dates
from .keys import KEY_COLUMN

log = logging.getLogger(__name__)
HEX64 = r"^[0-9a-f]{64}$"


@dataclass
class PartnerFile:
    """A partner file's accepted rows (``line`` and text columns, dates parsed), and its
    rejects (``file``, ``line``, ``reason``)."""

    name: str
    rows: pd.DataFrame
    rejects: pd.DataFrame
    read: int
    header: list[str]


def read_partner(
    path: Path,
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
    dates: tuple[str, ...] = (),
    codes: tuple[str, ...] = (),
    nonblank: tuple[str, ...] = (),
) -> PartnerFile:
    """Read a keyed partner file: ``attributor_key`` must be blank (an incomplete attributor)
    or 64 hex digits; ``dates`` ISO dates (blank allowed unless ``nonblank``); ``codes`` ONS
    area codes (blank allowed)."""
    name = path.name
    try:
        source, note = decode(path, None)
    except OSError as exc:
        raise ExtractError(f"{name}: cannot read it: {exc.strerror or exc}") from None
    case: dict[str, Callable[[str], str]] = {KEY_COLUMN: str.lower}
    case.update({c: str.upper for c in codes})
    rows, bad = read_rows(name, source, required, optional, case)
    n = len(rows.lines)
    every = np.arange(n)
    text = {c: rows.columns[c].values(every) for c in (*required, *optional)}
    frame = pd.DataFrame({"line": rows.lines, **text})
    problems: list[list[str]] = [[] for _ in range(n)]

    def flag(mask: np.ndarray, reason: str) -> None:
        for i in np.flatnonzero(mask):
            problems[i].append(reason)

    key = frame[KEY_COLUMN].astype(str)
    flag(
        ((key != "") & ~key.str.match(HEX64)).to_numpy(),
        f"{KEY_COLUMN}: not a keyed attributor (64 hex digits, as ims-atlas link-key writes)",
    )
    for col in nonblank:
        flag((frame[col] == "").to_numpy(), f"{col}: blank")
    for col in dates:
        parsed = _dates(frame[col].to_numpy(dtype=object), None)
        flag(
            ((frame[col] != "") & parsed.isna().to_numpy()).to_numpy(),
            f"{col}: not a valid ISO date (YYYY-MM-DD)",
        )
        frame[col] = parsed.to_numpy()
    for col in codes:
        value = frame[col].astype(str)
        flag(
            ((value != "") & ~value.str.match(ONS_CODE_RE)).to_numpy(),
            f"{col}: not an ONS area code",
        )
    bad_rows = np.array([bool(p) for p in problems], dtype=bool)
    rejects = pd.concat(
        [
            bad.assign(file=name),
            pd.DataFrame(
                {
                    "file": name,
                    "line": frame["line"].to_numpy()[bad_rows],
                    "reason": ["; ".join(p) for p in problems if p],
                }
            ),
        ],
        ignore_index=True,
    )
    rejects = (
        rejects[["file", "line", "reason"]]
        .astype({"line": int})
        .sort_values("line", kind="stable")
    )
    if note:  # read as Windows-1252: said once, as for the extract's files
        log.warning(note)
    accepted = frame[~bad_rows].reset_index(drop=True)
    return PartnerFile(name, accepted, rejects.reset_index(drop=True), n + len(bad), rows.header)
