"""Progress of long commands on the terminal: the stage running, a spinner and the time taken.

Shown on stderr only when it is a terminal and ``--quiet`` was not given; otherwise the
callback does nothing, so logs and pipes stay clean.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rich is imported only when progress is shown (a quiet build never needs it)
    from rich.console import Console
    from rich.progress import Progress, TaskID


class StageProgress:
    """A callable for ``progress=``: each call starts a stage and closes the one before.

    Use as a context manager; finished stages stay on screen with their duration."""

    def __init__(
        self, enabled: bool | None = None, quiet: bool = False, console: Console | None = None
    ) -> None:
        self.enabled = (sys.stderr.isatty() if enabled is None else enabled) and not quiet
        self._console = console
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._started = 0.0
        self._label = ""

    def __enter__(self) -> Callable[[str], None]:
        if self.enabled:
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=self._console or Console(stderr=True),
            )
            self._progress.start()
        return self

    def __call__(self, stage: str) -> None:
        if self._progress is None:
            return
        self._finish()
        self._label, self._started = stage, time.perf_counter()
        self._task = self._progress.add_task(f"{stage}…", total=None)

    def _finish(self) -> None:
        if self._task is not None:
            assert self._progress is not None  # a task exists only while progress is shown
            took = time.perf_counter() - self._started
            self._progress.update(
                self._task, total=1, completed=1, description=f"{self._label} ({took:.1f} s)"
            )
            self._task = None

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._finish()
            self._progress.stop()
            self._progress = None
