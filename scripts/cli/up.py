"""`paystream up` and `paystream status`: the development stack on this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from scripts.cli.errors import CliError

DataDir = Annotated[Path, typer.Option(help="Where embedded data and logs live.")]
DEFAULT_DATA_DIR = Path(".paystream")


def up(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    nats_cluster: Annotated[
        int,
        typer.Option(
            min=1, max=5, help="Run NATS as a JetStream cluster of N nodes (streams: N replicas)."
        ),
    ] = 1,
    replicas: Annotated[
        list[str] | None,
        typer.Option(
            metavar="SERVICE=N",
            help="Run N (1-8) processes of a command or query API behind the gateway;"
            " repeatable, e.g. --replicas accounts-api=2.",
        ),
    ] = None,
    bench: Annotated[
        bool,
        typer.Option(
            "--bench",
            help="For `paystream bench suite`: no gateway rate limits, and a hello-world"
            " service on the query APIs' server stack at GET /bench/hello (its baseline).",
        ),
    ] = False,
) -> None:
    """Start PostgreSQL, NATS, every service and the gateway. Ctrl-C stops them all."""
    from scripts.devstack.replicas import InvalidReplicas, parse_replicas
    from scripts.devstack.up import run_up

    try:
        counts = parse_replicas(replicas or [])
    except InvalidReplicas as error:
        raise CliError(str(error)) from None
    try:
        run_up(data_dir, Console(), nats_cluster, counts, bench)
    except (RuntimeError, TimeoutError, OSError) as error:  # a server or service failed
        first, *detail = str(error).splitlines() or [type(error).__name__]
        if detail:  # the log's tail, as it is, above the one error line
            Console(stderr=True, markup=False, highlight=False).print("\n".join(detail))
        raise CliError(first) from None


def status(data_dir: DataDir = DEFAULT_DATA_DIR) -> None:
    """Show which services answer /readyz. Exits 1 unless every one does."""
    from scripts.devstack.layout import BadLayout
    from scripts.devstack.status import run_status

    try:
        raise typer.Exit(run_status(data_dir, Console()))
    except BadLayout as error:
        raise CliError(str(error)) from None


def register(app: typer.Typer) -> None:
    app.command()(up)
    app.command()(status)
