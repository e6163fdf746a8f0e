"""The folders a build may write: its own, marked as such, and nothing else.

A drop is written into a temporary folder ``.<name>.building-*`` beside its target and swapped
into place; the folder it replaces is first moved aside as ``.<name>.old-*``. Each drop holds a
marker file, ``.ims-atlas-drop``, listing every file the build wrote: a later build replaces a
folder only when it is empty or holds our marker and nothing the marker does not list (a drop
built before the marker existed is recognised by its ``manifest.json``). Builds into one target
are serialised by ``fcntl.flock`` on ``.<name>.lock`` beside it, and the next build removes the
temporary folders a killed build left behind.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from .errors import OutputError, UsageError

MARKER = ".ims-atlas-drop"
MARKER_HEADER = "IMS Atlas drop: written by ims-atlas, replaced whole by its next build."
MAX_NAME = 200  # bytes: room for ".<name>.building-XXXXXXXX" within NAME_MAX (255)
# What a drop built before the marker (ims-atlas 0.x) may hold: its files are only these kinds.
LEGACY_SUFFIXES = {".html", ".js", ".css", ".csv", ".json", ".geojson", ".pdf", ".png", ".svg"}
log = logging.getLogger(__name__)
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?:building|old)-[a-z0-9_]{8}$")
_LOCK = re.compile(r"^\.(?P<name>.+)\.lock$")
_PRIVATE_FILE = re.compile(r"^(?:ledger\.json|\.ledger\..+\.json)$")
_INDEX_TMP = re.compile(r"^\.index-[a-z0-9_]{8}\.html$")
# Left alone in a folder of drops (an empty placeholder that keeps output/ in git).
_HARMLESS = {".gitkeep"}


def write_atomically(
    out_dir: Path, files: dict[str, bytes], shown: str | None = None
) -> dict[str, int]:
    """Write every file into a temporary folder beside out_dir, then swap it into place; return
    the size of every file written (the marker too), by its path in the drop.

    Builds into one target take turns (a lock beside it); a target that is not ours to replace
    is refused (UsageError); the temporary folders of killed builds are removed. A failure at
    any point removes the temporary folder and leaves an earlier drop untouched; a folder that
    cannot be written (read-only, full) is an OutputError naming it.
    """
    out = target_path(out_dir)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with locked(out):
            check_replaceable(out, shown or str(out))
            for leftover in remove_leftovers(out):
                log.info("removed %s, left by a build that did not finish", leftover)
            written = _swap_in(out, files)
    except OSError as exc:
        raise OutputError(f"{out}: cannot write the drop: {exc.strerror or exc}") from exc
    return dict(sorted(written.items()))


def _swap_in(out: Path, files: dict[str, bytes]) -> dict[str, int]:
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    old = None
    marker = marker_bytes(files)
    try:
        (tmp / MARKER).write_bytes(marker)  # first: the folder is ours from now on
        for rel_path, data in files.items():
            target = tmp / rel_path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            old.rmdir()
            out.rename(old)
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)
        tmp.rename(out)
    except BaseException:
        if old is not None and not out.exists():
            old.rename(out)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return {MARKER: len(marker), **{k: len(v) for k, v in files.items()}}


def marker_bytes(files: Iterable[str]) -> bytes:
    """The marker's content: its header, then every file of the drop, one per line, sorted."""
    return ("\n".join([MARKER_HEADER, *sorted(files)]) + "\n").encode()


def target_path(out_dir: Path | str) -> Path:
    """``out_dir`` made absolute with its parent's symbolic links resolved, its own name kept
    (so a symbolic link given as the target is seen as one, never followed)."""
    absolute = Path(os.path.abspath(out_dir))
    if not absolute.name:
        return absolute
    return absolute.parent.resolve() / absolute.name


def check_target(out_dir: Path | str, shown: str, inputs: dict[str, Path]) -> Path:
    """Refuse (UsageError, one line) a target the build must not replace; return its path.

    ``inputs`` names the files and folders the build reads (``{"the recipe": path}``): the
    target may be none of them nor hold any of them. ``shown`` is how the message names it."""
    out = target_path(out_dir)
    if not out.name:
        raise UsageError(f"{shown}: is the root folder; give a new folder for the drop")
    size = len(out.name.encode())
    if size > MAX_NAME:
        unit = "characters" if size == len(out.name) else "bytes in UTF-8"
        raise UsageError(f"{shown}: folder name is {size} {unit} long; at most {MAX_NAME}")
    cwd = Path.cwd().resolve()
    if out == cwd:
        raise UsageError(f"{shown}: is the current folder; give a new folder for the drop")
    if out in cwd.parents:
        raise UsageError(f"{shown}: holds the current folder; give a new folder for the drop")
    for label, path in inputs.items():
        path = Path(path).resolve()
        if out == path:
            raise UsageError(f"{shown}: is {label}; give a folder of its own for the drop")
        if out in path.parents:
            raise UsageError(
                f"{shown}: holds {label} ({path}); give a folder of its own for the drop"
            )
    check_replaceable(out, shown)
    return out


def check_replaceable(out: Path, shown: str) -> None:
    """Refuse (UsageError) a target that is a symbolic link, a file, or a folder holding
    anything IMS Atlas did not write; a missing or empty folder, or a drop of ours, passes."""
    if out.is_symlink():
        raise UsageError(
            f"{shown}: is a symbolic link (to {os.readlink(out)}); give the folder itself "
            "or a new one"
        )
    if not out.exists():
        return
    if not out.is_dir():
        raise UsageError(f"{shown}: is a file, not a folder")
    foreign = foreign_entries(out)
    if foreign:
        raise UsageError(
            f"{shown}: holds files IMS Atlas did not write ({_some(foreign)}); give a new or "
            "empty folder for the drop"
        )


def check_output_folder(
    out_dir: Path | str, shown: str, ours: Iterable[str], purpose: str
) -> Path:
    """Refuse (UsageError, one line) a folder a command other than ``build`` must not write
    into: the current folder or one holding it, a symbolic link, a file, or a folder holding
    anything but the files named ``ours`` (what an earlier run of the command wrote there).
    ``purpose`` ends the message ("the extract"); return the folder's path."""
    out = target_path(out_dir)
    cwd = Path.cwd().resolve()
    if out == cwd:
        raise UsageError(f"{shown}: is the current folder; give a new folder for {purpose}")
    if out in cwd.parents or not out.name:
        raise UsageError(f"{shown}: holds the current folder; give a new folder for {purpose}")
    if out.is_symlink():
        raise UsageError(
            f"{shown}: is a symbolic link (to {os.readlink(out)}); give the folder itself "
            "or a new one"
        )
    if out.exists() and not out.is_dir():
        raise UsageError(f"{shown}: is a file, not a folder")
    if out.is_dir():
        mine = set(ours) | _HARMLESS
        foreign = sorted(
            p.name + ("/" if _real_dir(p) else "")
            for p in out.iterdir()
            if p.name not in mine or p.is_symlink() or not p.is_file()
        )
        if foreign:
            raise UsageError(
                f"{shown}: holds files IMS Atlas did not write ({_some(foreign)}); give a new "
                f"or empty folder for {purpose}"
            )
    return out


def foreign_entries(folder: Path) -> list[str]:
    """Entries of ``folder`` (relative, outermost first) that its marker does not list: all of
    them when it has no marker, none for an empty folder or a drop that is wholly ours."""
    listed = _listed(folder)
    if listed is None:
        if _legacy_drop(folder):
            return []
        return sorted(p.name + ("/" if _real_dir(p) else "") for p in folder.iterdir())
    dirs = {parent.as_posix() for f in listed for parent in Path(f).parents} - {"."}
    foreign: list[str] = []
    for root, subdirs, names in os.walk(folder):
        rel = Path(root).relative_to(folder)
        keep = []
        for d in sorted(subdirs):
            path = (rel / d).as_posix()
            if (Path(root) / d).is_symlink() or path not in dirs:
                foreign.append(path + "/")
            else:
                keep.append(d)
        subdirs[:] = keep
        for n in sorted(names):
            path = (rel / n).as_posix()
            if path == MARKER:
                continue
            if path not in listed or (Path(root) / n).is_symlink():
                foreign.append(path)
    return foreign


def is_drop_of_ours(path: Path) -> bool:
    """A real folder holding our marker (or a manifest of ours, for drops built before it)."""
    if path.is_symlink() or not path.is_dir():
        return False
    return _listed(path) is not None or _legacy_manifest(path)


def foreign_in_parent(folder: Path) -> list[str]:
    """Entries of a folder of drops that are not ours: anything but drops (and ``.private``
    folders) of ours, our own ``index.html``, and our lock and temporary files."""
    from .render.index_page import written_by_us  # jinja2 and pandas: only when asked

    foreign = []
    for entry in sorted(folder.iterdir()):
        name = entry.name
        if name in _HARMLESS or _LOCK.match(name) or _INDEX_TMP.match(name):
            continue
        if name == "index.html" and not entry.is_symlink() and written_by_us(entry):
            continue
        if _TEMPORARY.match(name) and entry.is_dir() and not entry.is_symlink():
            continue
        if not is_drop_of_ours(entry) and not _private_of_ours(entry):
            foreign.append(name + ("/" if _real_dir(entry) else ""))
    return foreign


def remove_leftovers(out: Path) -> list[Path]:
    """Remove the temporary folders that killed builds of ``out`` left beside it (call with the
    lock held, so a running build's folder is never one of them); return those removed."""
    removed = []
    for entry in sorted(out.parent.glob(f".{glob_escape(out.name)}.*")):
        match = _TEMPORARY.match(entry.name)
        if not match or match["name"] != out.name:
            continue
        if entry.is_symlink() or not entry.is_dir():
            continue
        if any(entry.iterdir()) and _listed(entry) is None:
            continue  # not one of ours: a marker is the first file every build writes
        shutil.rmtree(entry)
        removed.append(entry)
    return removed


@contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``.<name>.lock`` beside ``out``; the file is removed on
    release. A waiter that wakes up holding a lock file already removed tries again."""
    path = out.parent / f".{out.name}.lock"
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            held = os.fstat(fd)
            try:
                now = os.stat(path, follow_symlinks=False)
            except FileNotFoundError:
                now = None
        except BaseException:
            os.close(fd)
            raise
        if now is not None and (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino):
            break
        os.close(fd)
    try:
        yield
    finally:
        with suppress(FileNotFoundError):
            os.unlink(path)
        os.close(fd)


def glob_escape(name: str) -> str:
    """``name`` with glob's special characters made literal."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def _private_of_ours(path: Path) -> bool:
    """``<name>.private/``: the analyst's exact ledger beside a drop (``ledger.json`` and the
    temporary file it is written through), or a folder with our marker."""
    if not path.name.endswith(".private") or not _real_dir(path):
        return False
    if _listed(path) is not None:
        return True
    return all(
        p.is_file() and not p.is_symlink() and _PRIVATE_FILE.match(p.name) for p in path.iterdir()
    )


def _real_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _listed(folder: Path) -> set[str] | None:
    """The files our marker in ``folder`` lists, or None when there is no marker of ours."""
    marker = folder / MARKER
    if marker.is_symlink() or not marker.is_file():
        return None
    try:
        lines = marker.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    if not lines or lines[0] != MARKER_HEADER:
        return None
    return set(lines[1:])


def _legacy_manifest(folder: Path) -> bool:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        return "ims-atlas" in manifest["software"]
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _legacy_drop(folder: Path) -> bool:
    """A drop built before the marker: a manifest of ours and only the kinds of file a drop
    holds, no symbolic link (an empty folder counts too: there is nothing to lose)."""
    entries = list(folder.rglob("*"))
    if not entries:
        return True
    if not _legacy_manifest(folder) or any(p.is_symlink() for p in entries):
        return False
    return all(p.is_dir() or p.suffix in LEGACY_SUFFIXES for p in entries)


def _some(names: list[str], shown: int = 3) -> str:
    if len(names) <= shown:
        return ", ".join(names)
    return f"{', '.join(names[:shown])} and {len(names) - shown:,} more"
