"""The one small exception family of IMS Atlas, caught once in the CLI."""

from __future__ import annotations


class AtlasError(Exception):
    """A problem the user can fix: printed as a clean message, no traceback."""

    exit_code = 1


class RecipeError(AtlasError):
    """The drop recipe is invalid; carries every problem found, one per line."""

    exit_code = 2

    def __init__(self, path: str, problems: list[str]):
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: invalid recipe\n" + "\n".join(f"  {p}" for p in problems))


class ExtractError(AtlasError):
    """The extract cannot be read: missing file or column, undecodable bytes."""


class GeographyError(AtlasError):
    """Postcode directory, boundaries or population are missing or inconsistent."""


class DisclosureError(AtlasError):
    """Disclosure control failed its audit: the drop must not be published."""


class DropError(AtlasError):
    """A published drop cannot be read, or a view of it was asked for that it does not hold."""
