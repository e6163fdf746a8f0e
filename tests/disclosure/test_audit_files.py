"""The audit reads every published file back (issue 13, point 7): a tampered figure anywhere a
drop publishes one fails it, naming the file and the place; the untouched drops pass."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT

from atlas.cli import main
from atlas.demo.extract import make_demo_extract, read_directory
from atlas.disclosure.audit import audit_drop, audit_files
from atlas.drop import compute_drop
from atlas.errors import DisclosureError
from atlas.recipe import load_recipe
from atlas.render import atlas_page

DEMO = ROOT / "builders" / "demo.toml"
BOUNDARIES = ROOT / "boundaries"


def _recipe(folder: Path, extract: Path | None = None, extra: str = "") -> Path:
    """The demo recipe without [siting], with absolute paths (and ``extra`` drop settings)."""
    text = DEMO.read_text().split("[siting]")[0].replace('"../boundaries', f'"{BOUNDARIES}')
    if extract is not None:
        text = re.sub(r'path = ".*extract"', f'path = "{extract}"', text)
    text = text.replace("threshold = 5", f"threshold = 5\n{extra}")
    path = folder / "recipe.toml"
    path.write_text(text)
    return path


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


@pytest.fixture(scope="module")
def demo_files(demo_drop) -> dict[str, bytes]:
    return _files(demo_drop)


@pytest.fixture(scope="module")
def rounded_lazy(tmp_path_factory) -> dict[str, bytes]:
    """The demo rounded to 5, its LSOA shapes in one script per LA (as at national scale)."""
    tmp = tmp_path_factory.mktemp("rounded")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(atlas_page, "ON_DEMAND_LSOAS", 1)
        return compute_drop(load_recipe(_recipe(tmp, extra="rounding = 5"))).files


@pytest.fixture(scope="module")
def one_la(tmp_path_factory) -> dict[str, bytes]:
    """A one-LA demo drop, small enough that two match levels are suppressed in its ledger."""
    tmp = tmp_path_factory.mktemp("one_la")
    directory = read_directory(BOUNDARIES / "demo" / "postcodes.csv")
    make_demo_extract(tmp / "extract", directory, ["E06900001"], seed=12, scale=0.15)
    recipe = load_recipe(_recipe(tmp, tmp / "extract"))
    return compute_drop(recipe, allow_rejects=True).files


def _tampered(
    files: dict[str, bytes], path: str, change: Callable[[str], str]
) -> dict[str, bytes]:
    out = dict(files)
    out[path] = change(files[path].decode()).encode()
    assert out[path] != files[path], f"the tamper changed nothing in {path}"
    return out


def _fails(files: dict[str, bytes], *messages: str, threshold: int = 5, rounding: int = 0):
    report = audit_files(files, threshold, rounding)
    for message in messages:
        assert message in report.exposures, report.exposures
    with pytest.raises(DisclosureError, match=re.escape(messages[0])):
        report.check()


# --- untouched drops pass ---------------------------------------------------------------------


def test_the_demo_drop_passes_with_every_file_read_back(demo_drop):
    report = audit_drop(demo_drop, threshold=5, rounding=0)
    assert report.clean and report.files == 99  # the packs' CSV files and pages, postcode index
    assert report.settings_from == ""  # both given


def test_without_options_the_cli_says_the_settings_are_the_ledgers(demo_drop):
    result = CliRunner().invoke(main, ["audit", str(demo_drop)])
    assert result.exit_code == 0, result.output
    assert (
        "passed: threshold and rounding from the drop's ledger.json (not given: --threshold "
        "and --rounding); 99 files read back, 3,309 cells, 1,261 suppressed" in result.output
    )
    given = CliRunner().invoke(main, ["audit", str(demo_drop), "--threshold", "5"])
    assert "rounding from the drop's ledger.json (not given: --rounding)" in given.output


def test_a_rounded_drop_with_lsoa_scripts_passes(rounded_lazy):
    scripts = sorted(p for p in rounded_lazy if p.startswith("atlas/"))
    assert scripts == [f"atlas/lsoa-E0690000{k}.js" for k in range(1, 5)] + [
        "atlas/postcodes-ZX.js"
    ]
    report = audit_files(rounded_lazy, 5, 5)
    assert report.exposures == [] and report.files == 103


def test_the_one_la_drop_passes(one_la):
    ledger = json.loads(one_la["ledger.json"])
    assert [k for k, v in ledger["match_levels"].items() if v is None] == [
        "out_of_area",
        "invalid",
    ]
    assert audit_files(one_la, 5).exposures == []


# --- tampered drops fail, naming the file and place -------------------------------------------


def _msoa_filled(t: str) -> str:
    return t.replace(
        "E02900001,Haverlow 001,E06900001,pwid_psychoactive,,true",
        "E02900001,Haverlow 001,E06900001,pwid_psychoactive,3,false",
    )


def _profile_shown(t: str) -> str:
    return t.replace(
        "age_band,Age at the end of the year,Not known,bi,,,true",
        "age_band,Age at the end of the year,Not known,bi,2,,false",
    )


def _first_count_up(pattern: str) -> Callable[[str], str]:
    """Add one to the first number matched by group 2 of ``pattern``."""

    def change(t: str) -> str:
        return re.sub(pattern, lambda m: m.group(1) + str(int(m.group(2)) + 1), t, count=1)

    return change


def _feature_up(t: str) -> str:
    data = json.loads(t)
    data["features"][0]["properties"]["all"] += 1
    return json.dumps(data)


def _feature_extra(t: str) -> str:
    data = json.loads(t)
    data["features"][4]["properties"]["bi_exact"] = 2
    return json.dumps(data)


def _page_count_up(t: str) -> str:
    start = t.index('"values":{"all":{')
    at = t.index('"n":[', start)
    return t[:at] + _first_count_up(r'("n":\[)(\d+)')(t[at:])


def _site_people(t: str) -> str:
    return t.replace('"people":"116"', '"people":"117"', 1)


TAMPERS = {
    # the wellbeing section and the year in numbers count the same people reviewed: one shown
    # where the other is withheld gives it away (a leak the audit once missed)
    "the year in numbers showing the people reviewed the wellbeing section withholds": (
        "reports/csv/monitoring_year_numbers.csv",
        lambda t: t.replace(",true,16,,true\n", ",true,16,13,false\n"),
        ["cell wb:E06900001:reviewed can be narrowed to exactly 13"],
    ),
    "the wellbeing section's reviews shown beside a withheld quarter": (
        "reports/csv/monitoring_wellbeing.csv",
        lambda t: t.replace("\nE06900001,Haverlow,16,", "\nE06900001,Haverlow,17,"),
        [
            "reports/csv/monitoring_wellbeing.csv line 3: reviews is 17, but its published "
            "quarters give 16"
        ],
    ),
    "an MSOA cell filled in": (
        "tables/residence_msoa_cohorts.csv",
        _msoa_filled,
        [
            "tables/residence_msoa_cohorts.csv line 3: a count below 5 is published",
            "atlas.html level msoa pwid_psychoactive area E02900001: "
            "msoa:E02900001:pwid_psychoactive is suppressed here but 3 in "
            "tables/residence_msoa_cohorts.csv line 3",
            "cell msoa:E02900001:pwid_ipeds can be narrowed to exactly 3",
        ],
    ),
    "a profile category un-suppressed": (
        "reports/csv/monitoring_profiles.csv",
        _profile_shown,
        [
            "reports/csv/monitoring_profiles.csv line 173: a count below 5 is published",
            "reports/csv/monitoring_profiles.csv line 173: share is withheld, but the cells it "
            "is computed from give 0.3",
        ],
    ),
    "a data-quality quarter's visits changed": (
        "reports/csv/data_quality_activity.csv",
        _first_count_up(r"(\nsite,PH008,Boyd Chemists,Easterholm,1,)(\d+)"),
        [
            "the published parts of act:nsp_visits:PH008 (tables/site_activity.csv line 14) "
            "do not add up to it",
            "the published parts of act:nsp_visits:E06900003:q1 "
            "(reports/csv/monitoring_la_activity.csv line 2) do not add up to it",
            "reports/data_quality.html table dq-site-activity cell 176: 77 is no published "
            "figure of its tables",
        ],
    ),
    "a site's assessed count changed": (
        "reports/csv/data_quality_assessments.csv",
        _first_count_up(r"(\nsite,PH008,Boyd Chemists,Easterholm,85,)(\d+)"),
        [
            "the published parts of site:PH008 (tables/site_activity.csv line 14) do not add "
            "up to it",
            "reports/csv/data_quality_assessments.csv line 2: with_assessment_pct is 31.8, but "
            "the cells it is computed from give 32.9",
        ],
    ),
    "a GeoJSON feature's count altered": (
        "tables/residence_lsoa.geojson",
        _feature_up,
        [
            "tables/residence_lsoa.geojson feature 1: lsoa:E01900001:all is 12 here but 11 in "
            "tables/residence_lsoa_cohorts.csv line 2"
        ],
    ),
    "a GeoJSON feature given a number of its own": (
        "tables/residence_lsoa.geojson",
        _feature_extra,
        ["tables/residence_lsoa.geojson feature 5: property 'bi_exact' is no cell of the drop"],
    ),
    "an atlas page count altered": (
        "atlas.html",
        _page_count_up,
        [
            "atlas.html level lsoa all area E01900001: lsoa:E01900001:all is 12 here but 11 in "
            "tables/residence_lsoa_cohorts.csv line 2"
        ],
    ),
    "an atlas level given a figure of its own": (
        "atlas.html",
        lambda t: t.replace('"id":"msoa",', '"id":"msoa","total":2500,', 1),
        ["atlas.html level msoa: 'total' is no cell of the drop"],
    ),
    "an atlas site's individuals altered": (
        "atlas.html",
        _site_people,
        ["atlas.html site 1: site:AG001 is 117 here but 116 in tables/site_activity.csv line 2"],
    ),
    "a siting percentage altered": (
        "tables/nsp_siting.csv",
        lambda t: t.replace("E06900002,Northmere,2.83,27.39", "E06900002,Northmere,2.90,27.39"),
        ["tables/nsp_siting.csv line 3: added_pct is 2.90, but the published demand gives 2.83"],
    ),
    "a recommended site's figure altered on the map": (
        "atlas.html",
        lambda t: t.replace('"added":"2.83","code":"FZ025"', '"added":"2.91","code":"FZ025"', 1),
        [
            "atlas.html siting recommended site 1: added '2.91' is not the figure of "
            "tables/nsp_siting.csv"
        ],
    ),
    "an LA's coverage altered": (
        "tables/nsp_coverage_la.csv",
        lambda t: t.replace("E06900001,Haverlow,15.63,", "E06900001,Haverlow,15.64,"),
        [
            "tables/nsp_coverage_la.csv line 2: coverage_pct is 15.64, but the published "
            "demand gives 15.63"
        ],
    ),
    "a per-person figure altered": (
        "reports/csv/monitoring_la_activity.csv",
        lambda t: t.replace(",163,false,3.33,", ",163,false,3.43,", 1),
        [
            "reports/csv/monitoring_la_activity.csv line 2: interventions_per_person is 3.43, "
            "but the cells it is computed from give 3.33"
        ],
    ),
    "a rate left beside a count withheld": (
        "reports/csv/monitoring_cohort_summary.csv",
        lambda t: t.replace(
            "Easterholm,all,263,687,78467,8.8,8.1,9.4,100.0,false",
            "Easterholm,all,263,,78467,8.8,8.1,9.4,,true",
        ),
        [
            "reports/csv/monitoring_cohort_summary.csv line 2: rate_per_1000 is published for a "
            "suppressed count"
        ],
    ),
    "a report table without a column": (
        "reports/csv/data_quality_assessments.csv",
        lambda t: t.replace(",seen,", ",people,", 1),
        ["reports/csv/data_quality_assessments.csv: not as the drop writes it (no column 'seen')"],
    ),
    "an extra number in the monitoring report": (
        "reports/monitoring.html",
        lambda t: t.replace('<td class="n">2,500</td>', '<td class="n">2,500 (4,321)</td>', 1),
        [
            "reports/monitoring.html table cohort-summary cell 93: 4,321 is no published figure "
            "of its tables"
        ],
    ),
}


@pytest.mark.parametrize("tamper", list(TAMPERS))
def test_a_tampered_demo_drop_fails_the_audit(demo_files, tamper):
    path, change, messages = TAMPERS[tamper]
    _fails(_tampered(demo_files, path, change), *messages)


def test_a_per_la_script_with_a_figure_fails(rounded_lazy):
    path = "atlas/lsoa-E06900002.js"
    files = _tampered(rounded_lazy, path, lambda t: t.replace('{"index"', '{"n":[7,5],"index"', 1))
    _fails(files, f"{path}: 'n' is no cell of the drop", rounding=5)


def test_a_per_la_script_with_another_las_lsoas_fails(rounded_lazy):
    path = "atlas/lsoa-E06900002.js"
    files = dict(rounded_lazy)
    files[path] = rounded_lazy["atlas/lsoa-E06900003.js"]
    _fails(
        files, f"{path}: its LSOAs are not those the page gives its local authority", rounding=5
    )


def test_a_ledger_match_level_unsuppressed_fails(one_la):
    files = _tampered(
        one_la, "ledger.json", lambda t: t.replace('"out_of_area": null', '"out_of_area": 1')
    )
    _fails(
        files,
        "ledger.json match_levels.out_of_area: a count below 5 is published",
        "cell match:invalid can be narrowed to exactly 3",
    )


def test_a_ledger_threshold_edited_to_2_fails_at_the_recipes(demo_drop, tmp_path):
    drop = tmp_path / "demo"
    shutil.copytree(demo_drop, drop)
    ledger = drop / "ledger.json"
    ledger.write_text(ledger.read_text().replace('"threshold": 5', '"threshold": 2'))
    result = CliRunner().invoke(main, ["audit", str(drop), "--threshold", "5", "--rounding", "0"])
    assert result.exit_code == 1
    assert "ledger.json suppression.threshold: the drop says 2, but it is audited at 5" in (
        result.output
    )
    # without options the ledger's settings are used, and the failure says so: at threshold
    # 2 the siting figures, made at 5 (a suppressed cell counted as 2), no longer agree
    result = CliRunner().invoke(main, ["audit", str(drop)])
    assert result.exit_code == 1
    assert result.output.startswith(
        "error: the drop fails its disclosure audit and must not be published (threshold 2 "
        "and rounding 0 from the drop's ledger.json (not given: --threshold and --rounding)):"
    )
    assert "tables/nsp_siting.csv line 2: added_pct is 24.56, but the published demand" in (
        result.output
    )


# --- the LA report packs ----------------------------------------------------------------------


def test_a_pack_profile_shown_where_it_is_suppressed_fails(demo_files):
    path = "reports/la/E06900001/csv/monitoring_profiles.csv"
    files = _tampered(
        demo_files,
        path,
        lambda t: t.replace(
            "gender,Gender,Male,pwid_psychoactive,,,true",
            "gender,Gender,Male,pwid_psychoactive,2,,false",
            1,
        ),
    )
    _fails(files, f"{path} line 3: a count below 5 is published")


def test_a_pack_row_that_is_not_the_areas_fails(demo_files):
    path = "reports/la/E06900002/csv/monitoring_la_activity.csv"
    files = _tampered(demo_files, path, _first_count_up(r"(\n[^\n]*?,)(\d{2,})"))
    _fails(files, f"{path} line 2: not a row of reports/csv/monitoring_la_activity.csv")
