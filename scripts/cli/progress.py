"""The one progress bar of long commands (rebuild, replay, audit verify): what, bar,
done of total, rate, time left."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RateColumn(ProgressColumn):
    """`<n> <unit>/s`, as rich measures it (the final rate once finished)."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        shown = f"{speed:,.0f}" if speed else "-"
        return Text(f"{shown} {self.unit}/s", style="progress.data.speed")


def progress_bar(console: Console, unit: str, transient: bool = False) -> Progress:
    """A bar counting `unit`s on `console`; lines printed meanwhile appear above it."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(unit),
        TimeRemainingColumn(),
        console=console,
        transient=transient,
        disable=not console.is_terminal,
    )
