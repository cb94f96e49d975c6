"""`paystream top`: the system live in the terminal, from every service's /metrics."""

from __future__ import annotations

import math
from typing import Annotated

import typer
from rich.console import Console

from scripts.cli.errors import CliError
from scripts.cli.up import DEFAULT_DATA_DIR, DataDir

MIN_INTERVAL, MAX_INTERVAL = 0.1, 60.0


def interval_seconds(text: str) -> float:
    """`--interval` as seconds, within bounds."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not MIN_INTERVAL <= seconds <= MAX_INTERVAL:
        raise CliError(
            f"--interval takes seconds from {MIN_INTERVAL:g} to {MAX_INTERVAL:g}, not {text!r}"
        )
    return seconds


def top(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    interval: Annotated[
        str, typer.Option(metavar="SECONDS", help="Seconds between refreshes (0.1 to 60).")
    ] = "1",
    once: Annotated[
        bool,
        typer.Option(
            "--once", help="Show one frame (rates over one interval) and exit; 1 on an alarm."
        ),
    ] = False,
) -> None:
    """Show the system live: services, projections, saga. Ctrl-C stops."""
    from scripts.devstack.layout import BadLayout, read_targets
    from scripts.top.live import run_top

    seconds = interval_seconds(interval)
    try:
        targets = read_targets(data_dir)
    except BadLayout as error:
        raise CliError(str(error)) from None
    raise typer.Exit(run_top(targets, Console(), seconds, once))


def register(app: typer.Typer) -> None:
    app.command()(top)
