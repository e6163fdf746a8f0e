"""Individuals and cohorts (spec section 2: *Individuals*, *Cohorts*, *Residence*).

A person is identified by the attributor: first initial + last initial + date of birth + gender,
upper-cased and trimmed. Client records sharing a complete attributor are one individual across
sites; a record with an incomplete attributor (any part blank, or gender ``U``) is its own
individual. Ties between records dated the same day are broken by file line (later wins), so
results never depend on row order in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .extract import Extract
from .periods import FinancialYear
from .substances import substance_group

COHORTS = ("pwid_psychoactive", "pwid_ipeds", "bi")
ALL = "all"
COHORT_LABELS = {
    ALL: "All individuals",
    "pwid_psychoactive": "PWID: psychoactive drugs",
    "pwid_ipeds": "PWID: steroids & IPEDs",
    "bi": "BI: drug or alcohol",
}


@dataclass
class Individuals:
    """Who was seen in a period, in which cohort, and their activity in that period."""

    period: FinancialYear
    person_of: pd.Series  # client_ref -> person id (every accepted client record)
    people: pd.DataFrame  # one row per individual seen, indexed by person id
    nsp: pd.DataFrame  # NSP visits in the period, with a ``person`` column
    interventions: pd.DataFrame  # interventions in the period, with a ``person`` column


def attributors(clients: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Each client record's attributor as text (initials, ISO date of birth, gender; the
    extract reader has already upper-cased and trimmed them) and whether it is complete."""
    complete = ((clients["first_initial"] != "") & (clients["last_initial"] != "")
                & clients["date_of_birth"].notna() & clients["gender"].isin(["M", "F", "X"]))
    text = (clients["first_initial"] + "|" + clients["last_initial"] + "|"
            + clients["date_of_birth"].dt.strftime("%Y-%m-%d").fillna("") + "|"
            + clients["gender"])
    return text, complete


def link_clients(clients: pd.DataFrame) -> pd.Series:
    """Map each client_ref to a person id: one id per complete attributor, else per record."""
    attributor, complete = attributors(clients)
    key = attributor.where(complete, "#" + clients["client_ref"])
    codes, _ = pd.factorize(key, sort=True)
    return pd.Series(codes, index=clients["client_ref"].to_numpy(), name="person")


def build_individuals(extract: Extract, period: FinancialYear,
                      person_of: pd.Series | None = None,
                      cohorts_only: bool = False) -> Individuals:
    """Everyone seen in the period with their cohort, main substance and residence inputs
    (``cohorts_only``: just the cohort and main substance, as a trend needs)."""
    if person_of is None:
        person_of = link_clients(extract["clients.csv"])
    nsp = _in_period(extract["nsp_transactions.csv"], "visit_date", period, person_of)
    ints = _in_period(extract["interventions.csv"], "intervention_date", period, person_of)
    seen = np.union1d(nsp["person"].unique(), ints["person"].unique())
    people = pd.DataFrame(index=pd.Index(seen, name="person"))
    people["has_nsp"] = people.index.isin(nsp["person"])
    people["has_intervention"] = people.index.isin(ints["person"])
    assessments = _with_person(extract["assessments.csv"], person_of)
    assessments = assessments[assessments["assessment_date"] <= period.end]
    people = people.join(_main_substance(assessments, nsp))
    people["cohort"] = _cohort(people)
    if cohorts_only:
        return Individuals(period, person_of, people, nsp, ints)
    people = people.join(_residence(assessments, extract["clients.csv"], person_of, nsp, ints))
    people = people.join(_profile(assessments, extract["clients.csv"], person_of, period))
    return Individuals(period, person_of, people, nsp, ints)


def client_rows(refs: pd.Series, person_of: pd.Series) -> np.ndarray:
    """The position in ``person_of`` of each client_ref (one hash lookup per row; the refs
    are unique, and every accepted row references an accepted client record)."""
    return person_of.index.get_indexer(refs.to_numpy())


def persons(refs: pd.Series, person_of: pd.Series) -> np.ndarray:
    """The person id of each client_ref, as integers."""
    return person_of.to_numpy(dtype=np.int64)[client_rows(refs, person_of)]


def _with_person(frame: pd.DataFrame, person_of: pd.Series) -> pd.DataFrame:
    """Attach the person id (every accepted row references an accepted client record)."""
    return frame.assign(person=persons(frame["client_ref"], person_of))


def _in_period(frame: pd.DataFrame, date_col: str, period: FinancialYear,
               person_of: pd.Series) -> pd.DataFrame:
    return _with_person(frame[period.contains(frame[date_col])], person_of).reset_index(drop=True)


def _latest(frame: pd.DataFrame, date_col: str, value_cols: list[str]) -> pd.DataFrame:
    """Per person, the values of the latest row (by date, then file line)."""
    last = frame.sort_values([date_col, "line"]).drop_duplicates("person", keep="last")
    return last.set_index("person")[value_cols]


def _main_substance(assessments: pd.DataFrame, nsp: pd.DataFrame) -> pd.DataFrame:
    """Substance 1 of the latest assessment on or before the period's end that has one;
    where there is none, the substance of the latest NSP visit in the period that has one."""
    from_assessment = _latest(assessments[assessments["substance_1"] != ""],
                              "assessment_date", ["substance_1"])["substance_1"]
    from_nsp = _latest(nsp[nsp["substance"] != ""], "visit_date", ["substance"])["substance"]
    main = from_assessment.combine_first(from_nsp)
    source = pd.Series("assessment", index=from_assessment.index).combine_first(
        pd.Series("nsp_visit", index=from_nsp.index))
    out = pd.DataFrame({"main_substance": main, "main_substance_source": source})
    out.index.name = "person"
    return out


def _cohort(people: pd.DataFrame) -> pd.Series:
    group = substance_group(people["main_substance"].fillna(""))
    cohort = np.where(people["has_nsp"] & (group == "iped"), "pwid_ipeds",
                      np.where(people["has_nsp"], "pwid_psychoactive", "bi"))
    return pd.Series(cohort, index=people.index)


def _residence(assessments: pd.DataFrame, clients: pd.DataFrame, person_of: pd.Series,
               nsp: pd.DataFrame, ints: pd.DataFrame) -> pd.DataFrame:
    """Residence postcode (latest assessment with one, else client records: the record used at
    the latest activity in the period when they disagree) and the assessment's LA fallback."""
    from_assessment = _latest(assessments[assessments["postcode"] != ""], "assessment_date",
                              ["postcode"])["postcode"]
    records = _with_person(clients[clients["postcode"] != ""], person_of)
    rows = np.concatenate([client_rows(nsp["client_ref"], person_of),
                           client_rows(ints["client_ref"], person_of)])
    dates = pd.concat([nsp["visit_date"], ints["intervention_date"]], ignore_index=True)
    last_used = dates.groupby(rows).max()
    records = records.assign(last_used=pd.Series(client_rows(records["client_ref"], person_of),
                                                 index=records.index).map(last_used)
                             .fillna(pd.Timestamp.min))
    from_client = (records.sort_values(["last_used", "line"])
                   .drop_duplicates("person", keep="last").set_index("person")["postcode"])
    postcode = from_assessment.combine_first(from_client)
    source = pd.Series("assessment", index=from_assessment.index).combine_first(
        pd.Series("client", index=from_client.index))
    fallback_la = _latest(assessments[assessments["local_authority"] != ""], "assessment_date",
                          ["local_authority"])["local_authority"]
    out = pd.DataFrame({"residence_postcode": postcode, "residence_source": source})
    return out.join(fallback_la.rename("assessment_la"), how="outer")


def _profile(assessments: pd.DataFrame, clients: pd.DataFrame, person_of: pd.Series,
             period: FinancialYear) -> pd.DataFrame:
    """Gender, age at the period's end and the latest assessment's circumstances (reports)."""
    records = _with_person(clients, person_of).sort_values("line")
    first = records.drop_duplicates("person", keep="first").set_index("person")
    dob = first["date_of_birth"]
    age = (period.end.year - dob.dt.year
           - ((dob.dt.month > period.end.month)
              | ((dob.dt.month == period.end.month) & (dob.dt.day > period.end.day))))
    latest = _latest(assessments, "assessment_date",
                     ["accommodation", "employment", "parental_status", "substance_2"])
    out = pd.DataFrame({"gender": first["gender"].replace("", "U"), "age": age.astype("Int64")})
    out = out.join(latest, how="left").join(
        _latest(assessments, "assessment_date", ["assessment_date"]).rename(
            columns={"assessment_date": "latest_assessment"}), how="left")
    return out
