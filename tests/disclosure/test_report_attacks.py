"""Issue 13's attacks on the reports, replayed on small extracts (points 2, 3 and 5).

The attacker here is written from the published CSV files alone, independently of
``suppress``: every count of people in the site, quarter, LA and profile tables is a variable
(a published count is fixed, a blank one free); the relations a reader knows are constraints:
additive groups (a site's quarters add to its year, the sites of an LA and the LAs of the area
add up, profile categories add to the cohort totals, cohorts to ``all``, seen = with + without
an assessment), activity bounds (individuals at most the NSP visits and interventions, at least
1 where there is one; intervention clients likewise from interventions; returns at most visits)
and the threshold a shown profile label has. ``attack.intervals`` (LP) then gives each blank
count's interval; none may be one value or lie wholly within 1..threshold-1.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import (
    DEFAULT_SITES,
    ROOT,
    assessment,
    client,
    nsp,
    write_extract,
    write_geography,
    write_recipe,
)
from scipy import sparse

from atlas.disclosure import attack
from atlas.disclosure.audit import audit_files
from atlas.drop import compute_drop
from atlas.recipe import load_recipe

THRESHOLD = 5
ACTS = ("nsp_visits", "nsp_returns", "interventions")
CAP = 10_000  # more visits and interventions than these drops hold: a bound a reader may use
FREE_TEXT = "Lives with Jane Roe 14 Acacia Ave ZX1-1AD dob 27.12.1976"


class FileAttacker:
    """Variables and constraints read from a drop's files (path -> bytes)."""

    def __init__(self, files: dict[str, bytes], threshold: int = THRESHOLD):
        self.files, self.threshold = files, threshold
        self.index: dict[str, int] = {}
        self.value: list[float] = []  # NaN: blank
        self.people: list[bool] = []
        self.floor: dict[int, float] = {}
        self.eq: list[dict[int, float]] = []
        self.le: list[dict[int, float]] = []  # row @ x <= 0

    def read(self, path: str) -> pd.DataFrame:
        return pd.read_csv(io.BytesIO(self.files[path]), dtype=str, keep_default_na=False)

    def cell(self, key: str, text: str, people: bool = True) -> int:
        """The variable ``key``, published as ``text`` (blank: hidden); the same key read
        twice must agree."""
        v = float(text) if text.strip() else np.nan
        if key in self.index:
            i = self.index[key]
            assert np.isnan(v) == np.isnan(self.value[i]) and (np.isnan(v) or v == self.value[i])
            return i
        self.index[key] = len(self.value)
        self.value.append(v)
        self.people.append(people)
        return self.index[key]

    def add(self, total: int, parts: list[int]) -> None:
        row = {p: 1.0 for p in parts}
        row[total] = row.get(total, 0.0) - 1.0
        self.eq.append(row)

    def bound(self, person: int, acts: list[int], cap: float) -> None:
        """person <= sum(acts); sum(acts) <= cap * person (so person >= 1 where acts > 0)."""
        self.le.append({person: 1.0, **{a: -1.0 for a in acts}})
        self.le.append({person: -cap, **{a: 1.0 for a in acts}})

    def at_most(self, a: int, b: int) -> None:
        self.le.append({a: 1.0, b: -1.0})

    # --- the tables ---------------------------------------------------------------------

    def activity(self) -> None:
        site = self.read("tables/site_activity.csv")
        dq = self.read("reports/csv/data_quality_activity.csv")
        la_of = dict(zip(site["site_code"], site["la_code"]))
        cap = CAP
        for r in site.itertuples():
            acts = {k: self.cell(f"{k}:{r.site_code}", getattr(r, k), False) for k in ACTS}
            person = self.cell(f"site:{r.site_code}", r.individuals)
            self.bound(person, [acts["nsp_visits"], acts["interventions"]], cap)
            self.at_most(acts["nsp_returns"], acts["nsp_visits"])
        for r in dq.itertuples():
            acts = {k: self.cell(f"{k}:{r.code}:q{r.quarter}", getattr(r, k), False) for k in ACTS}
            self.at_most(acts["nsp_returns"], acts["nsp_visits"])
        for k in ACTS:
            for code in site["site_code"]:
                self.add(
                    self.index[f"{k}:{code}"],
                    [self.index[f"{k}:{code}:q{q}"] for q in range(1, 5)],
                )
            las = sorted(set(dq.loc[dq["unit"] == "la", "code"]) - {"TOTAL"})
            for q in range(1, 5):
                for la in las:
                    parts = [c for c in site["site_code"] if la_of[c] == la]
                    self.add(
                        self.index[f"{k}:{la}:q{q}"], [self.index[f"{k}:{c}:q{q}"] for c in parts]
                    )
                outside = [c for c in site["site_code"] if la_of[c] not in las]
                self.add(
                    self.index[f"{k}:TOTAL:q{q}"],
                    [self.index[f"{k}:{la}:q{q}"] for la in las]
                    + [self.index[f"{k}:{c}:q{q}"] for c in outside],
                )
        self._quarters(dq, cap)

    def _quarters(self, dq: pd.DataFrame, cap: float) -> None:
        rows = lambda code, q: [  # noqa: E731
            self.index[f"{k}:{code}:q{q}"] for k in ("nsp_visits", "interventions")
        ]
        sq = self.read("reports/csv/data_quality_site_individuals.csv")
        for r in sq.itertuples():
            year = self.cell(f"site:{r.site_code}", r.twelve_months)
            for q in range(1, 5):
                person = self.cell(f"siteq:{r.site_code}:q{q}", getattr(r, f"q{q}"))
                self.bound(person, rows(r.site_code, q), cap)
                self.at_most(person, year)  # seen in a quarter: seen in the year
        lq = self.read("reports/csv/data_quality_la_individuals.csv")
        for r in lq.itertuples():
            year = self.cell(f"svc:{r.la_code}", r.twelve_months)
            for q in range(1, 5):
                person = self.cell(f"laq:{r.la_code}:q{q}", getattr(r, f"q{q}"))
                self.bound(person, rows(r.la_code, q), cap)
                self.at_most(person, year)
        act = self.read("reports/csv/monitoring_la_activity.csv")
        for r in act.itertuples():
            clients = self.cell(f"laqi:{r.la_code}:q{r.quarter}", r.intervention_clients)
            self.cell(f"interventions:{r.la_code}:q{r.quarter}", r.interventions, False)
            self.bound(clients, [self.index[f"interventions:{r.la_code}:q{r.quarter}"]], cap)

    def assessed(self) -> None:
        units = self.read("reports/csv/data_quality_assessments.csv")
        for r in units.itertuples():
            key = f"site:{r.code}" if r.unit == "site" else f"svc:{r.code}"
            self.add(
                self.cell(key, r.seen),
                [
                    self.cell(f"with:{r.code}", r.with_assessment),
                    self.cell(f"without:{r.code}", r.without_assessment),
                ],
            )

    def profiles(self) -> None:
        summary = self.read("reports/csv/monitoring_cohort_summary.csv")
        area = summary[summary["la_code"] == "TOTAL"].set_index("cohort")["twelve_months"]
        prof = self.read("reports/csv/monitoring_profiles.csv")
        cohorts = ["pwid_psychoactive", "pwid_ipeds", "bi"]
        for c in ["all", *cohorts]:
            self.cell(f"total:{c}", area[c])
        self.add(self.index["total:all"], [self.index[f"total:{c}"] for c in cohorts])
        for dim, part in prof.groupby("dimension", sort=False):
            for c in ["all", *cohorts]:
                rows = part[part["cohort"] == c]
                ids = [
                    self.cell(f"{dim}:{r.category}:{c}", r.individuals) for r in rows.itertuples()
                ]
                self.add(self.index[f"total:{c}"], ids)
            for cat in dict.fromkeys(part["category"]):
                by = {c: self.index[f"{dim}:{cat}:{c}"] for c in ["all", *cohorts]}
                self.add(by["all"], [by[c] for c in cohorts])
                if dim.startswith(("substance", "accommodation", "employment")) and cat not in (
                    "Other",
                    "Not stated",
                ):
                    self.floor[by["all"]] = self.threshold  # shown only when t people share it

    # --- the attack ---------------------------------------------------------------------

    def exposed(self) -> dict[str, str]:
        """Every blank count of people the LP narrows to one value or to 1..t-1."""
        n = len(self.value)
        value = np.array(self.value)
        hidden = np.isnan(value)
        lo = np.where(hidden, 0.0, value)
        hi = np.where(hidden, np.inf, value)
        for i, f in self.floor.items():
            lo[i] = max(lo[i], f)
        targets = hidden & np.array(self.people)
        found = attack.intervals(
            attack.Problem(lo, hi, _matrix(self.eq, n), targets, _matrix(self.le, n))
        )
        assert not found.infeasible, "the published numbers contradict the model"
        bad = np.flatnonzero(targets & attack.exposed(found.low, found.high, self.threshold))
        names = list(self.index)
        low, high = np.nan_to_num(found.low), np.nan_to_num(found.high, posinf=1e9)
        lo_int = np.ceil(low - attack.EPS).astype(int)  # whole numbers
        hi_int = np.floor(np.minimum(high, 1e9) + attack.EPS).astype(int)
        return {names[i]: f"{lo_int[i]}..{hi_int[i]}" for i in bad}


def _matrix(rows: list[dict[int, float]], n: int) -> sparse.csr_matrix:
    r = [i for i, row in enumerate(rows) for _ in row]
    c = [j for row in rows for j in row]
    v = [x for row in rows for x in row.values()]
    return sparse.csr_matrix((v, (r, c)), shape=(len(rows), n))


def attack_files(files: dict[str, bytes]) -> dict[str, str]:
    attacker = FileAttacker(files)
    attacker.activity()
    attacker.assessed()
    attacker.profiles()
    return attacker.exposed()


def _csv(files: dict[str, bytes], path: str) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(files[path]), dtype=str, keep_default_na=False)


def _lines(files: dict[str, bytes], path: str) -> dict[str, dict[str, str]]:
    frame = pd.read_csv(io.BytesIO(files[path]), dtype=str, keep_default_na=False)
    return {r["site_code"]: r for r in frame.to_dict("records")}


# --- a site with one client and one visit; a quarter with two clients ------------------------


@pytest.fixture(scope="module")
def small_recipe(tmp_path_factory) -> Path:
    """S1 (Alpha) and S2 (Beta) each see 8 people all year; S3 (Alpha) one client with one
    NSP visit; at S1 two of them come in Q2 too (3 visits). One client's accommodation is
    personal free text."""
    tmp = tmp_path_factory.mktemp("small")

    geo = write_geography(tmp / "geo")
    sites = [
        *DEFAULT_SITES,
        {
            "site_code": "S3",
            "site_name": "Gamma Outreach",
            "site_type": "agency",
            "postcode": "AA1 1AB",
            "services": "NSP",
        },
    ]
    clients, visits, assessments = [], [], []
    for site, pc in (("S1", "AA1 1AA"), ("S2", "BB1 1AA")):
        for k in range(8):
            ref = f"{site}C{k}"
            clients.append(client(ref, site=site, fi=chr(65 + k), li=site[1], postcode=pc))
            for month in ("2017-05-01", "2017-11-01", "2018-02-01"):
                visits.append(nsp(f"{ref}-{month}", ref, month, site=site, returned="Y"))
            assessments.append(assessment(ref, "2017-05-01", site=site, accommodation="Settled"))
    for k in range(2):  # two of S1's clients in Q2, three visits between them
        visits.append(nsp(f"S1C{k}-q2", f"S1C{k}", "2017-08-01", site="S1"))
    visits.append(nsp("S1C0-q2b", "S1C0", "2017-08-15", site="S1"))
    clients.append(client("LONE", site="S3", fi="Z", li="Z", postcode="AA1 1AB"))
    visits.append(nsp("LONE-1", "LONE", "2017-06-01", site="S3"))
    assessments.append(assessment("LONE", "2017-06-01", site="S3", accommodation=FREE_TEXT))
    extract = write_extract(
        tmp / "ex",
        {
            "sites.csv": sites,
            "clients.csv": clients,
            "nsp_transactions.csv": visits,
            "assessments.csv": assessments,
        },
    )
    return write_recipe(tmp, geo, extract)


@pytest.fixture(scope="module")
def small(small_recipe):
    return compute_drop(load_recipe(small_recipe)).files


def test_rounded_drops_withhold_the_same_activity(small_recipe, tmp_path):
    """With rounding = 5 the one-visit site's count is still withheld, and its activity."""
    recipe = tmp_path / "rounded.toml"
    recipe.write_text(
        small_recipe.read_text().replace(
            'area_name = "Test Area"', 'area_name = "Test Area"\nrounding = 5'
        )
    )
    files = compute_drop(load_recipe(recipe)).files
    s3 = _lines(files, "tables/site_activity.csv")["S3"]
    assert [s3[k] for k in ("individuals", *ACTS, "suppressed")] == ["", "", "", "", "true"]
    assert _lines(files, "tables/site_activity.csv")["S1"]["individuals"] == "10"  # 8 rounded


def test_one_client_one_visit_site_blanks_its_activity(small):
    s3 = _lines(small, "tables/site_activity.csv")["S3"]
    assert s3["suppressed"] == "true"
    assert [s3[k] for k in ("individuals", *ACTS)] == ["", "", "", ""]
    quarters = pd.read_csv(
        io.BytesIO(small["reports/csv/data_quality_activity.csv"]),
        dtype=str,
        keep_default_na=False,
    )
    s3q = quarters[quarters["code"] == "S3"]
    assert set(s3q["nsp_visits"]) == {""}  # every quarter: else they add up to the year


def test_the_attacker_pins_nothing_in_the_small_drop(small):
    assert attack_files(small) == {}


def test_the_attacker_finds_what_the_old_tables_gave_away(small):
    """The attacker is not blind: put S3's activity back as main published it, and its one
    client is pinned (visits 1 beside individuals suppressed)."""
    files = dict(small)
    text = files["tables/site_activity.csv"].decode()
    text = re.sub(r"^(S3,[^,]*,[^,]*,[^,]*),,,,", r"\1,1,0,0,", text, flags=re.M)
    files["tables/site_activity.csv"] = text.encode()
    found = FileAttacker(files)
    found.activity()
    # the quarters stay blank: the year alone pins the site's count
    assert found.exposed()["site:S3"] == "1..1"


def test_a_quarter_with_two_clients_keeps_them_hidden(small):
    sq = _lines(small, "reports/csv/data_quality_site_individuals.csv")
    assert sq["S1"]["q2"] == ""  # two people: suppressed
    assert sq["S1"]["twelve_months"] == "8"
    act = _csv(small, "reports/csv/data_quality_activity.csv")
    q2 = act[(act["code"] == "S1") & (act["quarter"] == "2")].iloc[0]
    assert [q2[k] for k in ACTS] == ["", "", ""]
    # put its 3 visits back as main published them: the attacker narrows the 2 to 1..3
    files = dict(small)
    act.loc[q2.name, list(ACTS)] = ["3", "0", "0"]
    files["reports/csv/data_quality_activity.csv"] = act.to_csv(index=False).encode()
    found = FileAttacker(files)
    found.activity()
    assert found.exposed()["siteq:S1:q2"] == "1..3"


def test_free_text_reaches_no_published_byte(small):
    """The client's accommodation is theirs alone: counted in "Other", written nowhere."""
    pieces = [FREE_TEXT, "Jane Roe", "Acacia", "ZX1-1AD", "ZX1 1AD", "27.12.1976", "Lives with"]
    for path, data in small.items():
        for piece in pieces:
            assert piece.encode().lower() not in data.lower(), (path, piece)
    prof = _csv(small, "reports/csv/monitoring_profiles.csv")
    acc = prof[(prof["dimension"] == "accommodation") & (prof["cohort"] == "all")]
    assert list(acc["category"]) == ["Settled", "Other", "Not stated"]


# --- issue 13 point 2: the one-LA demo drop ----------------------------------------------------


@pytest.fixture(scope="module")
def one_la(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("one_la")
    env = {"PYTHONPATH": str(ROOT)}
    cli = [sys.executable, "-m", "atlas.cli"]
    data = ["demo-data", str(tmp / "extract"), "--la", "E06900001", "--scale", "0.15"]
    subprocess.run([*cli, *data, "--seed", "12"], check=True, capture_output=True, env=env)
    recipe = (ROOT / "builders" / "demo.toml").read_text()
    recipe = recipe.split("[siting]")[0].replace("../boundaries", str(ROOT / "boundaries"))
    recipe = re.sub(r'path = ".*extract"', f'path = "{tmp / "extract"}"', recipe)
    (tmp / "one.toml").write_text(recipe)
    out = tmp / "out"
    # demo-data writes some bad rows on purpose: where the build has a quality gate, pass it
    usage = subprocess.run([*cli, "build", "--help"], capture_output=True, text=True, env=env)
    gate = ["--allow-rejects"] if "--allow-rejects" in usage.stdout else []
    subprocess.run(
        [*cli, "build", str(tmp / "one.toml"), "--out", str(out), *gate],
        check=True,
        capture_output=True,
        env=env,
    )
    files = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    yield files
    shutil.rmtree(tmp, ignore_errors=True)


def test_one_la_profiles_in_a_fixed_label_order(one_la):
    prof = _csv(one_la, "reports/csv/monitoring_profiles.csv")
    second = list(dict.fromkeys(prof.loc[prof["dimension"] == "substance_2", "category"]))
    # known labels in the mapping's order (IPEDs, opioids, stimulants, ...), Other, Not stated
    assert second == [
        "Growth hormone",
        "Crack cocaine",  # the display mapping's spelling
        "Cocaine",
        "Cannabis",
        "Alcohol",
        "Other",
        "Not stated",
    ]
    # Benzodiazepines 3, Other IPED 2 and Melanotan 1 are no longer rows: counted in Other
    other = prof[(prof["dimension"] == "substance_2") & (prof["category"] == "Other")]
    assert other.set_index("cohort").loc["all", "individuals"] == "6"


def test_the_attacker_pins_nothing_in_the_one_la_drop(one_la):
    assert attack_files(one_la) == {}


def test_shown_free_text_labels_are_shared_by_threshold_people(one_la):
    prof = _csv(one_la, "reports/csv/monitoring_profiles.csv")
    shown = prof[
        prof["dimension"].isin(["substance_1", "substance_2", "accommodation", "employment"])
        & ~prof["category"].isin(["Other", "Not stated"])
        & (prof["cohort"] == "all")
    ]
    published = shown.loc[shown["individuals"] != "", "individuals"].astype(int)
    assert len(published) > 5 and (published >= THRESHOLD).all()


def test_the_audit_attacks_site_activity_with_its_individuals(small):
    """``ims-atlas audit`` knows the bounds too: the drop passes as built; with S3's one
    visit published beside its suppressed count it fails, naming the cell."""
    assert audit_files(small, THRESHOLD).exposures == []
    files = dict(small)
    text = files["tables/site_activity.csv"].decode()
    files["tables/site_activity.csv"] = re.sub(
        r"^(S3,[^,]*,[^,]*,[^,]*),,,,", r"\1,1,0,0,", text, flags=re.M
    ).encode()
    assert audit_files(files, THRESHOLD).exposures == [
        # the atlas page still shows the visits withheld: the files disagree
        "atlas.html site 3: act:nsp_visits:S3 is suppressed here but 1 in "
        "tables/site_activity.csv line 4",
        "cell site:S3 can be narrowed to exactly 1",
    ]
