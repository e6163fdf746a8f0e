"""The fake IMS extract: contract columns, determinism, realistic shape, deliberate mess."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import CM_DIRECTORY, CM_LAS

from atlas.demo.extract import make_demo_extract, read_directory
from atlas.errors import GeographyError

FILES = [
    "sites.csv",
    "clients.csv",
    "assessments.csv",
    "nsp_transactions.csv",
    "interventions.csv",
    "wellbeing.csv",
    "referrals.csv",
]
REQUIRED = {
    "sites.csv": ["site_code", "site_name", "site_type", "postcode"],
    "clients.csv": [
        "client_ref",
        "site_code",
        "first_initial",
        "last_initial",
        "date_of_birth",
        "gender",
    ],
    "assessments.csv": ["client_ref", "site_code", "assessment_date"],
    "nsp_transactions.csv": ["transaction_id", "client_ref", "site_code", "visit_date"],
    "interventions.csv": [
        "intervention_id",
        "client_ref",
        "site_code",
        "intervention_date",
        "intervention_type",
    ],
    "wellbeing.csv": ["client_ref", "site_code", "review_date", "wemwbs_score"],
    "referrals.csv": ["client_ref", "site_code", "referral_date", "direction"],
}
DATE_COLUMNS = {
    "clients.csv": "date_of_birth",
    "assessments.csv": "assessment_date",
    "nsp_transactions.csv": "visit_date",
    "interventions.csv": "intervention_date",
    "wellbeing.csv": "review_date",
    "referrals.csv": "referral_date",
}
IPED_LABELS = {"Steroids", "Anabolic steroids", "Growth hormone", "Melanotan", "Other IPED"}
P0, P1 = "2017-04-01", "2018-03-31"
SYNTHETIC_LAS = ["E06990001", "E06990002", "E06990003"]
REAL_DIRECTORY = CM_DIRECTORY
REAL_LAS = CM_LAS


# ----------------------------------------------------------------------------------- helpers


def synthetic_directory() -> pd.DataFrame:
    """Four LAs (three of the drop, one outside), 3 districts each, ~10% terminated postcodes."""
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    rows = []
    for i, la in enumerate([*SYNTHETIC_LAS, "E06990009"]):
        for d in range(3):
            district = 3 * i + d + 1
            for k in range(60):
                digit = k % 10
                inward = f"{digit}{letters[k % 20]}{letters[(k * 7 + d) % 20]}"
                rows.append(
                    {
                        "pcds": f"ZY{district} {inward}",
                        "doterm": "202001" if k % 10 == 3 else "",
                        "laua": la,
                        "lsoa11": f"E0199{i}{d}{k % 4:03d}",
                        "lat": f"{53.4 + 0.02 * district + 0.0003 * k:.6f}",
                        "long": f"{-2.9 + 0.01 * d - 0.0002 * k:.6f}",
                    }
                )
    return pd.DataFrame(rows).drop_duplicates("pcds").astype(str)


def read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / name, dtype=str, keep_default_na=False, encoding="utf-8")


def iso_ok(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, format="%Y-%m-%d", errors="coerce").notna()


def cohorts(folder: Path) -> pd.Series:
    """Cohort of every individual seen in 2017-18, by the rules of section 2 of the contract."""
    clients = read(folder, "clients.csv").drop_duplicates("client_ref")
    complete = (clients[["first_initial", "last_initial", "date_of_birth"]] != "").all(axis=1) & (
        clients["gender"] != "U"
    )
    attributor = (
        clients["first_initial"]
        + clients["last_initial"]
        + clients["date_of_birth"]
        + clients["gender"]
    )
    person = dict(
        zip(clients["client_ref"], attributor.where(complete, "ref:" + clients["client_ref"]))
    )

    def in_period(name: str, col: str) -> pd.DataFrame:
        f = read(folder, name)
        f = f[iso_ok(f[col]) & f[col].between(P0, P1) & f["client_ref"].isin(person)]
        return f.assign(person=f["client_ref"].map(person)).sort_values(col, kind="stable")

    nsp = in_period("nsp_transactions.csv", "visit_date")
    interventions = in_period("interventions.csv", "intervention_date")
    ass = read(folder, "assessments.csv")
    ass = ass[
        iso_ok(ass["assessment_date"])
        & (ass["assessment_date"] <= P1)
        & ass["client_ref"].isin(person)
    ]
    ass = ass.assign(person=ass["client_ref"].map(person)).sort_values(
        "assessment_date", kind="stable"
    )
    main = nsp.groupby("person")["substance"].last()
    main.update(ass.groupby("person")["substance_1"].last())
    seen = pd.Index(sorted(set(nsp["person"]) | set(interventions["person"])))
    with_nsp = seen.isin(nsp["person"].unique())
    steroid = main.reindex(seen).isin(IPED_LABELS).to_numpy()
    return pd.Series(
        np.where(with_nsp, np.where(steroid, "pwid_ipeds", "pwid_psychoactive"), "bi"), index=seen
    )


@pytest.fixture(scope="module")
def extract(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    folder = tmp_path_factory.mktemp("extract")
    counts = make_demo_extract(folder, synthetic_directory(), SYNTHETIC_LAS, seed=7, scale=0.3)
    return folder, counts


# ----------------------------------------------------------------------------------- contract


def test_writes_the_seven_files_with_the_contract_columns(extract):
    folder, counts = extract
    assert sorted(counts) == sorted(FILES)
    for name in FILES:
        frame = read(folder, name)
        assert set(REQUIRED[name]) <= set(frame.columns), name
        assert all(c == c.lower() for c in frame.columns), name
        assert len(frame) == counts[name] > 0, name


def test_same_seed_gives_the_same_bytes_and_another_seed_differs(tmp_path):
    directory = synthetic_directory()
    for sub, seed in (("a", 3), ("b", 3), ("c", 4)):
        make_demo_extract(tmp_path / sub, directory, SYNTHETIC_LAS, seed=seed, scale=0.2)
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert (tmp_path / "a" / "clients.csv").read_bytes() != (
        tmp_path / "c" / "clients.csv"
    ).read_bytes()


def test_dates_are_iso_except_a_few_deliberately_bad_ones(extract):
    folder, _ = extract
    for name, col in DATE_COLUMNS.items():
        values = read(folder, name)[col]
        values = values[values != ""]
        bad = ~iso_ok(values)
        assert 0 < bad.sum() <= max(3, 0.01 * len(values)), name
    sites = read(folder, "sites.csv")
    assert iso_ok(sites["opened"]).all()


# ----------------------------------------------------------------------------------- shape


def test_cohort_mix_follows_2017_18(extract):
    folder, _ = extract
    share = cohorts(folder).value_counts(normalize=True)
    assert share["pwid_psychoactive"] == pytest.approx(0.38, abs=0.08)
    assert share["pwid_ipeds"] == pytest.approx(0.33, abs=0.08)
    assert share["bi"] == pytest.approx(0.29, abs=0.08)


def test_returns_on_about_30_percent_of_visits_and_plausible_items(extract):
    folder, _ = extract
    nsp = read(folder, "nsp_transactions.csv")
    assert (nsp["returned"] == "Y").mean() == pytest.approx(0.30, abs=0.05)
    items = nsp[["needles", "syringes", "bins", "swabs", "foil", "citric", "other_items"]].astype(
        int
    )
    assert (items >= 0).all().all() and (items <= 100).all().all()
    assert (nsp["substance"] == "Steroids").any() and (nsp["substance"] == "Heroin").any()


def test_activity_spreads_over_the_quarters_and_the_year_before(extract):
    folder, _ = extract
    nsp = read(folder, "nsp_transactions.csv")
    nsp = nsp[iso_ok(nsp["visit_date"])]
    in_period = nsp[nsp["visit_date"].between(P0, P1)]
    quarters = pd.to_datetime(in_period["visit_date"]).dt.quarter.value_counts(normalize=True)
    assert len(quarters) == 4 and quarters.min() > 0.18
    assert nsp["visit_date"].between("2016-04-01", "2017-03-31").sum() > 0.2 * len(in_period)
    ass = read(folder, "assessments.csv")
    assert (ass["assessment_date"] < P0).any()


def test_sites_are_agencies_and_pharmacies_in_the_drop(extract):
    folder, _ = extract
    sites = read(folder, "sites.csv")
    directory = synthetic_directory().set_index("pcds")
    assert set(sites["site_type"]) == {"agency", "pharmacy"}
    assert sites["site_code"].str.fullmatch(r"(AG|PH)\d{3}").all() and sites["site_code"].is_unique
    assert directory.loc[sites["postcode"], "laua"].isin(SYNTHETIC_LAS).all()
    assert (directory.loc[sites["postcode"], "doterm"] == "").all()
    assert (sites["latitude"] != "").any()
    assert set(";".join(sites["services"]).split(";")) <= {"NSP", "BI"}
    assert 'St Mary\'s & "Young People" <Service>' in set(sites["site_name"])


# ----------------------------------------------------------------------------------- the mess


def test_residence_postcodes_carry_every_kind_of_mess(extract):
    folder, _ = extract
    directory = synthetic_directory().set_index("pcds")
    postcodes = pd.concat(
        [read(folder, "clients.csv")["postcode"], read(folder, "assessments.csv")["postcode"]]
    )
    normal = (
        postcodes.str.upper()
        .str.replace(r"\s+", "", regex=True)
        .str.replace(r"^(.+)(...)$", r"\1 \2", regex=True)
    )
    in_directory = normal.isin(directory.index)
    assert postcodes.isin(["NFA", "ZZ99 3VZ", "No fixed abode", "nfa", "ZZ99 3WZ"]).any()
    assert postcodes.str.fullmatch(r"ZY\d{1,2}( \d)?").any()  # partial
    assert (directory.loc[normal[in_directory], "doterm"] != "").any()  # terminated
    assert (in_directory & (postcodes != postcodes.str.upper())).any()  # lower case
    assert (in_directory & (postcodes != normal)).any()  # spacing
    assert postcodes.str.fullmatch(r"ZY\d{1,2} [OI][A-Z]{2}").any()  # O/I slip
    assert (directory.loc[normal[in_directory], "laua"] == "E06990009").any()  # out of area
    assert (postcodes == "").any()
    assert (
        ~in_directory
        & (postcodes != "")
        & ~postcodes.str.contains("ZZ99|NFA|fixed", case=False)
        & ~postcodes.str.fullmatch(r"ZY\d{1,2}( \d)?")
    ).any()  # invalid


def test_some_individuals_have_two_client_records_and_some_attributors_are_incomplete(extract):
    folder, _ = extract
    clients = read(folder, "clients.csv").drop_duplicates("client_ref", keep="first")
    ok = iso_ok(clients["date_of_birth"]) & clients["site_code"].str.fullmatch(r"(AG|PH)\d{3}")
    clients = clients[ok]
    key = ["first_initial", "last_initial", "date_of_birth", "gender"]
    complete = (clients[key] != "").all(axis=1) & (clients["gender"] != "U")
    twice = (
        clients[complete]
        .groupby(key)
        .agg(records=("client_ref", "nunique"), sites=("site_code", "nunique"))
    )
    linked = (twice["records"] == 2) & (twice["sites"] == 2)
    assert linked.sum() / len(twice) == pytest.approx(0.03, abs=0.02)
    assert (~complete).any() and (clients["gender"] == "U").any()
    assert (clients["gender"] == "X").any()


def test_every_file_has_its_deliberate_bad_rows(extract):
    folder, _ = extract
    sites = set(read(folder, "sites.csv")["site_code"])
    clients = read(folder, "clients.csv")
    refs = set(clients["client_ref"])
    assert clients["client_ref"].duplicated().sum() >= 1
    assert (~clients["site_code"].isin(sites)).sum() >= 1
    for name in ("assessments.csv", "nsp_transactions.csv", "interventions.csv"):
        frame = read(folder, name)
        assert (~frame["client_ref"].isin(refs)).sum() >= 1, name
        assert (~frame["site_code"].isin(sites)).sum() >= 1, name
    assert read(folder, "nsp_transactions.csv")["transaction_id"].duplicated().sum() >= 1
    assert read(folder, "interventions.csv")["intervention_id"].duplicated().sum() >= 1
    assert (read(folder, "wellbeing.csv")["wemwbs_score"].astype(int) > 70).sum() >= 1
    good = read(folder, "wellbeing.csv")["wemwbs_score"].astype(int)
    assert good.between(14, 70).mean() > 0.9
    # about 0.2% of rows per kind at most: the bulk of every big file is clean
    nsp = read(folder, "nsp_transactions.csv")
    clean = iso_ok(nsp["visit_date"]) & nsp["client_ref"].isin(refs) & nsp["site_code"].isin(sites)
    assert clean.mean() > 0.99


# ----------------------------------------------------------------------------------- arguments


def test_bad_arguments_are_refused(tmp_path):
    directory = synthetic_directory()
    with pytest.raises(ValueError, match="period"):
        make_demo_extract(tmp_path, directory, SYNTHETIC_LAS, period="2017-2018")
    with pytest.raises(ValueError, match="no live postcode"):
        make_demo_extract(tmp_path, directory, ["E09999999"])
    with pytest.raises(ValueError, match="scale"):
        make_demo_extract(tmp_path, directory, SYNTHETIC_LAS, scale=0)


def test_read_directory_keeps_the_six_columns_as_strings(tmp_path):
    path = tmp_path / "nspl.csv"
    path.write_text(
        "PCD,PCDS,DOTERM,LAUA,LSOA11,LAT,LONG,IMD\n"
        "L1  0AA,L1 0AA,,E08000012,E01006512,53.401,-2.979,123\n"
        "L1  0AB,L1 0AB,202001,E08000012,E01006512,53.402,-2.978,456\n",
        encoding="utf-8-sig",
    )
    frame = read_directory(path)
    assert list(frame.columns) == ["pcds", "doterm", "laua", "lsoa11", "lat", "long"]
    assert frame["doterm"].tolist() == ["", "202001"] and frame["lat"].tolist() == [
        "53.401",
        "53.402",
    ]
    (tmp_path / "short.csv").write_text("pcds,laua\nL1 0AA,E08000012\n")
    with pytest.raises(GeographyError, match="doterm"):
        read_directory(tmp_path / "short.csv")


# ----------------------------------------------------------------------------------- real data


@pytest.mark.realdata
@pytest.mark.skipif(
    not REAL_DIRECTORY.is_file(),
    reason=f"real Cheshire & Merseyside directory {REAL_DIRECTORY} not present",
)
def test_real_cheshire_and_merseyside_directory_at_scale_1(tmp_path):
    directory = read_directory(REAL_DIRECTORY)
    start = time.perf_counter()
    counts = make_demo_extract(tmp_path, directory, REAL_LAS, seed=1, scale=1.0)
    assert time.perf_counter() - start < 10
    assert 2500 <= counts["clients.csv"] <= 3600
    assert 12 <= counts["sites.csv"] <= 18
    lookup = directory.set_index("pcds")
    sites = read(tmp_path, "sites.csv")
    assert lookup.loc[sites["postcode"], "laua"].isin(REAL_LAS).all()
    assert (sites["site_type"] == "agency").mean() == pytest.approx(1 / 3, abs=0.1)
    clients = read(tmp_path, "clients.csv")
    known = clients["postcode"].isin(lookup.index)
    share_in_drop = lookup.loc[clients.loc[known, "postcode"], "laua"].isin(REAL_LAS).mean()
    assert share_in_drop == pytest.approx(0.96, abs=0.03)
    share = cohorts(tmp_path).value_counts(normalize=True)
    assert share["pwid_ipeds"] == pytest.approx(0.33, abs=0.05)
    assert share["pwid_psychoactive"] == pytest.approx(0.38, abs=0.05)
