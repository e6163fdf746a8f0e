"""Drug-related deaths (issue 18, item 3): deaths by LA of residence and financial year, and
how many of the dead had contact with an IMS service in the 12 months before death.

The LA of residence is the death's postcode geocoded (never published), else its
``local_authority``: ``OUTSIDE`` for an LA not the drop's, ``UNKNOWN`` for none. Contact is an
NSP visit or an intervention of the linked IMS person dated in the 12 months up to the day of
death (the whole extract, not only the drop's period); its kind follows the cohort rule: NSP
where there was a visit, else a brief intervention. A death whose attributor was incomplete
cannot be linked and is counted apart. Per year and area:
``deaths = contact + no_contact + not_linkable`` and ``contact = contact_nsp + contact_bi``;
per year and measure the LAs, ``OUTSIDE`` and ``UNKNOWN`` add to ``TOTAL``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..counting.periods import FinancialYear, Period, financial_year_start
from ..counting.report_counts import CellSet
from ..counting.tally import TOTAL
from ..extract.reader import CLIENT_ROW, Extract
from ..geography.geocode import geocode
from .keys import KEY_COLUMN
from .partner_files import PartnerFile

NAME = "linkage_deaths"
MEASURES = ("deaths", "contact", "contact_nsp", "contact_bi", "no_contact", "not_linkable")
OUTSIDE, UNKNOWN = "OUTSIDE", "UNKNOWN"


def death_id(year: str, area: str, measure: str) -> str:
    """The id of a deaths cell: ``drd:<year>:<la, OUTSIDE, UNKNOWN or TOTAL>:<measure>``."""
    return f"drd:{year}:{area}:{measure}"


@dataclass
class DeathCounts:
    """The deaths' cells, the rows set aside, row counts (published) and exact figures."""

    cells: CellSet
    years: list[str]
    rejects: pd.DataFrame
    ledger: dict[str, int]
    private: dict[str, int]
    postcodes: list[str]  # the deaths' postcodes as given: for the identifier scan only
    matched_any: int  # keyed deaths that are IMS clients
    keyed: int  # keyed deaths


def death_years(period: Period, years: int) -> list[FinancialYear]:
    """The financial years shown: ``years`` of them, ending with the one holding the period's
    end."""
    last = int(financial_year_start(pd.Series([period.end])).iloc[0])
    return [FinancialYear(y) for y in range(last - years + 1, last + 1)]


def count_deaths(
    file: PartnerFile,
    extract: Extract,
    person_key: pd.Series,
    person_of: pd.Series,
    directory: pd.DataFrame,
    la_codes: list[str],
    period: Period,
    years: int,
) -> DeathCounts:
    """Count the deaths register ``file`` (keyed) by LA of residence and year, with contact."""
    rows = file.rows
    key = rows[KEY_COLUMN].to_numpy(dtype=object)
    keyed = key != ""
    again = pd.Series(key).where(keyed).duplicated().to_numpy() & keyed
    rejects = pd.DataFrame(
        {
            "file": file.name,
            "line": rows["line"].to_numpy()[again],
            "reason": f"{KEY_COLUMN}: the same person's death is on an earlier line",
        }
    )
    rows = rows[~again].reset_index(drop=True)
    shown = death_years(period, years)
    when = rows["date_of_death"]
    inside = ((when >= shown[0].start) & (when <= period.end)).to_numpy()
    rows, outside_years = rows[inside].reset_index(drop=True), int((~inside).sum())
    area = _residence(rows, directory, la_codes)
    year = (
        financial_year_start(rows["date_of_death"])
        .astype(int)
        .map(lambda y: FinancialYear(y).label)
    )
    kind = _contact(rows, extract, person_key, person_of)
    measure = np.where(rows[KEY_COLUMN].to_numpy(dtype=object) == "", "not_linkable", kind)
    labels = [y.label for y in shown]
    parts = [*la_codes, OUTSIDE, UNKNOWN]
    counted = pd.DataFrame({"year": year.to_numpy(), "area": area, "measure": measure})
    base = ["contact_nsp", "contact_bi", "no_contact", "not_linkable"]
    areas = [*parts, TOTAL]
    grid = pd.MultiIndex.from_product([labels, parts], names=["year", "area"])
    wide = (
        counted.groupby(["year", "area", "measure"])
        .size()
        .unstack("measure")
        .reindex(index=grid, columns=base)
        .fillna(0)
        .astype(np.int64)
    )
    total = wide.groupby(level="year").sum()
    total.index = pd.MultiIndex.from_product([total.index, [TOTAL]], names=["year", "area"])
    wide = pd.concat([wide, total]).reindex(
        pd.MultiIndex.from_product([labels, areas], names=["year", "area"])
    )
    wide["contact"] = wide["contact_nsp"] + wide["contact_bi"]
    wide["deaths"] = wide["contact"] + wide["no_contact"] + wide["not_linkable"]
    long = wide[list(MEASURES)].stack().rename("individuals").reset_index()
    long.columns = ["year", "la_code", "measure", "individuals"]
    long["cell_id"] = [
        death_id(y, a, m) for y, a, m in zip(long["year"], long["la_code"], long["measure"])
    ]
    frame = long[["year", "la_code", "measure", "cell_id", "individuals"]]
    groups = []
    for y in labels:
        for a in areas:
            groups.append(
                (
                    death_id(y, a, "deaths"),
                    [death_id(y, a, m) for m in ("contact", "no_contact", "not_linkable")],
                )
            )
            groups.append(
                (
                    death_id(y, a, "contact"),
                    [death_id(y, a, m) for m in ("contact_nsp", "contact_bi")],
                )
            )
        for m in MEASURES:
            groups.append((death_id(y, TOTAL, m), [death_id(y, a, m) for a in parts]))
    keyed_rows = rows[KEY_COLUMN].to_numpy(dtype=object) != ""
    matched = int(pd.Index(rows.loc[keyed_rows, KEY_COLUMN]).isin(person_key.to_numpy()).sum())
    postcodes = (
        [p for p in file.rows["postcode"].astype(str) if p] if "postcode" in file.rows else []
    )
    return DeathCounts(
        CellSet(NAME, frame, groups),
        labels,
        rejects,
        {
            "rows_read": file.read,
            "rows_rejected": len(file.rejects) + int(again.sum()),
            "rows_not_linkable": int((~keyed_rows).sum()),
            "rows_outside_the_years": outside_years,
        },
        {
            "deaths": len(rows),
            "contact": int(np.isin(measure, ("contact_nsp", "contact_bi")).sum()),
            "not_linkable": int((measure == "not_linkable").sum()),
            "linked_to_ims": matched,
        },
        postcodes,
        matched,
        int(keyed_rows.sum()),
    )


def _residence(rows: pd.DataFrame, directory: pd.DataFrame, la_codes: list[str]) -> np.ndarray:
    """Each death's LA of residence: its postcode's, else its ``local_authority``; ``OUTSIDE``
    for an LA not the drop's, ``UNKNOWN`` for none."""
    if "postcode" in rows:
        coded = geocode(rows["postcode"].astype(str), directory, set(la_codes))
        la = coded["la_code"].astype(object).where(coded["la_code"].notna(), "").to_numpy()
    else:
        la = np.full(len(rows), "", dtype=object)
    if "local_authority" in rows:
        given = rows["local_authority"].astype(str).to_numpy(dtype=object)
        la = np.where(la == "", given, la)
    la = la.astype(object)
    known = np.isin(la, la_codes)
    return np.where(la == "", UNKNOWN, np.where(known, la, OUTSIDE)).astype(object)


def _contact(
    rows: pd.DataFrame, extract: Extract, person_key: pd.Series, person_of: pd.Series
) -> np.ndarray:
    """Per death: ``contact_nsp``, ``contact_bi`` or ``no_contact`` in the 12 months up to
    the day of death (by the linked IMS person's activity in the whole extract)."""
    person_by_key = pd.Series(person_key.index.to_numpy(), index=person_key.to_numpy())
    person = person_by_key.reindex(rows[KEY_COLUMN].to_numpy()).to_numpy()
    deaths = pd.DataFrame({"death": np.arange(len(rows)), "person": person})
    deaths = deaths.dropna().astype({"person": np.int64})
    deaths["died"] = rows["date_of_death"].to_numpy()[deaths["death"].to_numpy()]
    clients = extract["clients.csv"]
    person_at = person_of.reindex(clients["client_ref"].to_numpy()).to_numpy()
    found = {}
    for kind, name, date in (
        ("contact_nsp", "nsp_transactions.csv", "visit_date"),
        ("contact_bi", "interventions.csv", "intervention_date"),
    ):
        frame = extract[name]
        activity = pd.DataFrame(
            {"person": person_at[frame[CLIENT_ROW].to_numpy()], "when": frame[date].to_numpy()}
        )
        joined = deaths.merge(activity, on="person")
        window = (joined["when"] <= joined["died"]) & (
            joined["when"] > joined["died"] - pd.DateOffset(years=1)
        )
        found[kind] = set(joined.loc[window, "death"])
    out = np.full(len(rows), "no_contact", dtype=object)
    out[list(found["contact_bi"])] = "contact_bi"
    out[list(found["contact_nsp"])] = "contact_nsp"
    return out
