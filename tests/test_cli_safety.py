"""The tool never harms the user's files and every failure is one line with its exit status
(issue 14): 0 built, 1 a data or build error, 2 a recipe or usage error; ``--debug`` shows the
traceback."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT, client, nsp, write_extract, write_recipe

from atlas import drop as drop_module
from atlas.cli import main
from atlas.drop_folder import MARKER, MARKER_HEADER
from atlas.recipe import load_recipe

DEMO = ROOT / "builders" / "demo.toml"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it, with this checkout's package."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "atlas.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=env,
    )


def invoke(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_line(result) -> str:
    """The command's only line on stderr (there must be exactly one)."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture
def small(tmp_path: Path, geo) -> Path:
    """A recipe for a tiny extract that builds in a moment (six people, one visit each)."""
    people = [client(f"c{i}", postcode="AA1 1AA", fi="ABCDEF"[i]) for i in range(6)]
    visits = [nsp(f"t{i}", f"c{i}") for i in range(6)]
    extract = write_extract(
        tmp_path / "ex", {"clients.csv": people, "nsp_transactions.csv": visits}
    )
    return write_recipe(tmp_path, geo, extract)


def _beside(drop: Path) -> list[str]:
    """The entries of a drop's folder, but for the analyst's exact ledger the build may keep
    beside the drop (``<name>.private/``)."""
    return sorted(p.name for p in drop.parent.iterdir() if p.name != f"{drop.name}.private")


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# --- the output folder ------------------------------------------------------------------------


def test_a_folder_with_other_files_is_refused_and_left_alone(small, tmp_path):
    notes = tmp_path / "notes"
    (notes / "drafts").mkdir(parents=True)
    (notes / "minutes.txt").write_text("keep me")
    (notes / "drafts" / "a.md").write_text("and me")
    result = invoke("build", small, "--out", notes)
    assert result.exit_code == 2
    assert one_line(result) == (
        f"error: --out {notes}: holds files IMS Atlas did not write (drafts/, minutes.txt); "
        "give a new or empty folder for the drop"
    )
    assert _tree(notes) == {"drafts/a.md": b"and me", "minutes.txt": b"keep me"}


def test_the_current_folder_and_its_ancestors_are_refused(small, tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / "src.py").write_text("print()")
    monkeypatch.chdir(project)
    result = invoke("build", small, "--out", ".")
    assert result.exit_code == 2
    assert one_line(result) == (
        "error: --out .: is the current folder; give a new folder for the drop"
    )
    result = invoke("build", small, "--out", "..")
    assert result.exit_code == 2
    assert one_line(result) == (
        "error: --out ..: holds the current folder; give a new folder for the drop"
    )
    assert sorted(p.name for p in project.iterdir()) == [".git", "src.py"]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("recipe folder", "holds the recipe ({recipe})"),
        ("extract", "is the extract"),
        ("extract parent", "holds the extract ({extract})"),
        ("postcodes", "holds the input postcodes.csv ({postcodes})"),
    ],
)
def test_a_folder_holding_the_recipe_or_the_inputs_is_refused(small, tmp_path, where, expected):
    extract, postcodes = tmp_path / "ex", tmp_path / "geo" / "postcodes.csv"
    out = {
        "recipe folder": tmp_path,
        "extract": extract,
        "extract parent": tmp_path,
        "postcodes": tmp_path / "geo",
    }[where]
    before = _tree(tmp_path)
    result = invoke("build", small, "--out", out)
    assert result.exit_code == 2
    reason = expected.format(recipe=small, extract=extract, postcodes=postcodes)
    if where == "extract parent":  # the recipe sits there too, and is named first
        reason = f"holds the recipe ({small})"
    assert one_line(result) == (
        f"error: --out {out}: {reason}; give a folder of its own for the drop"
    )
    assert _tree(tmp_path) == before


def test_a_symbolic_link_is_refused_and_what_it_points_to_is_untouched(small, tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "precious.txt").write_text("x")
    link = tmp_path / "link"
    link.symlink_to(real)
    result = invoke("build", small, "--out", link)
    assert result.exit_code == 2
    assert one_line(result) == (
        f"error: --out {link}: is a symbolic link (to {real}); give the folder itself or a new one"
    )
    assert link.is_symlink() and _tree(real) == {"precious.txt": b"x"}


def test_a_file_given_as_out_is_a_usage_error_in_one_line(small, tmp_path):
    target = tmp_path / "drop.txt"
    target.write_text("x")
    result = invoke("build", small, "--out", target)
    assert result.exit_code == 2
    assert one_line(result) == (
        f"error: Invalid value for '--out': Directory '{target}' is a file. "
        "(see main build --help)"
    )


def test_a_300_character_out_name_is_refused(small, tmp_path):
    out = tmp_path / ("d" * 300)
    result = invoke("build", small, "--out", out)
    assert result.exit_code == 2
    assert one_line(result) == (
        f"error: --out {out}: folder name is 300 characters long; at most 200"
    )


def test_our_drop_is_replaced_but_not_once_someone_added_a_file(small, tmp_path):
    out = tmp_path / "drops" / "test"
    result = drop_module.build(load_recipe(small), out)
    assert result.files == {p: len(data) for p, data in _tree(out).items()}
    marker = (out / MARKER).read_text().splitlines()
    assert marker[0] == MARKER_HEADER
    assert marker[1:] == sorted(p for p in _tree(out) if p != MARKER)
    assert "ledger.json" in marker and "tables/residence_la_cohorts.csv" in marker
    again = invoke("build", small, "--out", out, "--quiet")
    assert again.exit_code == 0, again.output
    (out / "tables" / "my_notes.csv").write_text("mine")
    result = invoke("build", small, "--out", out)
    assert result.exit_code == 2
    assert one_line(result) == (
        f"error: --out {out}: holds files IMS Atlas did not write (tables/my_notes.csv); "
        "give a new or empty folder for the drop"
    )
    assert (out / "tables" / "my_notes.csv").read_text() == "mine"


def test_an_empty_folder_and_a_drop_built_before_the_marker_are_used(small, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert invoke("build", small, "--out", empty, "--quiet").exit_code == 0
    assert (empty / "ledger.json").is_file()
    (empty / MARKER).unlink()  # as ims-atlas wrote drops before the marker
    result = invoke("build", small, "--out", empty, "--quiet")
    assert result.exit_code == 0, result.output
    assert (empty / MARKER).is_file()


def test_the_index_is_written_only_beside_drops_of_ours(small, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / ".gitkeep").write_text("")
    (site / "old.private").mkdir()  # an analyst's exact ledger, beside an earlier drop
    (site / "old.private" / "ledger.json").write_text("{}")
    (site / "new.private").mkdir()  # or one written with our marker
    (site / "new.private" / MARKER).write_text(MARKER_HEADER + "\nnotes.json\n")
    (site / "new.private" / "notes.json").write_text("{}")
    result = invoke("build", small, "--out", site / "test", "--quiet")
    assert result.exit_code == 0 and result.output == ""
    assert "IMS Atlas drops" in (site / "index.html").read_text()
    assert _beside(site / "test") == [
        ".gitkeep",
        "index.html",
        "new.private",
        "old.private",
        "test",
    ]
    hand_written = "<html><title>Our service</title></html>"
    (site / "index.html").write_text(hand_written)
    (site / "logo.png").write_bytes(b"\x89PNG")
    (site / "old.private" / "minutes.txt").write_text("not a ledger")
    result = invoke("build", small, "--out", site / "test")
    assert result.exit_code == 0
    assert result.stderr.splitlines()[-1] == (
        f"WARNING: {site}/index.html not written: the folder holds files IMS Atlas did not "
        "write (index.html, logo.png, old.private/)"
    )
    assert (site / "index.html").read_text() == hand_written


def test_the_leftovers_of_killed_builds_are_removed_by_the_next(small, tmp_path):
    out = tmp_path / "drops" / "test"
    out.parent.mkdir()
    building = out.parent / ".test.building-abcd_123"
    (building / "tables").mkdir(parents=True)
    (building / MARKER).write_text(MARKER_HEADER + "\n")
    (building / "tables" / "half.csv").write_text("la_code")
    (out.parent / ".test.old-zz99yy88").mkdir()  # killed before its first file
    (out.parent / ".test.lock").write_text("")
    stranger = out.parent / ".test.old-12345678"  # not ours: no marker, something in it
    stranger.mkdir()
    (stranger / "keep.txt").write_text("x")
    assert invoke("build", small, "--out", out, "--quiet").exit_code == 0
    assert _beside(out) == [
        ".test.old-12345678",
        "index.html",
        "test",
    ]


KILLED = textwrap.dedent("""\
    import sys, time
    from pathlib import Path
    from atlas.drop_folder import write_atomically
    original = Path.write_bytes
    def slow(self, data):
        original(self, data)
        if self.name == "f1.csv":
            Path(sys.argv[2]).write_text("writing")
            time.sleep(60)
    Path.write_bytes = slow
    write_atomically(Path(sys.argv[1]), {f"tables/f{i}.csv": b"new" for i in range(3)})
    """)


def test_a_build_killed_while_writing_leaves_the_drop_and_its_leftovers_go_next_time(tmp_path):
    out = tmp_path / "drops" / "d"
    drop_module.write_atomically(out, {"a.csv": b"earlier"})
    ready = tmp_path / "ready"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED, str(out), str(ready)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), "the build never started writing"
    finally:
        proc.kill()
        proc.wait()
    left = sorted(p.name for p in out.parent.iterdir())
    assert left[0].startswith(".d.building-") and left[1:] == [".d.lock", "d"]
    assert _tree(out) == {MARKER: f"{MARKER_HEADER}\na.csv\n".encode(), "a.csv": b"earlier"}
    drop_module.write_atomically(out, {"b.csv": b"later"})
    assert sorted(p.name for p in out.parent.iterdir()) == ["d"]
    assert _tree(out) == {MARKER: f"{MARKER_HEADER}\nb.csv\n".encode(), "b.csv": b"later"}


CONCURRENT = textwrap.dedent("""\
    import sys, time
    from pathlib import Path
    from atlas.drop_folder import write_atomically
    who = sys.argv[2]
    files = {f"tables/f{i:02}.csv": who.encode() * 500 for i in range(40)}
    files["who.txt"] = who.encode()
    go = Path(sys.argv[3])
    while not go.exists():
        time.sleep(0.01)
    for _ in range(10):
        write_atomically(Path(sys.argv[1]), files)
    """)


def test_concurrent_builds_into_one_target_take_turns(tmp_path):
    out = tmp_path / "drops" / "d"
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT, str(out), f"writer{n}", str(go)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(6)
    ]
    time.sleep(1.0)  # let every process import and wait at the start line
    go.write_text("")
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, errors
    assert errors == [""] * 6
    assert sorted(p.name for p in out.parent.iterdir()) == ["d"]  # no copy, no lock left
    tree = _tree(out)
    who = tree.pop("who.txt")
    assert who.startswith(b"writer")
    assert tree.pop(MARKER).decode().splitlines()[1:] == sorted([*tree, "who.txt"])
    assert len(tree) == 40 and set(tree.values()) == {who * 500}


# --- failures while writing -------------------------------------------------------------------


def test_a_read_only_folder_is_one_line_exit_1(small, tmp_path, monkeypatch):
    out = tmp_path / "drops" / "test"
    out.parent.mkdir()
    real_open = os.open

    def read_only(path, flags, *args, **kwargs):
        if str(path).startswith(str(out.parent)) and flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)
    result = invoke("build", small, "--out", out, "--quiet")
    assert result.exit_code == 1
    assert one_line(result) == f"error: {out}: cannot write the drop: Permission denied"
    monkeypatch.undo()
    assert list(out.parent.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_folder_without_write_permission_is_one_line_exit_1(small, tmp_path):
    parent = tmp_path / "drops"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        result = invoke("build", small, "--out", parent / "test", "--quiet")
    finally:
        parent.chmod(0o755)
    assert result.exit_code == 1
    assert one_line(result) == (
        f"error: {parent / 'test'}: cannot write the drop: Permission denied"
    )


def test_a_full_disk_is_one_line_exit_1_and_the_earlier_drop_stays(small, tmp_path, monkeypatch):
    out = tmp_path / "drops" / "test"
    assert invoke("build", small, "--out", out, "--quiet").exit_code == 0
    before = _tree(out)
    original = Path.write_bytes

    def full(self, data):
        if self.name == "atlas.html":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return original(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    result = invoke("build", small, "--out", out, "--quiet")
    monkeypatch.undo()
    assert result.exit_code == 1
    assert one_line(result) == f"error: {out}: cannot write the drop: No space left on device"
    assert _tree(out) == before
    assert _beside(out) == ["index.html", "test"]


@pytest.fixture
def tiny_disk(tmp_path):
    """A 100 KiB tmpfs (root only, where mounting is allowed); unmounted after the test."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=100k", "tmpfs", str(mnt)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    yield mnt
    subprocess.run(["umount", str(mnt)], check=True)


def test_a_really_full_and_a_really_read_only_disk(small, tiny_disk):
    out = tiny_disk / "test"
    result = invoke("build", small, "--out", out, "--quiet")
    assert result.exit_code == 1
    assert one_line(result) == f"error: {out}: cannot write the drop: No space left on device"
    assert list(tiny_disk.iterdir()) == []
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_disk)], check=True)
    result = invoke("build", small, "--out", out, "--quiet")
    assert result.exit_code == 1
    assert one_line(result) == f"error: {out}: cannot write the drop: Read-only file system"


# --- messages, exit statuses, --debug -----------------------------------------------------------


def test_a_300_character_drop_name_is_a_recipe_error(small):
    text = small.read_text().replace('name = "test"', f'name = "{"n" * 300}"')
    small.write_text(text)
    result = invoke("build", small)
    assert result.exit_code == 2
    assert one_line(result) == (
        f"error: {small}: drop.name: 300 characters long; a folder name may have at most 200"
    )


def test_an_unexpected_failure_is_one_line_and_debug_shows_the_traceback(
    small, tmp_path, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("renderer exploded\nsecond line")

    monkeypatch.setattr(drop_module, "render_atlas", broken)
    result = invoke("build", small, "--out", tmp_path / "d", "--quiet")
    assert result.exit_code == 1
    assert one_line(result) == (
        "error: RuntimeError: renderer exploded second line (run with --debug for the traceback)"
    )
    result = CliRunner().invoke(
        main, ["--debug", "build", str(small), "--out", str(tmp_path / "d")]
    )
    assert result.exit_code == 1 and isinstance(result.exception, RuntimeError)


def test_debug_prints_the_traceback_of_a_refusal(small, tmp_path, monkeypatch):
    result = run("--debug", "build", str(small), "--out", ".", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert result.stderr.splitlines()[-1] == (
        "atlas.errors.UsageError: --out .: is the current folder; give a new folder for the drop"
    )
    monkeypatch.chdir(tmp_path)
    plain = invoke("build", small, "--out", ".")
    assert plain.exit_code == 2
    assert (
        plain.stderr == "error: --out .: is the current folder; give a new folder for the drop\n"
    )


def test_the_help_documents_the_exit_statuses():
    result = invoke("--help")
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "Exit status: 0 built (or passed), 1 a data or build error" in text
    assert "2 a recipe or usage error" in text and "--debug" in text


# --- ims-atlas audit ----------------------------------------------------------------------------


@pytest.fixture
def drop_copy(demo_drop, tmp_path) -> Path:
    copy = tmp_path / "drop"
    shutil.copytree(demo_drop, copy)
    return copy


def test_audit_of_an_empty_folder(tmp_path):
    result = invoke("audit", tmp_path)
    assert result.exit_code == 2
    assert one_line(result) == f"error: {tmp_path}: an empty folder, not a drop"


def test_audit_of_a_binary_file_given_as_the_drop(tmp_path):
    blob = tmp_path / "drop.bin"
    blob.write_bytes(bytes(range(256)))
    result = invoke("audit", blob)
    assert result.exit_code == 2
    assert one_line(result) == (
        f"error: Invalid value for 'DROP': Directory '{blob}' is a file. (see main audit --help)"
    )


@pytest.mark.parametrize(
    ("file", "content", "message"),
    [
        (
            "ledger.json",
            b"\x00\xff\xfe binary",
            "{drop}/ledger.json: not UTF-8 text (byte 2): not a drop's ledger",
        ),
        (
            "ledger.json",
            b'{"suppression": {"threshold": 5,',
            "{drop}/ledger.json: not valid JSON (Expecting property name enclosed in double "
            "quotes at line 1): not a drop's ledger",
        ),
        (
            "ledger.json",
            b'{"suppression": {"threshold": "five"}}',
            "{drop}/ledger.json: its suppression settings are not those of a drop",
        ),
        (
            "tables/residence_la_cohorts.csv",
            b'la_code,"la_name\nE1,x,y\n',
            "{drop}/tables/residence_la_cohorts.csv: not a readable CSV table (EOF inside "
            "string starting at row 0)",
        ),
        (
            "tables/residence_la_cohorts.csv",
            b"la_code,la_name\nE1,x\nE2,y,z,w\n",
            "{drop}/tables/residence_la_cohorts.csv: not a readable CSV table (Expected 2 "
            "fields in line 3, saw 4)",
        ),
        (
            "tables/service_la_cohorts.csv",
            bytes(range(128, 256)),
            "{drop}/tables/service_la_cohorts.csv: not UTF-8 text (byte 1): not a table of a drop",
        ),
        (
            "tables/residence_lsoa_cohorts.csv",
            b"",
            "{drop}/tables/residence_lsoa_cohorts.csv: an empty file, not a table of a drop",
        ),
        (
            "tables/residence_la_cohorts.csv",
            b"la_code,la_name\nE1,x\n",
            "{drop}/tables/residence_la_cohorts.csv: not a table of a drop (no column "
            "individuals, suppressed)",
        ),
    ],
)
def test_audit_of_a_damaged_drop_is_one_line_exit_1(drop_copy, file, content, message):
    (drop_copy / file).write_bytes(content)
    result = invoke("audit", drop_copy)
    assert result.exit_code == 1
    assert one_line(result) == "error: " + message.format(drop=drop_copy)


def test_audit_of_an_unreadable_file_is_one_line(drop_copy, monkeypatch):
    original = Path.read_bytes

    def denied(self):
        if self.name == "rejects.csv":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    result = invoke("audit", drop_copy)
    assert result.exit_code == 1
    assert one_line(result) == f"error: {drop_copy}/rejects.csv: Permission denied"


# --- the solver's banner ----------------------------------------------------------------------


def test_the_solver_banner_never_prints(tmp_path):
    """HiGHS prints "Running HiGHS ..." from C++ when a process makes its first solver: the build
    (siting and its audit) and ``audit`` print nothing of it, quiet or not."""
    result = run("build", str(DEMO), "--out", str(tmp_path / "demo"))
    assert result.returncode == 0, result.stderr
    assert "HiGHS" not in result.stdout + result.stderr
    assert result.stdout.startswith(f"built {tmp_path / 'demo'} in ")
    quiet = run("audit", str(tmp_path / "demo"))
    assert quiet.returncode == 0 and "HiGHS" not in quiet.stdout + quiet.stderr
    assert quiet.stdout.startswith(f"audit of {tmp_path / 'demo'} passed: ")


def test_a_binary_or_unreadable_recipe_is_one_line_exit_2(tmp_path, monkeypatch):
    recipe = tmp_path / "x.toml"
    recipe.write_bytes(bytes(range(128, 256)))
    result = invoke("build", recipe)
    assert result.exit_code == 2
    assert one_line(result) == (
        f"error: {recipe}: not valid TOML: 'utf-8' codec can't decode byte 0x80 in position 0: "
        "invalid start byte"
    )
    original = Path.read_text

    def denied(self, *args, **kwargs):
        if self == recipe:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", denied)
    result = invoke("build", recipe)
    assert result.exit_code == 2
    assert one_line(result) == f"error: {recipe}: cannot read it: Permission denied"
