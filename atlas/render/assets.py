"""Front-end assets the atlas page inlines, so it opens with no network at all.

Leaflet and Leaflet.markercluster are taken at set-up time from the npm registry, pinned
(``python -m atlas.render.assets``, run by ``make setup``), into ``atlas/static/``; the page
never fetches them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from ..errors import AtlasError

LEAFLET_VERSION = "1.9.4"
STATIC = Path(__file__).resolve().parents[1] / "static"
LEAFLET_DIR = STATIC / "leaflet"
# npm package -> (version, folder in static/, {file kept: path in the package tarball})
PACKAGES = {
    "leaflet": (
        LEAFLET_VERSION,
        "leaflet",
        {
            "leaflet.js": "package/dist/leaflet.js",
            "leaflet.css": "package/dist/leaflet.css",
            "LICENSE": "package/LICENSE",
        },
    ),
    "leaflet.markercluster": (
        "1.5.3",
        "markercluster",
        {
            "leaflet.markercluster.js": "package/dist/leaflet.markercluster.js",
            "MarkerCluster.css": "package/dist/MarkerCluster.css",
            "MarkerCluster.Default.css": "package/dist/MarkerCluster.Default.css",
            "LICENSE": "package/MIT-LICENCE.txt",
        },
    ),
}
FILES = tuple(PACKAGES["leaflet"][2])


def _read(package: str, names: tuple[str, ...]) -> list[str]:
    version, folder, _ = PACKAGES[package]
    paths = [STATIC / folder / n for n in names]
    if not all(p.is_file() for p in paths):
        raise AtlasError(
            f"{package} {version} is not set up in {STATIC / folder}: run "
            "`make setup` or `python -m atlas.render.assets` once (needs npm)"
        )
    return [p.read_text(encoding="utf-8") for p in paths]


def leaflet_assets() -> tuple[str, str]:
    """Leaflet's JavaScript and CSS as text, from the set-up copy."""
    js, css = _read("leaflet", ("leaflet.js", "leaflet.css"))
    return js, css


def front_end_assets() -> tuple[list[str], list[str]]:
    """Every script and style sheet the page inlines (Leaflet first), as text."""
    ljs, lcss = leaflet_assets()
    cjs, ccss, cdefault = _read(
        "leaflet.markercluster",
        ("leaflet.markercluster.js", "MarkerCluster.css", "MarkerCluster.Default.css"),
    )
    return [ljs, cjs], [lcss, ccss, cdefault]


def fetch(package: str) -> Path:
    """Download one pinned package from the npm registry and keep the files the page needs."""
    version, folder, files = PACKAGES[package]
    target = STATIC / folder
    if all((target / f).is_file() for f in files):
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise AtlasError(f"npm is needed once to fetch {package} (apt-get install npm)")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [npm, "pack", f"{package}@{version}", "--silent"],
            cwd=tmp,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        tarball = next(Path(tmp).glob("*.tgz"))
        with tarfile.open(tarball) as tar:
            target.mkdir(parents=True, exist_ok=True)
            for name, member in files.items():
                data = tar.extractfile(member)
                if data is None:
                    raise AtlasError(f"{package} {version}: {member} missing from the package")
                (target / name).write_bytes(data.read())
    return target


def fetch_leaflet() -> Path:
    """Leaflet itself (kept for callers of the first form)."""
    return fetch("leaflet")


if __name__ == "__main__":
    try:
        for pkg in PACKAGES:
            print(f"{pkg} {PACKAGES[pkg][0]} ready in {fetch(pkg)}")
    except AtlasError as exc:
        sys.exit(f"error: {exc}")
