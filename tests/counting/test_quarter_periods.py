"""Quarter periods (spec section 5): with ``period = "2018-19 Q2"`` every rule of spec section 2
applies with the 12 months 1 October 2017 – 30 September 2018 as the period. Each rule on a
hand-counted extract (all activity at S1, in Alpha):

    Q  NSP visit on 1 Aug 2018 only (in the quarter)                       -> psychoactive
    B  interventions on 1 Nov 2017 and 1 May 2018 (the quarters before)    -> BI
    X  NSP visits 15 Nov 2017 and 15 Aug 2018; assessed Heroin on 15 Nov 2017 and Steroids
       on 1 Jul 2018: IPEDs for the 12 months, psychoactive for 2017-18
    L  NSP visit 1 Sep 2018; assessed Heroin at AA1 1AA on 10 Jan 2018, and Steroids at
       BB1 1AA on 15 Oct 2018 (after the quarter's end: not used)          -> psychoactive, Alpha
    O  NSP visits 30 Sep 2017 and 1 Oct 2018, a day either side            -> not seen
"""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import assessment, client, intervention, nsp, write_extract

from atlas.counting.individuals import build_individuals
from atlas.counting.periods import FinancialYear, parse_period
from atlas.extract.reader import read_extract

QUARTER = parse_period("2018-19 Q2")


@pytest.fixture(scope="module")
def extract(tmp_path_factory):
    folder = write_extract(
        tmp_path_factory.mktemp("quarter") / "ex",
        {
            "clients.csv": [client(ref, fi=ref) for ref in "QBXLO"],
            "nsp_transactions.csv": [
                nsp("T1", "Q", "2018-08-01"),
                nsp("T2", "X", "2017-11-15"),
                nsp("T3", "X", "2018-08-15"),
                nsp("T4", "L", "2018-09-01"),
                nsp("T5", "O", "2017-09-30"),
                nsp("T6", "O", "2018-10-01"),
            ],
            "interventions.csv": [
                intervention("I1", "B", "2017-11-01"),
                intervention("I2", "B", "2018-05-01"),
            ],
            "assessments.csv": [
                assessment("X", "2017-11-15", substance_1="Heroin"),
                assessment("X", "2018-07-01", substance_1="Steroids"),
                assessment("L", "2018-01-10", substance_1="Heroin", postcode="AA1 1AA"),
                assessment("L", "2018-10-15", substance_1="Steroids", postcode="BB1 1AA"),
            ],
        },
    )
    ex = read_extract(folder)
    assert ex.rejects.empty, ex.rejects
    return ex


def _by_ref(ind) -> pd.DataFrame:
    ref_of = {person: ref for ref, person in ind.person_of.items()}
    return ind.people.rename(index=ref_of).sort_index()


def test_seen_in_the_twelve_months_ending_with_the_quarter(extract):
    people = _by_ref(build_individuals(extract, QUARTER))
    # Q only in the quarter and B only before it are both seen; O a day outside either end is not
    assert list(people.index) == ["B", "L", "Q", "X"]
    assert people["cohort"].to_dict() == {
        "B": "bi",
        "L": "pwid_psychoactive",
        "Q": "pwid_psychoactive",
        "X": "pwid_ipeds",
    }


def test_the_cohort_follows_the_latest_assessment_by_the_periods_end(extract):
    quarter = _by_ref(build_individuals(extract, QUARTER))
    year = _by_ref(build_individuals(extract, FinancialYear(2017)))
    # X's main substance changed within the 12 months: Steroids by 30 September 2018, Heroin
    # by 31 March 2018
    assert quarter.loc["X", ["main_substance", "cohort"]].tolist() == ["Steroids", "pwid_ipeds"]
    assert year.loc["X", ["main_substance", "cohort"]].tolist() == ["Heroin", "pwid_psychoactive"]
    assert list(year.index) == ["B", "O", "X"]


def test_an_assessment_after_the_quarters_end_is_not_used(extract):
    people = _by_ref(build_individuals(extract, QUARTER))
    assert people.loc["L", ["main_substance", "residence_postcode"]].tolist() == [
        "Heroin",
        "AA1 1AA",
    ]
    # age at the period's end (born 1 January 1980)
    assert people.loc["L", "age"] == 38
