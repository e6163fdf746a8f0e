"""IMS Atlas: from an IMS extract to a published, disclosure-controlled drop.

The library API (``atlas.build``, ``atlas.audit``, ``atlas.open_drop``, ``atlas.Drop``) is
loaded on first use, so that ``import atlas`` (and the command's start) stays light.
"""

__version__ = "0.1.0"
__all__ = ["Drop", "__version__", "audit", "build", "open_drop"]
_API = {"build", "audit", "open_drop", "Drop"}


def __getattr__(name: str) -> object:
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'atlas' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
