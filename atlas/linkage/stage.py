"""The linkage stage of a build (``[linkage]``): key the IMS individuals, read the partner
files, count the treatment match and the deaths as cells for disclosure control.

Runs after counting and before disclosure control (``drop.compute_stages``). What it returns
holds no attributor and no key: the keyed attributors are kept only so that the audit's
identifier scan can look for them (and for the key) in every published file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..counting.individuals import Individuals
from ..counting.report_counts import CellSet
from ..errors import ExtractError
from ..extract.reader import Extract
from ..geography.areas import Geography
from .deaths import DeathCounts, count_deaths
from .keys import KEY_COLUMN, person_keys, read_key
from .partner_files import read_partner
from .treatment import TreatmentMatch, match_treatment

log = logging.getLogger(__name__)

# a keyed file matching fewer than this share of its keyed people with IMS clients, from
# this many on, was very likely keyed with another key file
WRONG_KEY_SHARE = 0.005
WRONG_KEY_ROWS = 200


@dataclass
class Linkage:
    """The linked counts (cells, before protection), the rows set aside, and the ledger."""

    cells: list[CellSet] = field(default_factory=list)
    rejects: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["file", "line", "reason"])
    )
    ledger: dict[str, Any] = field(default_factory=dict)  # row counts: published
    private: dict[str, Any] = field(default_factory=dict)  # exact counts of people
    treatment: TreatmentMatch | None = None
    deaths: DeathCounts | None = None
    secrets: list[str] = field(default_factory=list)  # keyed attributors and the key's text
    postcodes: list[str] = field(default_factory=list)  # the deaths' postcodes
    warnings: list[str] = field(default_factory=list)


def run_linkage(
    options: dict[str, Any],
    extract: Extract,
    ind: Individuals,
    geo: Geography,
    sites: pd.DataFrame,
    years: int,
) -> Linkage:
    """The ``[linkage]`` section's treatment match and deaths (``options``: ``key_file``,
    ``treatment``, ``deaths`` as resolved paths)."""
    key = read_key(options["key_file"], "linkage.key_file")
    person_of = ind.person_of
    person_key = person_keys(extract["clients.csv"], person_of, key)
    out = Linkage(secrets=[*person_key.tolist(), *_key_words(key)])
    rejects = []
    if options.get("treatment"):
        file = read_partner(
            Path(options["treatment"]),
            (KEY_COLUMN,),
            ("la_code", "start_date", "end_date"),
            dates=("start_date", "end_date"),
            codes=("la_code",),
        )
        match = match_treatment(file, ind, person_key, sites, geo.la_codes)
        out.treatment = match
        out.cells += match.cells
        rejects += [file.rejects, match.rejects]
        out.ledger["treatment"] = match.ledger
        out.private["treatment"] = match.private
        _wrong_key(file.name, match.matched_any, match.keyed_people, out)
    if options.get("deaths"):
        file = read_partner(
            Path(options["deaths"]),
            (KEY_COLUMN, "date_of_death"),
            ("postcode", "local_authority", "cause"),
            dates=("date_of_death",),
            codes=("local_authority",),
            nonblank=("date_of_death",),
        )
        if not {"postcode", "local_authority"} & set(file.header):
            raise ExtractError(
                f"{file.name}: missing required column(s): postcode or local_authority "
                f"(found: {', '.join(h for h in file.header if h)})"
            )
        deaths = count_deaths(
            file, extract, person_key, person_of, geo.directory, geo.la_codes, ind.period, years
        )
        out.deaths = deaths
        out.cells.append(deaths.cells)
        rejects += [file.rejects, deaths.rejects]
        out.ledger["deaths"] = deaths.ledger
        out.private["deaths"] = deaths.private
        out.postcodes = deaths.postcodes
        _wrong_key(file.name, deaths.matched_any, deaths.keyed, out)
    if rejects:
        out.rejects = pd.concat(rejects, ignore_index=True)[["file", "line", "reason"]]
    return out


def _wrong_key(name: str, matched: int, keyed: int, out: Linkage) -> None:
    """One line when a keyed file matches almost none of the IMS clients: keyed with another
    key file (or another normalisation), so its counts would say no one was reached."""
    if keyed >= WRONG_KEY_ROWS and matched < WRONG_KEY_SHARE * keyed:
        note = (
            f"{name}: only {matched:,} of its {keyed:,} keyed attributors match an IMS client "
            f"(under {WRONG_KEY_SHARE:.1%}); was it keyed with another key file? Check that "
            "the partner used the same [linkage] key_file with ims-atlas link-key"
        )
        log.warning(note)
        out.warnings.append(note)
        out.ledger["possible_wrong_key"] = sorted(
            {*out.ledger.get("possible_wrong_key", []), name}
        )


def _key_words(key: bytes) -> list[str]:
    """The key's text as it could be published (its lines, and its bytes in hex)."""
    words = [key.hex()]
    try:
        text = key.decode("utf-8")
    except UnicodeDecodeError:
        return words
    words += [line.strip() for line in text.splitlines() if len(line.strip()) >= 8]
    return words
