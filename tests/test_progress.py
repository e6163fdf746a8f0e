"""The terminal progress display of long commands."""

import io

from click.testing import CliRunner
from rich.console import Console

from atlas.cli import main
from atlas.progress import StageProgress


def test_each_stage_is_shown_with_its_duration():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=80)
    with StageProgress(enabled=True, console=console) as show:
        show("reading the extract")
        show("counting")
    text = out.getvalue()
    assert "reading the extract (" in text
    assert "counting (" in text


def test_quiet_or_not_a_terminal_shows_nothing(capsys):
    for progress in (
        StageProgress(enabled=True, quiet=True),
        StageProgress(enabled=False),
        StageProgress(),
    ):  # pytest's stderr is not a terminal
        with progress as show:
            show("reading the extract")
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_build_in_a_pipe_prints_no_progress(tmp_path):
    recipe = "builders/demo.toml"
    result = CliRunner().invoke(main, ["build", recipe, "--out", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert "…" not in result.output and "reading the extract" not in result.output
    assert any(line.startswith("built ") for line in result.output.splitlines())
