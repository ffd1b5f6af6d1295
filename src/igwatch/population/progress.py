"""Rich progress bars for the long steps of a screen (scan, extract, assess, write).

Bars go to stderr and only when it is a terminal (or when forced), so piped output and tests stay
clean; the steps are timed either way and the timings end up in ``summary.json``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class Steps:
    """Named, timed steps, each with a progress bar when a terminal is attached."""

    def __init__(self, show: bool | None = None) -> None:
        console = Console(stderr=True)
        self.show = console.is_terminal if show is None else show
        self.timings: dict[str, float] = {}
        self._progress = (
            Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=False,
            )
            if self.show
            else None
        )

    def __enter__(self) -> Steps:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    @contextmanager
    def step(
        self, name: str, total: float | None = None, unit: str = ""
    ) -> Iterator[Callable[[float], None]]:
        """Time a step; yields ``advance(n)``."""
        started = time.perf_counter()
        task = self._progress.add_task(name, total=total) if self._progress is not None else None

        def advance(amount: float) -> None:
            if self._progress is not None and task is not None:
                self._progress.advance(task, amount)

        try:
            yield advance
        finally:
            if self._progress is not None and task is not None:
                self._progress.update(task, completed=total if total is not None else 1, total=total or 1)
            self.timings[name] = round(time.perf_counter() - started, 3)
