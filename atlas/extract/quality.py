"""The quality gate: a drop is not built, in silence, from an extract that is largely set
aside or in which no one is seen.

The build stops (exit 1) when more than ``[extract] max_rejected_pct`` of any file's rows are
rejected, or when no one is seen in the period, with one message naming the file, its share
and its commonest reasons (each with a count and the line of an example). With
``--allow-rejects`` the drop is built anyway, and its notes say why it would have stopped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from ..errors import ExtractError
from .reader import ACTIVITY_FILES, Extract

TOP_REASONS = 3
ADVICE = "fix the extract, or build with --allow-rejects to publish anyway"
# The part of a reason that points at another line: one kind of problem whatever the line.
_LINE_REF = re.compile(r" \((?:first at )?line \d+\)")


@dataclass(frozen=True)
class QualityProblem:
    """Why an extract is not fit to publish: ``detail`` for the analyst (the stop message),
    ``note`` for the published drop (its reports' notes and its ledger)."""

    detail: str
    note: str


def quality_problems(
    extract: Extract, max_rejected_pct: float, seen: int, period: str
) -> list[QualityProblem]:
    """Each file with more than ``max_rejected_pct`` percent of its rows rejected, in the
    extract's order, and no one ``seen`` in the period."""
    problems = []
    for name, counts in extract.ledger.items():
        read, rejected = counts["read"], counts["rejected"]
        if read and 100 * rejected > max_rejected_pct * read:
            share = f"{100 * rejected / read:.1f}% of rows rejected ({rejected:,} of {read:,}; "
            allowed = f"more than the {max_rejected_pct:g}% allowed"
            problems.append(
                QualityProblem(
                    f"{name}: {share}{allowed} by [extract] max_rejected_pct): "
                    + _top_reasons(extract.rejects, name),
                    f"{name}: {share}{allowed}); see rejects.csv",
                )
            )
    if not seen:
        accepted = "; ".join(
            f"{name}: {extract.ledger[name]['accepted']:,} row(s) accepted"
            for name in ACTIVITY_FILES
            if name in extract.ledger
        )
        problems.append(
            QualityProblem(
                f"no one is seen in {period}: no accepted NSP visit or intervention is dated in "
                f"the period ({accepted})",
                f"no one is seen in {period}: the drop counts no individuals",
            )
        )
    return problems


def check_quality(problems: list[QualityProblem], allow_rejects: bool) -> list[str]:
    """Stop the build (``ExtractError``, exit 1) on any problem, unless ``allow_rejects``:
    then the notes the drop must carry, one per problem."""
    if problems and not allow_rejects:
        raise ExtractError("\n".join([*(p.detail for p in problems), ADVICE]))
    return [p.note for p in problems]


def _top_reasons(rejects: pd.DataFrame, name: str) -> str:
    """The commonest problems of a file's rejected rows (a row with several counts in each),
    each with its count of rows and the first line that has it."""
    mine = rejects[rejects["file"] == name]
    problems = (
        pd.DataFrame({"problem": mine["reason"].str.split("; "), "line": mine["line"]})
        .explode("problem")
        .assign(problem=lambda f: f["problem"].str.replace(_LINE_REF, "", regex=True))
    )
    groups = (
        problems.groupby("problem", sort=False)["line"]
        .agg(["size", "min"])
        .sort_values(["size", "min"], ascending=[False, True], kind="stable")
    )
    shown = [
        f'"{problem}" in {size:,} row(s) (e.g. line {line})'
        for problem, size, line in groups.head(TOP_REASONS).itertuples()
    ]
    more = len(groups) - TOP_REASONS
    return ", ".join(shown) + (f" and {more} other problem(s)" if more > 0 else "")
