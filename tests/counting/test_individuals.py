"""Individuals, periods and cohorts (spec section 2), each rule on a hand-counted extract."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import assessment, client, intervention, nsp, write_extract

from atlas.counting.individuals import build_individuals, link_clients
from atlas.counting.periods import FinancialYear, fiscal_quarter
from atlas.counting.substances import substance_group
from atlas.extract.reader import read_extract

FY = FinancialYear.parse("2017-18")


def people(tmp_path, files, period=FY):
    ex = read_extract(write_extract(tmp_path / "ex", files))
    assert ex.rejects.empty, ex.rejects
    ind = build_individuals(ex, period)
    return ind, ind.person_of


def test_attributor_links_records_across_sites_and_incomplete_ones_stand_alone(tmp_path):
    ind, person_of = people(
        tmp_path,
        {
            "clients.csv": [
                client("C1", site="S1"),
                client("C2", site="S2", fi=" a", li="b "),  # same person
                client("C3", gender="U"),
                client("C4", gender="U"),  # U: cannot be linked
                client("C5", dob=""),
                client("C6", dob=""),  # blank dob: cannot be linked
                client("C7", fi=""),  # blank initial
                client("C8", gender="F"),  # differs by gender: another person
            ],
            "interventions.csv": [intervention(f"I{i}", f"C{i}") for i in range(1, 9)],
        },
    )
    assert person_of["C1"] == person_of["C2"]
    assert len(set(person_of[[f"C{i}" for i in range(3, 9)]])) == 6
    assert person_of["C1"] not in set(person_of[[f"C{i}" for i in range(3, 9)]])
    assert len(ind.people) == 7


def test_link_ids_do_not_depend_on_row_order(tmp_path):
    ex = read_extract(
        write_extract(
            tmp_path / "ex",
            {
                "clients.csv": [client("C1", fi="Z"), client("C2", fi="A")],
                "interventions.csv": [intervention("I1", "C1")],
            },
        )
    )
    forward = link_clients(ex["clients.csv"])
    backward = link_clients(ex["clients.csv"].iloc[::-1])
    assert forward.sort_index().equals(backward.sort_index())


def test_periods_and_quarters():
    assert (FY.start, FY.end) == (pd.Timestamp("2017-04-01"), pd.Timestamp("2018-03-31"))
    assert FY.label == "2017-18"
    dates = pd.Series(
        pd.to_datetime(
            ["2017-04-01", "2017-06-30", "2017-07-01", "2017-12-31", "2018-01-01", "2018-03-31"]
        )
    )
    assert list(fiscal_quarter(dates)) == [1, 1, 2, 3, 4, 4]
    for bad in ("2017/18", "2017-19", "17-18", "2017-2018"):
        with pytest.raises(ValueError):
            FinancialYear.parse(bad)
    assert FinancialYear.parse("1999-00").start_year == 1999


def test_seen_means_nsp_or_intervention_within_the_period(tmp_path):
    ind, person_of = people(
        tmp_path,
        {
            "clients.csv": [client(f"C{i}", fi=chr(64 + i)) for i in range(1, 6)],
            "nsp_transactions.csv": [
                nsp("T1", "C1", "2017-04-01"),
                nsp("T2", "C2", "2017-03-31"),
                nsp("T3", "C3", "2018-04-01"),
            ],
            "interventions.csv": [
                intervention("I1", "C4", "2018-03-31"),
                intervention("I2", "C5", "2016-06-01"),
            ],
        },
    )
    seen = set(ind.people.index)
    assert seen == {person_of["C1"], person_of["C4"]}


def test_cohorts_and_the_main_substance_rule(tmp_path):
    files = {
        "clients.csv": [client(f"C{i}", fi=chr(64 + i)) for i in range(1, 9)],
        "assessments.csv": [
            # C1: the latest assessment on or before the period's end says Steroids
            assessment("C1", "2016-01-01", substance_1="Heroin"),
            assessment("C1", "2017-05-01", substance_1="Anabolic steroids"),
            # C2: an assessment after the period's end does not count
            assessment("C2", "2017-05-01", substance_1="Heroin"),
            assessment("C2", "2018-04-02", substance_1="Steroids"),
            # C3: assessment says Heroin even though the NSP visit says Steroids
            assessment("C3", "2017-05-01", substance_1="Heroin"),
            # C6: a BI client whose assessment says steroids, but no NSP visit
            assessment("C6", "2017-05-01", substance_1="Steroids"),
        ],
        "nsp_transactions.csv": [
            nsp("T1", "C1"),
            nsp("T2", "C2"),
            nsp("T3", "C3", substance="Steroids"),
            # C4: no assessment: the latest NSP visit's substance (Growth hormone) decides
            nsp("T4", "C4", "2017-05-01", substance="Heroin"),
            nsp("T5", "C4", "2017-09-01", substance="Growth hormone"),
            # C5: no assessment, no substance: psychoactive
            nsp("T6", "C5"),
        ],
        "interventions.csv": [
            intervention("I1", "C6"),
            intervention("I2", "C7"),
            intervention("I3", "C1"),
        ],
    }
    ind, person_of = people(tmp_path, files)
    cohort = ind.people["cohort"]
    expected = {
        "C1": "pwid_ipeds",
        "C2": "pwid_psychoactive",
        "C3": "pwid_psychoactive",
        "C4": "pwid_ipeds",
        "C5": "pwid_psychoactive",
        "C6": "bi",
        "C7": "bi",
    }
    assert {ref: cohort[person_of[ref]] for ref in expected} == expected
    assert len(ind.people) == 7  # C8 was never seen; `all` is everyone seen
    assert ind.people.loc[person_of["C4"], "main_substance"] == "Growth hormone"
    assert ind.people.loc[person_of["C4"], "main_substance_source"] == "nsp_visit"


@pytest.mark.parametrize(
    "label, group",
    [
        ("Steroids", "iped"),
        ("anabolic  STEROIDS", "iped"),
        ("Growth hormone", "iped"),
        ("Melanotan", "iped"),
        ("Other IPED", "iped"),
        ("Steroids & IPEDs", "iped"),
        ("Heroin", "opioid"),
        ("Crack Cocaine", "stimulant"),
        ("Alcohol", "alcohol"),
        ("", "not_stated"),
        ("Not stated", "not_stated"),
        ("Glue", "other"),
        ("Oral steroid (tablets)", "iped"),
    ],
)
def test_substance_mapping(label, group):
    assert substance_group(pd.Series([label])).iloc[0] == group


def test_residence_postcode_and_la_fallback_inputs(tmp_path):
    files = {
        "clients.csv": [
            client("C1", fi="A", postcode="BB1 1AA"),
            # C2 and C3 are one person with disagreeing postcodes: the record used at the
            # latest activity in the period (C3, in September) wins
            client("C2", fi="B", postcode="AA1 1AA"),
            client("C3", fi="B", site="S2", postcode="AA1 1AB"),
            client("C4", fi="C", postcode="AA1 1AA"),
        ],
        "assessments.csv": [
            # C1: the latest assessment with a postcode beats the client record
            assessment("C1", "2017-05-01", postcode="AA1 1AB"),
            assessment("C1", "2017-08-01", postcode="", local_authority="E06000002"),
            # C4: an assessment after the period's end is ignored
            assessment("C4", "2018-05-01", postcode="BB1 1AB"),
        ],
        "nsp_transactions.csv": [
            nsp("T1", "C1"),
            nsp("T2", "C2", "2017-06-01"),
            nsp("T3", "C3", "2017-09-01", site="S2"),
            nsp("T4", "C2", "2016-12-01"),
            nsp("T5", "C4"),
        ],
    }
    ind, person_of = people(tmp_path, files)
    p = ind.people
    assert p.loc[person_of["C1"], "residence_postcode"] == "AA1 1AB"
    assert p.loc[person_of["C1"], "residence_source"] == "assessment"
    assert p.loc[person_of["C1"], "assessment_la"] == "E06000002"
    assert p.loc[person_of["C2"], "residence_postcode"] == "AA1 1AB"
    assert p.loc[person_of["C4"], "residence_postcode"] == "AA1 1AA"
    assert p.loc[person_of["C4"], "residence_source"] == "client"
