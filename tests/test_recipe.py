"""Recipe validation (spec section 3): every problem at once, one line each, exit status 2."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner
from conftest import write_extract, write_recipe

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
        "line 15: atlas.colour: unknown key (known keys of [atlas]: basemap, classification)"
    )
    assert problems[1] == "drop.name: missing (required: the output folder's name)"
    assert (
        "drop.period: '2017/18' is not a financial year written YYYY-YY (e.g. 2017-18)" in problems
    )
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
