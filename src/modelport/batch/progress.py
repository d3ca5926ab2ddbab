"""Progress of a run: a tiny listener interface, a silent one, and a Rich progress bar."""

from __future__ import annotations

from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class ProgressListener(Protocol):
    """Told how far a run is; engines call it from the driver's thread only."""

    def started(self, *, total_rows: int | None, done_rows: int) -> None:
        """Before scoring; ``done_rows`` were finished by an earlier, interrupted run."""

    def advanced(self, rows: int, rejected: int) -> None:
        """More rows were read (``rejected`` of them went to the rejects file)."""

    def finished(self) -> None:
        """The run ended, successfully or not."""


class NullProgress:
    """Shows nothing (``--json`` output, tests, library use)."""

    def started(self, *, total_rows: int | None, done_rows: int) -> None:
        pass

    def advanced(self, rows: int, rejected: int) -> None:
        pass

    def finished(self) -> None:
        pass


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("-- rows/s" if speed is None else f"{speed:,.0f} rows/s", style="cyan")


class _RowsColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        total = "?" if task.total is None else f"{int(task.total):,}"
        return Text(f"{int(task.completed):,}/{total} rows", style="green")


class RichProgress:
    """A progress bar on stderr with rows, rows per second, rejects and an ETA."""

    def __init__(self, label: str, *, console: Console | None = None) -> None:
        self._label = label
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            _RowsColumn(),
            _RateColumn(),
            TextColumn("[yellow]{task.fields[rejected]:,} rejected"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console or Console(stderr=True),
            speed_estimate_period=10.0,
        )
        self._task: TaskID | None = None
        self._rejected = 0

    def started(self, *, total_rows: int | None, done_rows: int) -> None:
        self._progress.start()
        self._task = self._progress.add_task(
            self._label, total=total_rows, completed=done_rows, rejected=0
        )

    def advanced(self, rows: int, rejected: int) -> None:
        if self._task is None:
            return
        self._rejected += rejected
        self._progress.update(self._task, advance=rows, rejected=self._rejected)

    def finished(self) -> None:
        self._progress.stop()
