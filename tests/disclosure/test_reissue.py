"""The two-issue attack (issue 13.5): a demo drop and the same drop rebuilt with one late
person, attacked together by ``ims-atlas audit NEW --previous OLD``."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import sparse

import atlas
from atlas.cli import main
from atlas.disclosure.reissue import (
    Model,
    ReissueReport,
    _singles_out,
    attack_models,
    audit_reissue,
)

ROOT = Path(__file__).resolve().parents[2]
LATE_CLIENT = "C999999,PH010,Q,Z,1981-03-04,M,ZX6 5AD,White British\n"
LATE_VISIT = "T9999999,C999999,PH010,2018-02-10,N,,10,10,0,10,0,0,0\n"
# an existing client's late visit, in Q4, to a site they had not used that year
LATE_VISIT_OF_A_CLIENT = "T9999998,C000001,AG004,2018-03-01,N,,10,10,0,10,0,0,0\n"


def late_extract(folder: Path, new_client: bool = True) -> Path:
    """The demo extract with one new client and their one NSP visit in Q4, sent late (or,
    ``new_client`` False, one late visit of an existing client)."""
    shutil.copytree(ROOT / "boundaries" / "demo" / "extract", folder)
    if new_client:
        with open(folder / "clients.csv", "a", encoding="utf-8") as fh:
            fh.write(LATE_CLIENT)
    with open(folder / "nsp_transactions.csv", "a", encoding="utf-8") as fh:
        fh.write(LATE_VISIT if new_client else LATE_VISIT_OF_A_CLIENT)
    return folder


def build_demo(folder: Path, name: str, extract: Path | None = None, drop: str = "") -> Path:
    """The demo recipe without [siting] (``drop``: lines added to [drop]), built into
    ``folder/name``."""
    text = (ROOT / "builders" / "demo.toml").read_text().split("[siting]")[0]
    text = text.replace('"../boundaries', f'"{ROOT}/boundaries').replace(
        'name = "demo"', f'name = "{name}"\n{drop}'
    )
    if extract is not None:
        text = text.replace(f'"{ROOT}/boundaries/demo/extract"', f'"{extract}"')
    recipe = folder / f"{name}.toml"
    recipe.write_text(text)
    out = folder / "out" / name
    result = CliRunner().invoke(main, ["build", str(recipe), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def issues(tmp_path_factory) -> dict[str, Path]:
    """The demo and the demo with one late person, suppressed and rounded to 5."""
    root = tmp_path_factory.mktemp("issues")
    late = late_extract(root / "late-extract")
    visit = late_extract(root / "visit-extract", new_client=False)
    return {
        "base": build_demo(root, "base"),
        "late": build_demo(root, "late", late),
        "visit": build_demo(root, "visit", visit),
        "base5": build_demo(root, "base5", drop="rounding = 5"),
        "late5": build_demo(root, "late5", late, drop="rounding = 5"),
    }


def test_suppression_single_out_the_late_person(issues):
    result = CliRunner().invoke(
        main, ["audit", str(issues["late"]), "--previous", str(issues["base"])]
    )
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith(f"audit of {issues['late']} passed")  # each issue alone passes
    assert "error: the two issues together single out fewer than 5 people:" in lines
    # the person's service LA and cohort, age band, site and quarter, each by one
    for line in (
        "  ledger.json cohorts.all: 2500 -> 2501, 1 person more",
        "  ledger.json cohorts.pwid_psychoactive: 950 -> 951, 1 person more",
        "  reports/csv/data_quality_assessments.csv area:TOTAL seen: 2500 -> 2501, 1 person more",
    ):
        assert line in lines
    report = atlas.audit(issues["late"], previous=issues["base"], check=False)
    assert (
        "reports/csv/monitoring_profiles.csv age_band:35–44:pwid_psychoactive individuals: "
        "440 -> 441, 1 person more" in report.exposures
    )
    assert "reports/csv/data_quality_site_individuals.csv PH010 q4: 58 -> 59, 1 person more" in (
        report.exposures
    )
    assert "tables/site_activity.csv PH010 individuals: 158 -> 159, 1 person more" in (
        report.exposures
    )
    with pytest.raises(
        atlas.errors.DisclosureError, match=r"cohorts\.all: 2500 -> 2501, 1 person more"
    ):
        atlas.audit(issues["late"], previous=issues["base"])


def test_suppression_single_out_a_clients_late_visit(issues):
    """Found: one late visit of a known client to a new site adds them to the site's people,
    its Q4 and its LA's: each by exactly one."""
    report = audit_reissue(issues["visit"], issues["base"])
    for line in (
        "tables/site_activity.csv AG004 individuals: 314 -> 315, 1 person more",
        "reports/csv/data_quality_site_individuals.csv AG004 q4: 113 -> 114, 1 person more",
        "tables/service_la_cohorts.csv E06900003:pwid_psychoactive individuals: 174 -> 175, "
        "1 person more",
    ):
        assert line in report.exposures
    assert not any(e.startswith("ledger.json cohorts") for e in report.exposures)  # not new


def test_rounding_to_5_hides_the_late_person(issues):
    """Found: with rounding = 5 every count of people moves by a rounding step or not at all;
    none of the differences, nor the LP over both issues, narrows to 1..4."""
    report = audit_reissue(issues["late5"], issues["base5"])
    assert report.exposures == []
    assert report.changed > 0  # some rounded figures did move
    result = CliRunner().invoke(
        main, ["audit", str(issues["late5"]), "--previous", str(issues["base5"])]
    )
    assert result.exit_code == 0, result.output
    assert "differences single people out" in result.output.splitlines()[-1]


def test_an_issue_against_itself_differs_nowhere(issues):
    report = audit_reissue(issues["base"], issues["base"])
    assert report.exposures == [] and report.changed == 0 and report.matched > 1000


def model(values: dict[str, float | None]) -> Model:
    """An issue of one group, ``lsoa:A:all`` = ``lsoa:A:bi`` + ``lsoa:A:ipeds``, published
    exactly (None: suppressed)."""
    names = list(values)
    lo = np.array([0.0 if v is None else v for v in values.values()])
    hi = np.array([np.inf if v is None else v for v in values.values()])
    groups = sparse.csr_matrix(np.array([[-1.0, 1.0, 1.0]]))
    return Model(names, lo, hi, groups, sparse.csr_matrix((0, 3)), np.ones(3, dtype=bool))


def test_the_lp_pins_a_difference_suppressed_in_one_issue():
    """12 = 7 + 5 in the old issue; 13 = ? + 5 in the new: the suppressed cell is 8, one more
    than before, which neither issue alone tells (the total's difference is the direct
    attack's)."""
    old = model({"lsoa:A:all": 12, "lsoa:A:bi": 7, "lsoa:A:ipeds": 5})
    new = model({"lsoa:A:all": 13, "lsoa:A:bi": None, "lsoa:A:ipeds": 5})
    report = ReissueReport(5)
    attack_models(new, old, report, {"tables/residence_lsoa_cohorts.csv|A:all|individuals"})
    assert report.exposures == ["cell lsoa:A:bi: the two issues together give 1 person more"]
    # with the other part suppressed too, the one more person is in either: nothing pinned
    new = model({"lsoa:A:all": 13, "lsoa:A:bi": None, "lsoa:A:ipeds": None})
    report = ReissueReport(5)
    attack_models(new, old, report, {"tables/residence_lsoa_cohorts.csv|A:all|individuals"})
    assert report.exposures == []


def test_a_previous_issue_that_is_not_a_drop_is_one_line(issues, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(issues["base"], old)
    (old / "reports/csv/monitoring_trend.csv").write_bytes(b"year,cohort\n\xff\xfe,1\n")
    result = CliRunner().invoke(main, ["audit", str(issues["base"]), "--previous", str(old)])
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        f"error: {old}/reports/csv/monitoring_trend.csv: not UTF-8 text (byte 13): "
        "not a table of a drop"
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(main, ["audit", str(issues["base"]), "--previous", str(empty)])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == f"error: {empty}: holds no table of a drop"


@pytest.mark.parametrize(
    ("low", "high", "singled"),
    [
        (1, 1, True),
        (-1, -1, True),
        (1, 4, True),
        (-4, -2, True),
        (0, 0, False),
        (5, 5, False),
        (0, 1, False),
        (-1, 1, False),
        (4, 5, False),
        (-5, -4, False),
    ],
)
def test_singles_out(low, high, singled):
    assert bool(_singles_out(np.array([low]), np.array([high]), 5)[0]) is singled


def _recipe(folder: Path, name: str, extract: Path | None, drop: str = "") -> Path:
    text = (ROOT / "builders" / "demo.toml").read_text().split("[siting]")[0]
    text = text.replace('"../boundaries', f'"{ROOT}/boundaries')
    text = text.replace('name = "demo"', f'name = "base"\n{drop}')
    if extract is not None:
        text = text.replace(f'"{ROOT}/boundaries/demo/extract"', f'"{extract}"')
    recipe = folder / f"{name}.toml"
    recipe.write_text(text)
    return recipe


def test_a_build_given_its_previous_issue_publishes_nothing_that_singles_out(tmp_path, issues):
    """``build --previous``: the two issues are attacked before anything is written; a late
    person under suppression stops the re-issue, and the earlier issue stays as it was."""
    target = tmp_path / "out" / "base"
    shutil.copytree(issues["base"], target)
    before = {p.name: p.read_bytes() for p in target.rglob("*") if p.is_file()}
    late = late_extract(tmp_path / "late-extract")
    recipe = _recipe(tmp_path, "late", late)
    result = CliRunner().invoke(
        main, ["build", str(recipe), "--out", str(target), "--previous", str(target), "--quiet"]
    )
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "error: the two issues together single out fewer than 5 people:"
    assert "  ledger.json cohorts.all: 2500 -> 2501, 1 person more" in lines
    assert {p.name: p.read_bytes() for p in target.rglob("*") if p.is_file()} == before


def test_a_rounded_reissue_is_published(tmp_path):
    first = atlas.build(_recipe(tmp_path, "base5", None, "rounding = 5"), tmp_path / "o" / "base")
    late = late_extract(tmp_path / "late-extract")
    again = _recipe(tmp_path, "late5", late, "rounding = 5")
    result = CliRunner().invoke(
        main, ["build", str(again), "--out", str(first.out_dir), "--previous", str(first.out_dir)]
    )
    assert result.exit_code == 0, result.output
