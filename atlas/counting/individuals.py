"""Individuals and cohorts (spec section 2: *Individuals*, *Cohorts*, *Residence*).

A person is identified by the attributor: first initial + last initial + date of birth + gender,
upper-cased and trimmed. Client records sharing a complete attributor are one individual across
sites; a record with an incomplete attributor (any part blank, or gender ``U``) is its own
individual. Ties between records dated the same day are broken by file line (later wins), so
results never depend on row order in memory.

Persons are integer ids (0, 1, ... in the sorted order of their keys). Records find their client
record by the extract reader's integer ``client_row``, and each person's values are gathered in
arrays indexed by person id, rather than by joining on text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..extract.reader import CLIENT_ROW, Extract
from .periods import Period
from .substances import substance_group

COHORTS = ("pwid_psychoactive", "pwid_ipeds", "bi")
ALL = "all"
COHORT_ORDER = (ALL, *COHORTS)  # every table's cohort rows, in this order
COHORT_LABELS = {
    ALL: "All individuals",
    "pwid_psychoactive": "PWID: psychoactive drugs",
    "pwid_ipeds": "PWID: steroids & IPEDs",
    "bi": "BI: drug or alcohol",
}


@dataclass
class Individuals:
    """Who was seen in a period, in which cohort, and their activity in that period."""

    period: Period
    person_of: pd.Series  # client_ref -> person id (every accepted client record)
    people: pd.DataFrame  # one row per individual seen, indexed by person id
    nsp: pd.DataFrame  # NSP visits in the period, with a ``person`` column
    interventions: pd.DataFrame  # interventions in the period, with a ``person`` column


def attributors(clients: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Each client record's attributor as text (initials, ISO date of birth, gender; the
    extract reader has already upper-cased and trimmed them) and whether it is complete."""
    text, complete = _attributors(clients)
    return (
        pd.Series(text.to_numpy(zero_copy_only=False), index=clients.index, dtype=object),
        pd.Series(complete, index=clients.index),
    )


def _attributors(clients: pd.DataFrame) -> tuple[pa.Array, np.ndarray]:
    """``attributors`` as pyarrow text and a numpy mask."""
    first, last, gender = (
        pa.array(clients[c].to_numpy(dtype=object), pa.string())
        for c in ("first_initial", "last_initial", "gender")
    )
    # each distinct date of birth formatted once
    codes, dates = pd.factorize(clients["date_of_birth"])
    iso = pa.array([*dates.strftime("%Y-%m-%d"), ""], pa.string())
    dob = pc.take(iso, pa.array(np.where(codes < 0, len(iso) - 1, codes)))
    complete = (
        (clients["first_initial"].to_numpy() != "")
        & (clients["last_initial"].to_numpy() != "")
        & (codes >= 0)
        & clients["gender"].isin(["M", "F", "X"]).to_numpy()
    )
    return pc.binary_join_element_wise(first, last, dob, gender, "|"), complete


def link_clients(clients: pd.DataFrame) -> pd.Series:
    """Map each client_ref to a person id: one id per complete attributor, else per record.
    Ids number the keys (attributor, or ``#client_ref``) in sorted order."""
    attributor, complete = _attributors(clients)
    refs = clients["client_ref"].to_numpy(dtype=object)
    key = pc.if_else(
        pa.array(complete, pa.bool_()),
        attributor,
        pc.binary_join_element_wise("#", pa.array(refs, pa.string()), ""),
    )
    rank = pc.rank(key, sort_keys="ascending", tiebreaker="dense")
    codes = rank.to_numpy().astype(np.int64) - 1
    return pd.Series(codes, index=refs, name="person")


def build_individuals(
    extract: Extract,
    period: Period,
    person_of: pd.Series | None = None,
    cohorts_only: bool = False,
) -> Individuals:
    """Everyone seen in the period with their cohort, main substance and residence inputs
    (``cohorts_only``: just the cohort and main substance, as a trend needs)."""
    clients = extract["clients.csv"]
    if person_of is None:
        person_of = link_clients(clients)
    person_at = _person_at(clients, person_of)
    count = int(person_at.max()) + 1 if len(person_at) else 0  # person ids are 0..count-1
    nsp = _in_period(extract["nsp_transactions.csv"], "visit_date", period, clients, person_at)
    ints = _in_period(
        extract["interventions.csv"], "intervention_date", period, clients, person_at
    )
    has_nsp = _flags(nsp["person"].to_numpy(), count)
    has_intervention = _flags(ints["person"].to_numpy(), count)
    seen = np.flatnonzero(has_nsp | has_intervention)
    a = extract["assessments.csv"]
    a = _with_person(
        a.take(np.flatnonzero((a["assessment_date"] <= period.end).to_numpy())), clients, person_at
    )
    assessments = _ByDate(a, "assessment_date", count, seen)
    main = _main_substance(assessments, _ByDate(nsp, "visit_date", count, seen))
    people = pd.DataFrame(
        {"has_nsp": has_nsp[seen], "has_intervention": has_intervention[seen], **main},
        index=pd.Index(seen, name="person"),
    )
    people["cohort"] = _cohort(people)
    if cohorts_only:
        return Individuals(period, person_of, people, nsp, ints)
    columns = {
        **_residence(assessments, clients, person_at, count, seen, nsp, ints),
        **_profile(assessments, clients, person_at, count, seen, period),
    }
    for name, values in columns.items():
        people[name] = values
    return Individuals(period, person_of, people, nsp, ints)


def row_persons(frame: pd.DataFrame, clients: pd.DataFrame, person_of: pd.Series) -> np.ndarray:
    """The person id of each row of an extract frame that references clients.csv."""
    return _person_at(clients, person_of)[_client_row(frame, clients)]


def _person_at(clients: pd.DataFrame, person_of: pd.Series) -> np.ndarray:
    """The person id of each row of clients.csv's frame."""
    if person_of.index.equals(pd.Index(clients["client_ref"])):
        return person_of.to_numpy(dtype=np.int64)
    return person_of.to_numpy(dtype=np.int64)[
        person_of.index.get_indexer(clients["client_ref"].to_numpy())
    ]


def _client_row(frame: pd.DataFrame, clients: pd.DataFrame) -> np.ndarray:
    """The row in clients.csv's frame of each row's client record: the extract reader's
    ``client_row``, else found by client_ref."""
    if CLIENT_ROW in frame:
        return frame[CLIENT_ROW].to_numpy()
    return pd.Index(clients["client_ref"]).get_indexer(frame["client_ref"].to_numpy())


def _with_person(
    frame: pd.DataFrame, clients: pd.DataFrame, person_at: np.ndarray
) -> pd.DataFrame:
    """Attach the person id (in place: ``frame`` is a fresh frame of the caller's)."""
    frame["person"] = person_at[_client_row(frame, clients)]
    return frame


def _in_period(
    frame: pd.DataFrame,
    date_col: str,
    period: Period,
    clients: pd.DataFrame,
    person_at: np.ndarray,
) -> pd.DataFrame:
    """The rows dated in the period, numbered from 0, with their person id."""
    out = frame.take(np.flatnonzero(period.contains(frame[date_col]).to_numpy()))
    out.index = pd.RangeIndex(len(out))
    return _with_person(out, clients, person_at)


def _flags(person: np.ndarray, count: int) -> np.ndarray:
    """Whether each person id occurs in ``person``."""
    flags = np.zeros(count, dtype=bool)
    flags[person] = True
    return flags


class _ByDate:
    """A frame's rows sorted by a date, then file line, to find each person's latest row
    (persons are integer ids; the values are wanted for the people ``seen``)."""

    def __init__(self, frame: pd.DataFrame, date_col: str, count: int, seen: np.ndarray):
        self.frame = frame
        self.count = count
        self.seen = seen
        self.order = _sort_rows(frame[date_col].to_numpy(), frame["line"].to_numpy())

    def latest(self, where: np.ndarray | None = None) -> np.ndarray:
        """Each person seen's latest row among those ``where`` is true (-1 if none)."""
        order = self.order if where is None else self.order[where[self.order]]
        person = self.frame["person"].to_numpy()
        rows = order[_last_of_each(person[order])]
        return _by_person(person[rows], rows, self.count)[self.seen]

    def pick(self, column: str, rows: np.ndarray) -> np.ndarray:
        """A column's values at rows (from ``latest``), missing where -1."""
        return _pick(self.frame[column], rows)


def _sort_rows(dates: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Row positions by date (NaT last, as pandas sorts), then line."""
    key = np.where(np.isnat(dates), np.iinfo(np.int64).max, dates.view(np.int64))
    return np.lexsort((line, key))


def _last_of_each(person: np.ndarray) -> np.ndarray:
    """Where each person appears for the last time (as ``drop_duplicates(keep="last")``)."""
    return ~pd.Series(person).duplicated(keep="last").to_numpy()


def _by_person(person: np.ndarray, rows: np.ndarray, count: int) -> np.ndarray:
    """A row per person id (-1 for none) from distinct persons and their rows."""
    out = np.full(count, -1, dtype=np.int64)
    out[person] = rows
    return out


def _pick(values: pd.Series, rows: np.ndarray) -> np.ndarray:
    """The values at ``rows``; missing (NaN, or NaT for dates) where a row is -1."""
    arr = values.to_numpy()
    missing = np.datetime64("NaT") if arr.dtype.kind == "M" else np.nan
    out = (
        arr[np.maximum(rows, 0)]
        if len(arr)
        else np.empty(len(rows), dtype=arr.dtype if arr.dtype.kind == "M" else object)
    )
    out[rows < 0] = missing
    return out


def _main_substance(assessments: _ByDate, nsp: _ByDate) -> dict[str, np.ndarray]:
    """Substance 1 of the latest assessment on or before the period's end that has one;
    where there is none, the substance of the latest NSP visit in the period that has one."""
    from_assessment = assessments.latest(assessments.frame["substance_1"].to_numpy() != "")
    from_nsp = nsp.latest(nsp.frame["substance"].to_numpy() != "")
    main, source = nsp.pick("substance", from_nsp), _pick_text(from_nsp >= 0, "nsp_visit")
    has = from_assessment >= 0
    main[has] = assessments.pick("substance_1", from_assessment)[has]
    source[has] = "assessment"
    return {"main_substance": main, "main_substance_source": source}


def _pick_text(mask: np.ndarray, text: str) -> np.ndarray:
    """``text`` where mask is true, else NaN."""
    out = np.full(len(mask), np.nan, dtype=object)
    out[mask] = text
    return out


def _cohort(people: pd.DataFrame) -> pd.Series:
    group = substance_group(people["main_substance"].fillna(""))
    cohort = np.where(
        people["has_nsp"] & (group == "iped"),
        "pwid_ipeds",
        np.where(people["has_nsp"], "pwid_psychoactive", "bi"),
    )
    return pd.Series(cohort, index=people.index)


def _residence(
    assessments: _ByDate,
    clients: pd.DataFrame,
    person_at: np.ndarray,
    count: int,
    seen: np.ndarray,
    nsp: pd.DataFrame,
    ints: pd.DataFrame,
) -> dict[str, np.ndarray]:
    """Residence postcode (latest assessment with one, else client records: the record used at
    the latest activity in the period when they disagree) and the assessment's LA fallback."""
    a = assessments.frame
    from_assessment = assessments.latest(a["postcode"].to_numpy() != "")
    # each client record's latest activity in the period (the earliest time if none)
    last_used = np.full(len(clients), pd.Timestamp.min.value, dtype=np.int64)
    np.maximum.at(
        last_used,
        np.concatenate([_client_row(nsp, clients), _client_row(ints, clients)]),
        np.concatenate(
            [
                nsp["visit_date"].to_numpy().view(np.int64),
                ints["intervention_date"].to_numpy().view(np.int64),
            ]
        ),
    )
    records = np.flatnonzero(clients["postcode"].to_numpy() != "")
    order = records[np.lexsort((clients["line"].to_numpy()[records], last_used[records]))]
    used = order[_last_of_each(person_at[order])]
    from_client = _by_person(person_at[used], used, count)[seen]
    postcode = _pick(clients["postcode"], from_client)
    source = _pick_text(from_client >= 0, "client")
    has = from_assessment >= 0
    postcode[has] = assessments.pick("postcode", from_assessment)[has]
    source[has] = "assessment"
    fallback = assessments.latest(a["local_authority"].to_numpy() != "")
    return {
        "residence_postcode": postcode,
        "residence_source": source,
        "assessment_la": assessments.pick("local_authority", fallback),
    }


def _profile(
    assessments: _ByDate,
    clients: pd.DataFrame,
    person_at: np.ndarray,
    count: int,
    seen: np.ndarray,
    period: Period,
) -> dict[str, np.ndarray | pd.Series]:
    """Gender, age at the period's end and the latest assessment's circumstances (reports)."""
    order = np.argsort(clients["line"].to_numpy(), kind="stable")
    first_rows = order[~pd.Series(person_at[order]).duplicated(keep="first").to_numpy()]
    first = _by_person(person_at[first_rows], first_rows, count)[seen]
    gender = clients["gender"].to_numpy()[first]
    dob = pd.Series(clients["date_of_birth"].to_numpy()[first])
    age = (
        period.end.year
        - dob.dt.year
        - (
            (dob.dt.month > period.end.month)
            | ((dob.dt.month == period.end.month) & (dob.dt.day > period.end.day))
        )
    )
    latest = assessments.latest()
    columns = {"gender": np.where(gender == "", "U", gender), "age": age.astype("Int64").array}
    for col in ("accommodation", "employment", "parental_status", "substance_2"):
        columns[col] = assessments.pick(col, latest)
    columns["latest_assessment"] = assessments.pick("assessment_date", latest)
    columns["ethnicity"] = _ethnicity(clients, person_at, order, count, seen)
    return columns


def _ethnicity(
    clients: pd.DataFrame, person_at: np.ndarray, order: np.ndarray, count: int, seen: np.ndarray
) -> np.ndarray:
    """Each person's ethnicity: that of their first client record (by line) that records one;
    missing where none does (or the extract has no ``ethnicity`` column)."""
    if "ethnicity" not in clients:
        return np.full(len(seen), np.nan, dtype=object)
    text = clients["ethnicity"].fillna("").astype(str).str.strip().to_numpy()
    rows = order[text[order] != ""]
    first = rows[~pd.Series(person_at[rows]).duplicated(keep="first").to_numpy()]
    return _pick(clients["ethnicity"], _by_person(person_at[first], first, count)[seen])
