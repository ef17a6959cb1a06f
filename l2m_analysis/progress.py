"""Progress bars for long steps: one bar per stage, on the terminal (rich), or none.

A step asks ``stages.add(label, total)`` for each stage it enters and calls the returned
function to advance that bar; the pipeline decides where bars go (``Stages(console)``) or that
there are none (``Stages.quiet()``), so library code never prints on its own.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

Advance = Callable[..., None]  # advance(steps=1, **fields)


class Stages:
    """Progress bars of one step's stages (a context manager); ``quiet()`` shows none."""

    def __init__(self, console: Console | None = None, *, enabled: bool = True) -> None:
        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[note]}"), TimeElapsedColumn(),
                   TimeRemainingColumn()]  # fmt: skip
        self.console = console
        self._progress = Progress(*columns, console=console, disable=not enabled)

    @classmethod
    def quiet(cls) -> Stages:
        return cls(enabled=False)

    def __enter__(self) -> Stages:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def add(self, label: str, total: int | None) -> Advance:
        """A new bar of ``total`` steps; returns ``advance(steps=1, note="...")``."""
        task = self._progress.add_task(label, total=total, note="")

        def advance(steps: int = 1, **fields: str) -> None:
            self._progress.update(task, advance=steps, **fields)

        return advance

    def note(self, message: str) -> None:
        """A line above the bars (e.g. the Dask dashboard link)."""
        if self.console is not None:
            self._progress.console.print(message)
