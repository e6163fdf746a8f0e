"""``[linkage]`` in the recipe: checked up front like every section, and the key file kept
out of everything published."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from tiny_link import make_tiny_link

from atlas.cli import main
from atlas.errors import RecipeError
from atlas.recipe import load_recipe


@pytest.fixture
def tiny_link(tmp_path):
    return make_tiny_link(tmp_path)


def _edit(recipe, old: str, new: str):
    text = recipe.read_text()
    assert old in text
    recipe.write_text(text.replace(old, new))
    return recipe


def test_linkage_needs_its_key_file_and_a_partner_file(tiny_link):
    recipe = tiny_link["recipe"]
    text = recipe.read_text()
    start = text.index("[linkage]")
    end = text.index("[reports]")
    recipe.write_text(text[:start] + "[linkage]\ntretment = 'x.csv'\n\n" + text[end:])
    with pytest.raises(RecipeError) as info:
        load_recipe(recipe)
    assert info.value.problems == [
        f"line {text[:start].count(chr(10)) + 2}: linkage.tretment: unknown key "
        "(did you mean linkage.treatment?)",
        "linkage: give treatment or deaths (a partner's file keyed with ims-atlas link-key), "
        "or remove the [linkage] section",
        "linkage.key_file: missing (required with [linkage]: the key file the partners keyed "
        "their files with)",
    ]


def test_linkage_with_the_cell_key_is_refused(tiny_link):
    recipe = _edit(
        tiny_link["recipe"],
        "threshold = 2",
        f'threshold = 2\nprotection = "cell_key"\ncell_key_secret_file = "{tiny_link["key"]}"',
    )
    with pytest.raises(RecipeError, match="linkage: cannot be combined with protection"):
        load_recipe(recipe)


def test_a_drop_folder_holding_the_key_file_is_refused(tiny_link):
    out = tiny_link["key"].parent
    result = CliRunner().invoke(main, ["build", str(tiny_link["recipe"]), "--out", str(out)])
    assert result.exit_code == 2
    assert "the linkage key file" in result.output
    assert tiny_link["key"].read_bytes()  # untouched


def test_the_manifest_hashes_the_partner_files_but_never_the_key(tiny_link):
    recipe = load_recipe(tiny_link["recipe"])
    names = [p.name for p in recipe.input_files()]
    assert "treatment_hashed.csv" in names and "deaths_hashed.csv" in names
    assert "linkage.key" not in names
    published = recipe.published_raw()
    assert "key_file" not in published["linkage"]
    assert "key_file" in recipe.raw["linkage"]  # the recipe itself is left as it is
