"""The `paystream` command line: up, serve, status, provision, rebuild, projections,
replay, audit, bench."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import psycopg
import typer
from rich.console import Console

from scripts.audit_cli import audit_app
from scripts.projections_cli import projections_app
from scripts.replay import replay

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
bench_app = typer.Typer(
    no_args_is_help=True, help="Benchmarks (figures belong here, not in tests)."
)
app.add_typer(bench_app, name="bench")
app.add_typer(projections_app, name="projections")
app.add_typer(audit_app, name="audit")
app.command()(replay)
console = Console()

err_console = Console(stderr=True, soft_wrap=True)

DataDir = Annotated[Path, typer.Option(help="Where embedded data and logs live.")]
DEFAULT_DATA_DIR = Path(".paystream")


class CliError(Exception):
    """A failure reported as one line on stderr with a non-zero exit."""


@app.command()
def up(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    nats_cluster: Annotated[
        int,
        typer.Option(
            min=1, max=5, help="Run NATS as a JetStream cluster of N nodes (streams: N replicas)."
        ),
    ] = 1,
) -> None:
    """Start PostgreSQL, NATS and every service; Ctrl-C stops them all."""
    from scripts.up import run_up

    run_up(data_dir, console, nats_cluster)


@app.command()
def serve(
    service: Annotated[
        str, typer.Argument(help="accounts-api, payments-api, query-api, relay, projector, saga")
    ],
    target: Annotated[
        str | None, typer.Argument(help="context (relay) or projection (projector)")
    ] = None,
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    host: str = "127.0.0.1",
    partition: Annotated[
        str | None, typer.Option(help="projector only: i/N, this worker's share of aggregates")
    ] = None,
) -> None:
    """Run one service in the foreground (what compose.yaml calls)."""
    from scripts import serve as runners
    from scripts.service_logs import configure_service_logging

    configure_service_logging()
    if service == "accounts-api":
        runners.serve_accounts_api(host, port)
    elif service == "payments-api":
        runners.serve_payments_api(host, port)
    elif service == "saga":
        runners.serve_saga(host, port)
    elif service in ("relay", "projector", "query-api"):
        if not target:
            raise CliError(f"`serve {service}` needs a target, e.g. `serve relay accounts`")
        try:
            if service == "relay":
                runners.serve_relay(target, host, port)
            elif service == "query-api":
                runners.serve_query_api(target, host, port)
            else:
                runners.serve_projector(target, host, port, partition)
        except (KeyError, ValueError) as error:
            raise CliError(error.args[0] if error.args else str(error)) from None
    else:
        raise CliError(
            f"unknown service {service!r};"
            " known: accounts-api, payments-api, query-api, relay, projector, saga"
        )


@app.command()
def rebuild(
    projection: Annotated[str, typer.Argument(help="e.g. account_summary")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan only.")] = False,
) -> None:
    """Rebuild a read model from the event stores and switch readers to it, live."""
    from projections.rebuild import RebuildError
    from scripts.rebuild_cli import run_rebuild

    try:
        run_rebuild(projection, dry_run, console)
    except (KeyError, RebuildError) as error:
        raise CliError(error.args[0] if error.args else str(error)) from None


@app.command()
def status(data_dir: DataDir = DEFAULT_DATA_DIR) -> None:
    """Show which services answer /readyz."""
    from scripts.status import run_status

    raise typer.Exit(run_status(data_dir, console))


@app.command()
def provision() -> None:
    """Create roles, schemas, tables and streams on DATABASE_URL and NATS_URL (idempotent)."""
    from eventstore.settings import DatabaseSettings, NatsSettings
    from scripts.provision import provision as run_provision

    run_provision(DatabaseSettings(), NatsSettings().url())
    console.print("provisioned")


@bench_app.command("commands")
def bench_commands(
    clients: Annotated[int, typer.Option(min=1, max=512)] = 32,
    seconds: Annotated[float, typer.Option(min=1, max=600)] = 15.0,
    command_url: str = "http://127.0.0.1:8001",
    query_url: str = "http://127.0.0.1:8002",
) -> None:
    """Commands per second at N clients, and command-to-query visibility latency."""
    from scripts.bench import run_command_bench

    run_command_bench(command_url, query_url, clients, seconds, console)


@bench_app.command("payments")
def bench_payments(
    clients: Annotated[int, typer.Option(min=1, max=512)] = 32,
    seconds: Annotated[float, typer.Option(min=1, max=600)] = 15.0,
    command_url: str = "http://127.0.0.1:8001",
    payments_url: str = "http://127.0.0.1:8011",
    query_url: str = "http://127.0.0.1:8004",
) -> None:
    """Payments completed per second, end to end, at N clients."""
    from scripts.bench_payments import run_payment_bench

    run_payment_bench(command_url, payments_url, query_url, clients, seconds, console)


@bench_app.command("rebuild")
def bench_rebuild(
    projection: str = "account_summary",
    prefill: Annotated[int, typer.Option(min=0, max=10_000_000)] = 0,
) -> None:
    """Rebuild rate against a raw batched scan of the event store, same run, same data."""
    from scripts.bench_rebuild import run_rebuild_bench

    try:
        run_rebuild_bench(projection, prefill, console)
    except KeyError as error:
        raise CliError(error.args[0] if error.args else str(error)) from None


@bench_app.command("nats-sync")
def bench_nats_sync(
    messages: Annotated[int, typer.Option(min=100, max=1_000_000)] = 20_000,
    nodes: Annotated[int, typer.Option(min=1, max=5)] = 1,
) -> None:
    """JetStream publish rate with sync_interval 2m (default) and always, same run."""
    from scripts.bench_nats_sync import run_nats_sync_bench

    run_nats_sync_bench(messages, nodes, console)


def main() -> None:
    """Entry point: one-line errors, non-zero exit codes, no tracebacks for known failures."""
    try:
        app()
    except (CliError, LookupError) as error:
        err_console.print(f"error: {error}", highlight=False)
        sys.exit(2)
    except (RuntimeError, TimeoutError, OSError, psycopg.Error) as error:
        err_console.print(f"error: {error}", highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
