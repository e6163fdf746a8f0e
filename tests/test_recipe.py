"""Recipe validation (spec section 3): every problem at once, one line each, exit status 2."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT, client, write_extract, write_recipe

from atlas.cli import main
from atlas.errors import RecipeError
from atlas.recipe import load_recipe

BAD = textwrap.dedent("""\
    [drop]
    period = "2017/18"
    threshold = "five"

    [extract]
    path = "no/such/folder"

    [geography]
    postcodes = ["missing.csv", "*.nothing"]
    lsoa_boundaries = 7
    population = "pop.csv"

    [atlas]
    classification = "natural_breaks"
    colour = "red"
    """)


def test_every_problem_is_reported_at_once_naming_the_key(tmp_path):
    recipe = tmp_path / "bad.toml"
    recipe.write_text(BAD)
    with pytest.raises(RecipeError) as info:
        load_recipe(recipe)
    problems = info.value.problems
    assert problems[0] == (
        "line 15: atlas.colour: unknown key (known keys of [atlas]: basemap, classification, population_year, "
        "data_year)"
    )
    assert problems[1] == "drop.name: missing (required: the output folder's name)"
    assert (
        "line 2: drop.period: '2017/18' is not a financial year written YYYY-YY (e.g. 2017-18) "
        "nor a quarter written YYYY-YY Qn with n from 1 to 4 (e.g. 2018-19 Q2)"
    ) in problems
    assert "drop.threshold: expected an integer, got a string ('five')" in problems
    assert any(
        p.startswith("extract.path: path does not exist: ") and "no/such/folder" in p
        for p in problems
    )
    assert any(
        p.startswith("geography.postcodes: path does not exist: ") and "glob matches no file" in p
        for p in problems
    )
    assert (
        "geography.lsoa_boundaries: expected a path, a glob or a list of paths, got 7" in problems
    )
    assert any(p.startswith("geography.population: path does not exist") for p in problems)
    assert (
        "atlas.classification: 'natural_breaks' is not one of fisher_jenks, quantiles, "
        "equal_interval"
    ) in problems
    assert len(problems) == 9


def test_cli_exits_2_with_one_line_per_problem_and_no_traceback(tmp_path):
    recipe = tmp_path / "bad.toml"
    recipe.write_text(BAD)
    result = subprocess.run(
        [sys.executable, "-m", "atlas.cli", "build", str(recipe)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"error: {recipe}: invalid recipe"
    assert len(lines) == 10 and all(ln.startswith("  ") for ln in lines[1:])


def test_not_toml_and_missing_file(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["build", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2 and "recipe file not found" in result.output
    bad = tmp_path / "x.toml"
    bad.write_text("[drop\nname=")
    result = runner.invoke(main, ["build", str(bad)])
    assert result.exit_code == 2 and "not valid TOML" in result.output


def test_valid_recipe_resolves_paths_relative_to_the_recipe(tmp_path, geo):
    extract = write_extract(tmp_path / "ex", {"clients.csv": [], "interventions.csv": []})
    recipe = load_recipe(write_recipe(tmp_path, geo, extract))
    assert recipe.name == "test" and recipe.period.label == "2017-18"
    assert recipe.threshold == 5 and recipe.basemap == "none"
    assert recipe.postcodes == (geo["postcodes"].resolve(),)
    assert recipe.extract_path == extract.resolve()


# --- unknown keys and sections: errors with their line and the nearest known name -------------


def _recipe(tmp_path, geo, edit=lambda text: text) -> Path:
    """The tiny valid recipe, at tmp_path/builders/x.toml, changed by ``edit``."""
    extract = write_extract(tmp_path / "ex", {"clients.csv": [client("c1")]})
    (tmp_path / "builders").mkdir()
    recipe = write_recipe(tmp_path / "builders", geo, extract, name="x")
    recipe.write_text(edit(recipe.read_text()))
    return recipe


def test_a_typo_in_a_safety_key_stops_the_build_in_one_line(tmp_path, geo, monkeypatch):
    _recipe(
        tmp_path,
        geo,
        lambda t: t.replace(
            'area_name = "Test Area"\n', 'area_name = "Test Area"\ntreshold = 10\n'
        ),
    )
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["build", "builders/x.toml"])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: builders/x.toml line 5: drop.treshold: unknown key (did you mean "
        "drop.threshold?)\n"
    )
    assert not (tmp_path / "output").exists()


def test_a_misspelt_section_stops_the_build_in_one_line(tmp_path, geo, monkeypatch):
    _recipe(tmp_path, geo, lambda t: t.replace("[atlas]", "[atlass]"))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["build", "builders/x.toml"])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: builders/x.toml line 14: [atlass]: unknown section (did you mean [atlas]?)\n"
    )


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (
            lambda t: "threshold = 10\n" + t,
            "line 1: threshold: unknown key (did you mean drop.threshold?)",
        ),
        (
            lambda t: t.replace('"Test Area"', '"Test Area"\n"rounding " = 5'),
            "line 5: drop.rounding : unknown key (did you mean drop.rounding?)",
        ),
        (
            lambda t: (
                'atlas = {basemap = "none", colour = "red"}\n'
                + t.replace('[atlas]\nbasemap = "none"', "")
            ),
            "line 1: atlas.colour: unknown key (known keys of [atlas]: basemap, classification, population_year, "
            "data_year)",
        ),
        (  # an inline table after [geography] belongs to it
            lambda t: t.replace('[atlas]\nbasemap = "none"', 'atlas = {basemap = "none"}'),
            "line 14: geography.atlas.basemap: unknown key (did you mean atlas.basemap?)",
        ),
        (
            lambda t: t + "\n[zzz]\nx = 1\n",
            "line 17: [zzz]: unknown section (known sections: drop, extract, geography, atlas, "
            "siting, linkage, reports)",
        ),
        (
            lambda t: t + "\n[drop.notes]\nwho = 1\n",
            "line 18: drop.notes.who: unknown key (did you mean drop.threshold?)",
        ),
        (
            lambda t: t.replace(
                'area_name = "Test Area"',
                'title = """\nthreshold = 3 in a title\n"""\narea_name = "Test Area"\nthresold = 9',
            ),
            "line 8: drop.thresold: unknown key (did you mean drop.threshold?)",
        ),
        (
            lambda t: t.replace("[extract]\n", "[extract]\nencodng = 'cp1252'  # forced\n"),
            "line 7: extract.encodng: unknown key (did you mean extract.encoding?)",
        ),
    ],
)
def test_unknown_keys_and_sections_name_their_line_and_the_nearest_key(
    tmp_path, geo, edit, problem
):
    recipe = _recipe(tmp_path, geo, edit)
    with pytest.raises(RecipeError) as info:
        load_recipe(recipe)
    assert info.value.problems == [problem]
    assert str(info.value) == f"{recipe} {problem}"


def test_unknown_keys_come_first_in_file_order_with_the_other_problems(tmp_path, geo):
    def edit(text: str) -> str:
        text = text.replace('name = "x"', 'nmae = "x"').replace("[atlas]", "[atlass]")
        return text.replace('period = "2017-18"', 'period = "2017-18"\nthreshold = "five"')

    recipe = _recipe(tmp_path, geo, edit)
    with pytest.raises(RecipeError) as info:
        load_recipe(recipe)
    assert info.value.problems == [
        "line 2: drop.nmae: unknown key (did you mean drop.name?)",
        "line 15: [atlass]: unknown section (did you mean [atlas]?)",
        "drop.name: missing (required: the output folder's name)",
        "drop.threshold: expected an integer, got a string ('five')",
    ]
    assert str(info.value).splitlines() == [
        f"{recipe}: invalid recipe",
        *(f"  {p}" for p in info.value.problems),
    ]


def test_every_recipe_in_the_repository_has_only_known_keys():
    for path in sorted((ROOT / "builders").glob("*.toml")):
        assert load_recipe(path).name
