"""The library API for analysts working in Python and notebooks (``import atlas``).

``atlas.build`` and ``atlas.audit`` do what ``ims-atlas build`` and ``ims-atlas audit`` do,
with the same defaults, checks and exceptions (:mod:`atlas.errors`), returning what they
found instead of printing it; ``atlas.open_drop`` reads a written drop back
(:mod:`atlas.published_drop`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .published_drop import Drop, open_drop

if TYPE_CHECKING:  # the pipeline is imported when build or audit runs, not before
    from .disclosure.audit import AuditReport
    from .drop import BuildResult

__all__ = ["Drop", "audit", "build", "open_drop"]


def build(
    recipe_path: str | Path,
    out: str | Path | None = None,
    *,
    previous: str | Path | None = None,
) -> BuildResult:
    """Build the drop a recipe describes, as ``ims-atlas build RECIPE [--out OUT]
    [--previous OLD]``: into ``out``, by default ``output/<name>`` beside the recipe's
    ``builders/`` folder. Raises RecipeError for an invalid recipe and DisclosureError when the
    drop fails its audit, or, given the ``previous`` issue, when the two issues together single
    people out (nothing is written then)."""
    from .drop import build as build_drop
    from .recipe import load_recipe

    return build_drop(
        load_recipe(recipe_path),
        Path(out) if out is not None else None,
        previous=Path(previous) if previous is not None else None,
    )


def audit(
    drop_path: str | Path,
    extract: str | Path | None = None,
    threshold: int | None = None,
    rounding: int | None = None,
    *,
    previous: str | Path | None = None,
    check: bool = True,
) -> AuditReport:
    """Audit a written drop, as ``ims-atlas audit DROP [--extract DIR] [--threshold N]
    [--rounding N] [--previous OLD]``: attack its published tables and, given the extract,
    scan it for client identifiers; given ``previous`` (an earlier issue), attack the two
    issues together, its findings among the report's ``exposures``. Threshold and rounding
    default to the drop's ledger. Returns the report; a failing audit raises DisclosureError
    naming every exposed cell and identifier, as the command exits on it (``check=False``:
    return the failing report instead)."""
    from .disclosure.audit import audit_drop
    from .disclosure.reissue import audit_reissue
    from .extract.reader import read_extract

    read = read_extract(Path(extract)) if extract is not None else None
    report = audit_drop(Path(drop_path), read, threshold, rounding)
    if previous is not None:
        report.exposures.extend(
            audit_reissue(Path(drop_path), Path(previous), threshold).exposures
        )
    if check:
        report.check()
    return report
