"""The cell-key protection (issue 13.5): the ptable's promises, record keys, the recipe, and
on the demo: one late person moves figures by amounts the reader cannot tell from noise, and
the same people give the same figure in every table."""

from __future__ import annotations

import hashlib
import hmac
import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from test_reissue import ROOT, build_demo, late_extract

from atlas.cli import main
from atlas.counting.cell_keys import record_keys
from atlas.counting.individuals import build_individuals
from atlas.counting.periods import FinancialYear
from atlas.disclosure.cell_key import MAX_PERTURBATION, PTABLE, perturb
from atlas.disclosure.reissue import audit_reissue
from atlas.errors import RecipeError
from atlas.extract.reader import read_extract
from atlas.recipe import load_recipe

SECRET = b"not-a-real-secret-but-long-enough"


@pytest.mark.parametrize("count", sorted(PTABLE))
def test_every_ptable_row_is_unbiased_bounded_and_never_gives_1_or_2(count):
    row = PTABLE[count]
    weights = [w for _, w in row]
    assert sum(weights) == 256 and all(w > 0 for w in weights)
    assert sum(p * w for p, w in row) == 0  # zero mean
    assert all(abs(p) <= MAX_PERTURBATION for p, _ in row)
    values = [count + p for p, _ in row]
    assert all(v >= 0 and v not in (1, 2) for v in values)


def test_perturb_looks_up_the_key_and_keeps_zero():
    keys = np.arange(256)
    assert (perturb(np.zeros(256, dtype=np.int64), keys) == 0).all()
    ones = perturb(np.ones(256, dtype=np.int64), keys)
    assert (ones[:192] == 0).all() and (ones[192:] == 4).all()
    big = perturb(np.full(256, 1000), keys)
    assert sorted(set(big.tolist())) == [997, 998, 999, 1000, 1001, 1002, 1003]
    assert big.mean() == 1000  # the key is uniform over 0..255: the mean is the count
    assert (
        perturb(np.array([37]), np.array([300]))[0] == perturb(np.array([37]), np.array([44]))[0]
    )


def test_a_record_key_is_the_hmac_of_the_attributor_or_the_ref():
    clients = pd.DataFrame(
        {
            "client_ref": ["R1", "R2", "R3"],
            "first_initial": ["A", "A", "C"],
            "last_initial": ["B", "B", ""],
            "date_of_birth": pd.to_datetime(["1980-01-02", "1980-01-02", "1990-05-06"]),
            "gender": ["M", "M", "F"],
        }
    )
    person_of = pd.Series([0, 0, 1], index=pd.Index(["R1", "R2", "R3"], name="client_ref"))
    keys = record_keys(clients, person_of, SECRET)
    from atlas.counting.individuals import attributors

    text, _ = attributors(clients)
    digest = lambda s: hmac.new(SECRET, s.encode(), hashlib.sha256).digest()[0]  # noqa: E731
    assert keys.tolist() == [digest(text[0]), digest("#R3")]
    assert record_keys(clients, person_of, SECRET + b"x").tolist() != keys.tolist()


def _write(tmp_path: Path, drop: str) -> Path:
    text = (ROOT / "builders" / "demo.toml").read_text().split("[siting]")[0]
    text = text.replace('"../boundaries', f'"{ROOT}/boundaries')
    recipe = tmp_path / "r.toml"
    recipe.write_text(text.replace('name = "demo"', f'name = "demo"\n{drop}'))
    return recipe


def test_the_recipe_requires_a_secret_and_refuses_rounding_with_it(tmp_path):
    with pytest.raises(RecipeError) as info:
        load_recipe(_write(tmp_path, 'protection = "cell_key"\nrounding = 5'))
    assert info.value.problems == [
        'drop.cell_key_secret_file: missing (required with protection = "cell_key": a file '
        "outside the published folder holding the secret of the record keys)",
        'drop.rounding: cannot be combined with protection = "cell_key" (the cell key '
        "perturbs every count already)",
    ]
    with pytest.raises(RecipeError, match=r"drop\.protection: "):
        load_recipe(_write(tmp_path, 'protection = "noise"'))
    assert load_recipe(_write(tmp_path, "")).protection == "suppression"


def test_a_short_secret_stops_the_build_in_one_line(tmp_path):
    (tmp_path / "secret").write_bytes(b"short\n")
    recipe = _write(tmp_path, 'protection = "cell_key"\ncell_key_secret_file = "secret"')
    result = CliRunner().invoke(main, ["build", str(recipe), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.output.strip().endswith(
        f"drop.cell_key_secret_file: {tmp_path / 'secret'} holds 5 bytes; a secret needs 16 or more"
    )
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def keyed(tmp_path_factory) -> dict[str, Path]:
    """The demo and the demo with one late person, both protected by the cell key."""
    root = tmp_path_factory.mktemp("keyed")
    (root / "secret.txt").write_bytes(SECRET + b"\n")
    drop = f'protection = "cell_key"\ncell_key_secret_file = "{root / "secret.txt"}"'
    late = late_extract(root / "late-extract")
    visit = late_extract(root / "visit-extract", new_client=False)
    return {
        "base": build_demo(root, "base", drop=drop),
        "late": build_demo(root, "late", late, drop=drop),
        "visit": build_demo(root, "visit", visit, drop=drop),
        "secret": root / "secret.txt",
    }


class _ById(HTMLParser):
    """The text of the element with one id (or other attribute)."""

    def __init__(self, wanted: str, attribute: str = "id"):
        super().__init__()
        self.wanted, self.attribute, self.depth, self.text = wanted, attribute, 0, []

    def handle_starttag(self, tag, attrs):
        if self.depth or dict(attrs).get(self.attribute) == self.wanted:
            self.depth += 1

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.text.append(data)


def _text_of(html: str, wanted: str, attribute: str = "id") -> str:
    parser = _ById(wanted, attribute)
    parser.feed(html)
    return " ".join("".join(parser.text).split())


def _csv(drop: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(drop / name, dtype={"individuals": "Int64"}, keep_default_na=True)


@pytest.mark.parametrize("late", ["late", "visit"])
def test_a_late_person_or_visit_is_lost_in_the_noise(keyed, late):
    report = audit_reissue(keyed[late], keyed["base"])
    assert report.exposures == []
    assert report.changed > 0  # the late row moved some figures


def test_the_late_persons_cohort_moves_within_the_noise(keyed):
    result = CliRunner().invoke(
        main, ["audit", str(keyed["late"]), "--previous", str(keyed["base"])]
    )
    assert result.exit_code == 0, result.output
    # the cohort the person joined: 950 -> 951 true, published within 3 of each
    exact = [
        json.loads((keyed[k].parent / f"{k}.private" / "ledger.json").read_text())
        for k in ("base", "late")
    ]
    shown = [json.loads((keyed[k] / "ledger.json").read_text()) for k in ("base", "late")]
    assert [e["cohorts"]["pwid_psychoactive"] for e in exact] == [950, 951]
    for e, s in zip(exact, shown):
        for cohort, n in e["cohorts"].items():
            assert abs(s["cohorts"][cohort] - n) <= MAX_PERTURBATION
    assert shown[0]["suppression"]["protection"] == "cell_key"
    assert shown[0]["suppression"]["perturbation"] == MAX_PERTURBATION


def test_the_same_people_give_the_same_figure_in_every_issue(keyed):
    """Only the cells the late person joined move: their LSOA's, and no other."""
    name = "tables/residence_lsoa_cohorts.csv"
    base, late, visit = (_csv(keyed[k], name) for k in ("base", "late", "visit"))
    moved = base.compare(late)
    assert set(base.loc[moved.index, "lsoa_code"]) == {"E01900059"}  # where ZX6 5AD lies
    assert base.equals(visit)  # a late visit of a known client: no residence cell moves
    sites = [_csv(keyed[k], "tables/site_activity.csv") for k in ("base", "visit")]
    moved = sites[0].compare(sites[1])
    assert set(sites[0].loc[moved.index, "site_code"]) == {"AG004"}


def test_the_same_people_give_the_same_figure_in_every_table(keyed):
    drop = keyed["base"]
    sites = _csv(drop, "tables/site_activity.csv").set_index("site_code")["individuals"]
    quality = pd.read_csv(drop / "reports/csv/data_quality_site_individuals.csv")
    year = quality.set_index("site_code")["twelve_months"]
    both = sites.dropna().index.intersection(year.dropna().index)
    assert len(both) >= 10
    assert (sites[both].astype(int) == year[both].astype(int)).all()
    la = _csv(drop, "tables/residence_la_cohorts.csv")
    svc = _csv(drop, "tables/service_la_cohorts.csv")
    total = lambda t: t[t["la_code"] == "TOTAL"].set_index("cohort")["individuals"]  # noqa: E731
    assert total(la).to_dict() == total(svc).to_dict()
    trend = pd.read_csv(drop / "reports/csv/monitoring_trend.csv")
    this_year = trend[trend["year"] == "2017-18"].set_index("cohort")["individuals"]
    assert this_year.astype(int).to_dict() == total(la).astype(int).to_dict()


def test_a_published_figure_is_the_count_perturbed_by_its_peoples_keys(keyed):
    """Worked out independently: the people who used site PH010 in 2017-18, the sum of their
    record keys, the ptable."""
    extract = read_extract(ROOT / "boundaries" / "demo" / "extract")
    ind = build_individuals(extract, FinancialYear(2017))
    keys = record_keys(extract["clients.csv"], ind.person_of, SECRET)
    people = set(ind.nsp.loc[ind.nsp["site_code"] == "PH010", "person"]) | set(
        ind.interventions.loc[ind.interventions["site_code"] == "PH010", "person"]
    )
    count, key = len(people), int(keys[sorted(people)].sum()) % 256
    sites = _csv(keyed["base"], "tables/site_activity.csv").set_index("site_code")
    assert sites.loc["PH010", "individuals"] == perturb(np.array([count]), np.array([key]))[0]
    # a profile cell (keys summed apart from the counting): the men seen in the year
    men = ind.people.index[ind.people["gender"] == "M"].to_numpy()
    count, key = len(men), int(keys[men].sum()) % 256
    profiles = pd.read_csv(keyed["base"] / "reports/csv/monitoring_profiles.csv")
    shown = profiles.query("dimension == 'gender' and category == 'Male' and cohort == 'all'")
    assert shown["individuals"].tolist() == [perturb(np.array([count]), np.array([key]))[0]]


def test_no_1s_or_2s_and_the_notes_say_the_tables_need_not_add_up(keyed):
    drop = keyed["base"]
    for name in ("residence_lsoa_cohorts", "residence_la_cohorts", "service_la_cohorts"):
        values = _csv(drop, f"tables/{name}.csv")["individuals"].dropna()
        assert not values.isin([1, 2]).any()
    note = _text_of((drop / "reports" / "monitoring.html").read_text(), "note-suppressed")
    assert note.startswith("Perturbed counts.")
    assert "so a table need not add up" in note
    page = (drop / "atlas.html").read_text()
    atlas_note = _text_of(page, "atlas-notes-title", "aria-labelledby")
    assert "every count of individuals is perturbed by the cell-key method" in atlas_note
    assert "counts from 1 to 4 are suppressed" not in atlas_note
    result = CliRunner().invoke(main, ["audit", str(drop)])
    assert result.exit_code == 0, result.output


def test_the_secret_may_not_be_inside_the_output_folder(keyed, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "secret.txt").write_bytes(SECRET)
    recipe = _write(
        tmp_path, f'protection = "cell_key"\ncell_key_secret_file = "{out / "secret.txt"}"'
    )
    result = CliRunner().invoke(main, ["build", str(recipe), "--out", str(out)])
    assert result.exit_code == 2
    assert result.output == (
        f"error: --out {out}: holds the cell key's secret file ({out / 'secret.txt'}); "
        "give a folder of its own for the drop\n"
    )
