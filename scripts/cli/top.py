"""`paystream top`: the system live in the terminal, from every service's /metrics."""

from __future__ import annotations

import math
from pathlib import Path
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


def services_to_watch(data_dir: Path) -> dict[str, str]:
    """The services `paystream up` recorded in `data_dir` (the default ports when it
    recorded none), by name."""
    from scripts.devstack.status import service_urls
    from scripts.devstack.up import layout_file

    path = layout_file(data_dir)
    try:
        urls: object = service_urls(data_dir)
    except (OSError, ValueError) as error:
        raise CliError(f"cannot read the services' layout {path}: {error}") from None
    if (
        not isinstance(urls, dict)
        or not urls
        or not all(
            isinstance(url, str) and url.startswith(("http://", "https://"))
            for url in urls.values()
        )
    ):
        raise CliError(f"{path} is not a layout of services (an object of names and URLs)")
    return urls


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
    from scripts.top.live import run_top

    seconds = interval_seconds(interval)
    raise typer.Exit(run_top(services_to_watch(data_dir), Console(), seconds, once))


def register(app: typer.Typer) -> None:
    app.command()(top)
