"""Front-end assets the atlas page inlines, so it opens with no network at all.

Leaflet is taken at set-up time from the npm registry (``python -m atlas.render.assets``,
run by ``make setup``) into ``atlas/static/leaflet/``; the page never fetches it.
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
FILES = ("leaflet.js", "leaflet.css", "LICENSE")


def leaflet_assets() -> tuple[str, str]:
    """Leaflet's JavaScript and CSS as text, from the set-up copy."""
    js, css = LEAFLET_DIR / "leaflet.js", LEAFLET_DIR / "leaflet.css"
    if not (js.is_file() and css.is_file()):
        raise AtlasError(f"Leaflet {LEAFLET_VERSION} is not set up in {LEAFLET_DIR}: run "
                         "`make setup` or `python -m atlas.render.assets` once (needs npm)")
    return js.read_text(encoding="utf-8"), css.read_text(encoding="utf-8")


def fetch_leaflet() -> Path:
    """Download Leaflet's package from the npm registry and keep its dist files."""
    if all((LEAFLET_DIR / f).is_file() for f in FILES):
        return LEAFLET_DIR
    npm = shutil.which("npm")
    if npm is None:
        raise AtlasError("npm is needed once to fetch Leaflet (apt-get install npm)")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([npm, "pack", f"leaflet@{LEAFLET_VERSION}", "--silent"], cwd=tmp,
                       check=True, stdout=subprocess.DEVNULL)
        with tarfile.open(Path(tmp) / f"leaflet-{LEAFLET_VERSION}.tgz") as tar:
            LEAFLET_DIR.mkdir(parents=True, exist_ok=True)
            for name, member in (("leaflet.js", "package/dist/leaflet.js"),
                                 ("leaflet.css", "package/dist/leaflet.css"),
                                 ("LICENSE", "package/LICENSE")):
                data = tar.extractfile(member)
                assert data is not None
                (LEAFLET_DIR / name).write_bytes(data.read())
    return LEAFLET_DIR


if __name__ == "__main__":
    try:
        print(f"Leaflet {LEAFLET_VERSION} ready in {fetch_leaflet()}")
    except AtlasError as exc:
        sys.exit(f"error: {exc}")
