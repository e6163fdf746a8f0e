"""The treatment match (issue 18, item 2): the individuals seen in the period who were in
structured treatment in it, per cohort and service LA, as the IMS data match reports it.

A treatment row is in the period when it starts on or before the period's end (or gives no
start) and ends on or after its start (or gives no end); a file without dates counts every
row as in treatment in the period. The IMS side is the service-LA table's people: a person
counts in every LA where they used a service, so LA rows need not add up to the area. Per
area and cohort, ``seen`` (the spec table's cell) = ``both`` + ``ims_only``; the people in
treatment who were not seen (``treatment_only``) have no cohort and are counted by the
treatment file's ``la_code`` (``UNKNOWN`` where blank, ``OUTSIDE`` for another LA), adding to
the area's. Every figure is a cell of the drop's one disclosure-control problem.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..counting.individuals import ALL, COHORT_ORDER, COHORTS, Individuals
from ..counting.periods import Period
from ..counting.report_counts import CellSet, svc_id
from ..counting.tally import TOTAL, activity_rows, distinct_pairs, positions
from .keys import KEY_COLUMN, KeySet, member
from .partner_files import PartnerFile

NAME = "linkage_treatment"
ONLY_NAME = "linkage_treatment_only"
MEASURES = ("both", "ims_only")
OUTSIDE, UNKNOWN = "OUTSIDE", "UNKNOWN"


def treat_id(area: str, cohort: str, measure: str) -> str:
    """The id of a treatment-match cell: ``treat:<la or TOTAL>:<cohort>:<both|ims_only>``."""
    return f"treat:{area}:{cohort}:{measure}"


def only_id(area: str) -> str:
    """The id of the people in treatment not seen in IMS, by the treatment file's LA."""
    return f"treat:{area}:treatment_only"


@dataclass
class TreatmentMatch:
    """The treatment match's cells, the rows of the file that could not be used, and its
    exact figures for the private ledger."""

    cells: list[CellSet]
    rejects: pd.DataFrame
    ledger: dict[str, int]
    private: dict[str, int]
    matched_any: int  # keyed people of the file who are IMS clients of any period
    keyed_people: int  # distinct keyed attributors of the file


def in_period(rows: pd.DataFrame, period: Period) -> tuple[np.ndarray, np.ndarray]:
    """Which rows are in treatment in the period, and which end before they start."""
    start = rows["start_date"] if "start_date" in rows else pd.Series(pd.NaT, index=rows.index)
    end = rows["end_date"] if "end_date" in rows else pd.Series(pd.NaT, index=rows.index)
    backwards = (start.notna() & end.notna() & (end < start)).to_numpy()
    inside = (start.isna() | (start <= period.end)) & (end.isna() | (end >= period.start))
    return inside.to_numpy() & ~backwards, backwards


def match_treatment(
    file: PartnerFile,
    ind: Individuals,
    person_key: pd.Series,
    sites: pd.DataFrame,
    la_codes: list[str],
) -> TreatmentMatch:
    """Count the match of ``file`` (a keyed treatment file) with the individuals seen.
    ``person_key``: each linked IMS person id's keyed attributor (every person of the
    extract, seen in the period or not)."""
    rows = file.rows
    inside, backwards = in_period(rows, ind.period)
    rejects = pd.DataFrame(
        {
            "file": file.name,
            "line": rows["line"].to_numpy()[backwards],
            "reason": "end_date: before start_date",
        }
    )
    keyed = rows[KEY_COLUMN].to_numpy(dtype=object) != ""
    current = rows[inside & keyed]
    current_keys = KeySet(current[KEY_COLUMN])
    keys_in = KeySet(pd.unique(current_keys.text))
    ims_keys = KeySet(person_key)
    seen = ind.people.index.to_numpy()
    seen_keys = KeySet(person_key.reindex(seen))  # blank: an incomplete attributor
    in_treatment = member(seen_keys, keys_in)  # per person seen
    cohort = ind.people["cohort"].to_numpy()
    # the people seen at each LA's services
    person, site = activity_rows(ind, sites)
    la_pos = positions(sites["la_code"], la_codes)
    la_of = np.where(site >= 0, la_pos[np.maximum(site, 0)], -1)
    la, who = distinct_pairs(la_of, person)
    # (area, person seen) pairs: each LA's people, then everyone seen for the area (TOTAL)
    areas = [*la_codes, TOTAL]
    area = np.concatenate([la, np.full(len(seen), len(la_codes))])
    row = np.concatenate([pd.Index(seen).get_indexer(who), np.arange(len(seen))])
    kind = positions(cohort[row], list(COHORTS))
    group = (area * len(COHORTS) + kind) * 2 + in_treatment[row].astype(np.int64)
    n = np.bincount(group, minlength=len(areas) * len(COHORTS) * 2).reshape(len(areas), -1, 2)
    table = []
    for a, code in enumerate(areas):
        for c in COHORT_ORDER:
            only, both = n[a].sum(axis=0) if c == ALL else n[a, COHORTS.index(c)]
            table.append((code, c, "both", treat_id(code, c, "both"), int(both)))
            table.append((code, c, "ims_only", treat_id(code, c, "ims_only"), int(only)))
    frame = pd.DataFrame(table, columns=["la_code", "cohort", "measure", "cell_id", "individuals"])
    groups, at_most = [], []
    for code in areas:
        for c in COHORT_ORDER:
            groups.append((svc_id(code, c), [treat_id(code, c, m) for m in MEASURES]))
        for m in MEASURES:
            groups.append((treat_id(code, ALL, m), [treat_id(code, c, m) for c in COHORTS]))
            if code != TOTAL:
                at_most += [(treat_id(code, c, m), treat_id(TOTAL, c, m)) for c in COHORT_ORDER]
    match = CellSet(NAME, frame, groups, at_most=at_most)
    only = _treatment_only(current[~member(current_keys, seen_keys)], la_codes)
    linked_any = int(member(keys_in, ims_keys).sum())
    all_keys = KeySet(pd.unique(rows.loc[keyed, KEY_COLUMN].to_numpy(dtype=object)))
    matched_any = int(member(all_keys, ims_keys).sum())
    both_total = int(in_treatment.sum())
    return TreatmentMatch(
        [match, only],
        rejects,
        {
            "rows_read": file.read,
            "rows_rejected": len(file.rejects) + int(backwards.sum()),
            "rows_not_linkable": int((~keyed).sum()),
            "rows_in_period": int(inside.sum()),
        },
        {
            "people_in_treatment": len(keys_in),
            "both": both_total,
            "treatment_only": len(keys_in) - both_total,
            "ims_clients_of_any_period": linked_any,
        },
        matched_any,
        len(all_keys),
    )


def _treatment_only(rows: pd.DataFrame, la_codes: list[str]) -> CellSet:
    """The people in treatment in the period not seen in IMS (``rows``: theirs), by the LA
    of their latest row (by start date, then line): ``UNKNOWN`` where blank, ``OUTSIDE`` for
    an LA not the drop's."""
    order = ["start_date", "line"] if "start_date" in rows else ["line"]
    latest = rows.sort_values(order, na_position="first").drop_duplicates(KEY_COLUMN, keep="last")
    la = latest["la_code"] if "la_code" in latest else pd.Series("", index=latest.index)
    area = np.where(la == "", UNKNOWN, np.where(la.isin(la_codes), la, OUTSIDE))
    counts = pd.Series(area).value_counts()
    parts = [*la_codes, OUTSIDE, UNKNOWN]
    frame = pd.DataFrame(
        {
            "la_code": [*parts, TOTAL],
            "cell_id": [only_id(a) for a in [*parts, TOTAL]],
            "individuals": [int(counts.get(a, 0)) for a in parts] + [len(latest)],
        }
    )
    return CellSet(ONLY_NAME, frame, [(only_id(TOTAL), [only_id(a) for a in parts])])
