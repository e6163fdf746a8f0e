"""The corpus of bad inputs (issue 14): each folder here is one mistake an analyst makes, built
with the real command in a copy of its own, and must give exactly the message, exit status,
ledger and rejects written in its ``expected.toml``.

A case is a folder holding ``case.toml`` and the files it changes. Its working folder starts as
a copy of ``_base/`` (a recipe, ``recipe.toml``, and a clean 20-client extract, ``extract/``)
with the tiny geography of ``conftest`` in ``geo/``; the case's files are copied over it.

``case.toml``:
    about       what the analyst did (one line)
    args        the command line (default: build recipe.toml --out out); ``{root}`` is the
                working folder, which is also the current folder
    remove      files of the base to delete first
    symlinks    ``{link = target}``, made in the working folder
    before      commands run first (each must exit 0), e.g. a build for ``audit`` to read;
                then the files under the case's ``then/`` are copied over the working folder

A line ``@repeat N: template`` in a case's file stands for N lines, ``template.format(i=i, c=c)``
for i = 1..N, c the base's clients in turn (1..20), so a 200-line or 128 KiB file needs no
bytes in the repository.

``expected.toml``:
    exit        the exit status
    output      every line the command printed, stdout then stderr, but ``INFO:`` lines (the
                working folder written ``{root}``, a duration ``{s}``)
    files       optional, the ledger's counts of each extract file
    rejects     optional, every row of rejects.csv as ``[file, line, reason]``

Whatever the case, the command must never print a traceback, never change a file it was given,
and, when it writes a drop, account for every row and line it read (read = accepted + rejected,
the ledger's lines are the file's physical lines, one rejects.csv row per rejected row).

The README's "When something goes wrong" lists messages of this corpus;
``test_the_readme_lists_messages_the_corpus_gives`` keeps the two in step.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import ROOT, write_geography

from atlas.cli import main

HERE = Path(__file__).parent
BASE = HERE / "_base"
CASES = sorted(p for p in HERE.iterdir() if (p / "case.toml").is_file())
DEFAULT_ARGS = ["build", "recipe.toml", "--out", "out"]
CASE_KEYS = {"about", "args", "remove", "symlinks", "before"}
EXPECTED_KEYS = {"exit", "output", "files", "rejects"}
_REPEAT = re.compile(rb"^@repeat (\d+): (.*)$")
_DURATION = re.compile(r"\b\d+\.\d s\b")


def _expand(data: bytes) -> bytes:
    """A file's bytes with each ``@repeat N: template`` line written out N times."""
    if b"@repeat " not in data:
        return data
    out = []
    for line in data.splitlines(keepends=True):
        body = line.rstrip(b"\r\n")
        match = _REPEAT.match(body)
        if not match:
            out.append(line)
            continue
        end = line[len(body) :]
        template = match.group(2).decode()
        out += [
            template.format(i=i, c=(i - 1) % 20 + 1).encode() + end
            for i in range(1, int(match.group(1)) + 1)
        ]
    return b"".join(out)


def _lay_out(case: Path, root: Path, spec: dict[str, Any]) -> None:
    """The case's working folder: the base, the geography, then the case's own files."""
    shutil.copytree(BASE, root)
    write_geography(root / "geo")
    for name in spec.get("remove", []):
        (root / name).unlink()
    _copy_over(case, root, skip=("case.toml", "expected.toml", "then"))
    for link, target in spec.get("symlinks", {}).items():
        (root / link).symlink_to(target)


def _copy_over(folder: Path, root: Path, skip: tuple[str, ...] = ()) -> None:
    """Copy a case's files over the working folder (``@repeat`` lines written out, ``{root}``
    in TOML files replaced)."""
    for source in sorted(folder.rglob("*")):
        target = root / source.relative_to(folder)
        if source.relative_to(folder).parts[0] in skip:
            continue
        if source.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            data = _expand(source.read_bytes())
            if source.suffix == ".toml":
                data = data.replace(b"{root}", str(root).encode())
            target.write_bytes(data)


def _out(args: list[str]) -> str:
    """The drop's folder, relative to the working folder: ``--out``'s, else ``out``."""
    return args[args.index("--out") + 1] if "--out" in args else "out"


def _ours(name: str, out: str) -> bool:
    """Whether a path (relative) is the build's own: the drop, its private ledger beside it,
    or a build's temporary files and lock (``.<name>.*`` beside it)."""
    parent, _, drop = out.rpartition("/")
    inside = name[len(parent) + 1 :] if parent else name
    if parent and not name.startswith(parent + "/"):
        return False
    first = inside.split("/")[0]
    return first in (drop, f"{drop}.private") or first.startswith(f".{drop}.")


def _snapshot(root: Path, out: str | None = None) -> dict[str, bytes | str]:
    """Every file and link of the working folder, but those of the build of ``out``."""
    found: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if out is not None and _ours(name, out):
            continue
        if path.is_symlink():
            found[name] = f"-> {os.readlink(path)}"
        elif path.is_file():
            found[name] = path.read_bytes()
    return found


def _physical_lines(data: bytes) -> int:
    """Lines as a text editor counts them: each \\r\\n, \\n or \\r ends one; a last line
    without an end counts too."""
    ends = len(re.findall(rb"\r\n|\r|\n", data))
    return ends + (1 if data and not data.endswith((b"\n", b"\r")) else 0)


def _printed(result: Any, root: Path) -> list[str]:
    lines = (result.stdout + result.stderr).splitlines()
    shown = [line for line in lines if not line.startswith("INFO: ")]
    return [_DURATION.sub("{s} s", line.replace(str(root), "{root}")) for line in shown]


def _read_drop(drop: Path, extract: Path) -> tuple[dict[str, Any], list[list[Any]]]:
    """The drop's ledger counts of each file and its rejects, checked to lose nothing (a site
    that cannot be placed on the map is accepted and listed in rejects.csv too)."""
    ledger = json.loads((drop / "ledger.json").read_text())
    with open(drop / "rejects.csv", newline="") as fh:
        rejects = [[f, int(line), reason] for f, line, reason in list(csv.reader(fh))[1:]]
    for name, counts in ledger["files"].items():
        assert counts["read"] == counts["accepted"] + counts["rejected"], name
        assert counts["lines"] == _physical_lines((extract / name).read_bytes()), name
        records = counts["lines"] - 1 - counts["blank"] - counts.get("continued", 0)
        assert counts["read"] == records, name
        listed = counts["rejected"] + (ledger["sites_unplaced"] if name == "sites.csv" else 0)
        assert sum(1 for r in rejects if r[0] == name) == listed, name  # and unplaced sites
    return ledger["files"], rejects


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = tomllib.loads((case / "case.toml").read_text())
    expected = tomllib.loads((case / "expected.toml").read_text())
    assert set(spec) <= CASE_KEYS and set(expected) <= EXPECTED_KEYS
    root = tmp_path / "work"
    _lay_out(case, root, spec)
    monkeypatch.chdir(root)
    for command in spec.get("before", []):
        done = CliRunner().invoke(main, command)
        assert done.exit_code == 0, done.output
    if (case / "then").is_dir():
        _copy_over(case / "then", root)
    args = [a.replace("{root}", str(root)) for a in spec.get("args", DEFAULT_ARGS)]
    built = _out(args) if expected["exit"] == 0 else None  # a failure writes nothing at all
    before = _snapshot(root, built)

    result = CliRunner().invoke(main, args)

    assert "Traceback" not in result.stdout + result.stderr
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), repr(result.exception)
    assert (result.exit_code, _printed(result, root)) == (expected["exit"], expected["output"])
    assert _snapshot(root, built) == before  # nothing given was changed or deleted
    drop = root / _out(args)
    assert not list(drop.parent.glob(f".{drop.name}.*"))  # no lock or temporary folder left
    if "files" in expected or "rejects" in expected:
        files, rejects = _read_drop(drop, root / "extract")
        assert files == expected.get("files", files)
        assert rejects == expected.get("rejects", rejects)


def test_the_corpus_covers_at_least_40_cases() -> None:
    assert len(CASES) >= 40


def test_the_readme_lists_messages_the_corpus_gives() -> None:
    """Each message in the README's "When something goes wrong" table is one a corpus case
    gives (its ``...`` stands for the part that varies)."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## When something goes wrong", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| `(error: [^`]+|WARNING: [^`]+)` \|", section, re.MULTILINE)
    assert len(listed) >= 10
    given = [
        line
        for case in CASES
        for line in tomllib.loads((case / "expected.toml").read_text())["output"]
    ]
    for message in listed:
        pattern = ".*".join(re.escape(part) for part in message.split("..."))
        assert any(re.fullmatch(pattern, line) for line in given), message
