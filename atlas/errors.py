"""The one small exception family of IMS Atlas, caught once in the CLI."""

from __future__ import annotations


class AtlasError(Exception):
    """A problem the user can fix: printed as a clean message, no traceback."""

    exit_code = 1


class RecipeError(AtlasError):
    """The drop recipe is invalid; carries every problem found, one per line. One problem is
    one line naming the file (``x.toml line 7: drop.treshold: unknown key ...``); several are
    listed under ``x.toml: invalid recipe``."""

    exit_code = 2

    def __init__(self, path: str, problems: list[str]):
        self.path = path
        self.problems = problems
        if len(problems) == 1:
            sep = " " if problems[0].startswith("line ") else ": "
            super().__init__(f"{path}{sep}{problems[0]}")
        else:
            lines = "\n".join(f"  {p}" for p in problems)
            super().__init__(f"{path}: invalid recipe\n{lines}")


class ExtractError(AtlasError):
    """The extract cannot be read: missing file or column, undecodable bytes."""


class GeographyError(AtlasError):
    """Postcode directory, boundaries or population are missing or inconsistent."""


class DisclosureError(AtlasError):
    """Disclosure control failed its audit: the drop must not be published."""


class DropError(AtlasError):
    """A published drop cannot be read, or a view of it was asked for that it does not hold."""


class UsageError(AtlasError):
    """The command was pointed at the wrong place: an output folder that is not the tool's to
    replace, a folder that is not a drop."""

    exit_code = 2


class OutputError(AtlasError):
    """The drop could not be written: a read-only folder, a full disk."""
