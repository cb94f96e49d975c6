"""`paystream rebuild <projection>`: a new build from the event stores, switched in live."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

import psycopg
import typer
from psycopg import AsyncConnection
from rich.console import Console
from rich.progress import Progress

from eventstore.outages import reason
from eventstore.reconnect import Backoff, is_connection_lost
from eventstore.settings import DatabaseSettings
from projections.projection import Projection
from projections.rebuild import RebuildError, RebuildPlan, RebuildReport, plan_rebuild, rebuild
from scripts.cli.database import reachable_database, unreachable
from scripts.cli.errors import CliError
from scripts.cli.names import projection_named
from scripts.cli.progress import progress_bar
from scripts.cli.recorded import OPERATORS, recorded
from scripts.plural import counted

GIVE_UP_SECONDS = 120.0  # then a lost database is reported like in every command


def rebuild_command(
    projection: Annotated[
        str, typer.Argument(help="The read model to rebuild, e.g. account_summary.")
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan only.")] = False,
) -> None:
    """Rebuild a read model and switch readers to it, live. The new version is built
    from the event stores while the old one keeps serving."""
    try:
        run_rebuild(projection, dry_run, Console())
    except RebuildError as error:
        raise CliError(str(error)) from None


def register(app: typer.Typer) -> None:
    app.command("rebuild")(rebuild_command)


def run_rebuild(name: str, dry_run: bool, console: Console) -> None:
    """Rebuild `name`, or with `dry_run` print what a rebuild would do."""
    projection = projection_named(name)
    arguments = {"projection": name, "dry_run": dry_run}
    waits = 0.0 if dry_run else GIVE_UP_SECONDS  # a rebuild waits out an outage
    with recorded("rebuild", arguments, OPERATORS, waits_for_database=waits):
        if dry_run:
            conninfo = reachable_database(projection.role()).role_conninfo(projection.role())
            _print_plan(asyncio.run(_plan(projection, conninfo)), console)
        else:
            _rebuild_live(projection, console)


def _rebuild_live(projection: type[Projection], console: Console) -> None:
    """Rebuild with a progress bar; no check first: a rebuild waits out an unreachable
    database (GIVE_UP_SECONDS)."""
    name = projection.name
    conninfo = DatabaseSettings().role_conninfo(projection.role())
    with progress_bar(console, "events") as progress:
        try:
            report = asyncio.run(_rebuild_through_outages(projection, conninfo, progress))
        except psycopg.OperationalError as error:
            if not is_connection_lost(error):
                raise
            raise unreachable(conninfo, error) from None
    console.print(
        f"rebuilt {name} into {report.plan.new_schema}: {counted(report.applied, 'event')} in"
        f" {report.seconds:.1f}s ({report.rate:,.0f} events/s); readers switched;"
        f" dropped {report.plan.active_schema}"
    )


async def _rebuild_through_outages(
    projection: type[Projection], conninfo: str, progress: Progress
) -> RebuildReport:
    """Rebuild; when the database connection is lost, start over after a backoff (the
    live build keeps serving meanwhile; the next attempt drops the leftover), for up to
    GIVE_UP_SECONDS."""
    backoff, give_up_at = Backoff(), time.monotonic() + GIVE_UP_SECONDS
    task = progress.add_task(f"rebuilding {projection.name}", total=None)
    while True:
        try:
            plan = await _plan(projection, conninfo)
            progress.reset(task, total=plan.total_events)
            return await rebuild(projection, conninfo, lambda n: progress.advance(task, n))
        except Exception as error:
            if not is_connection_lost(error) or time.monotonic() > give_up_at:
                raise
            delay = backoff.next_delay()
            progress.console.print(
                f"database connection lost ({reason(error)}); the live build keeps serving;"
                f" starting over in {delay:.1f}s"
            )
            await asyncio.sleep(delay)


async def _plan(projection: type[Projection], conninfo: str) -> RebuildPlan:
    async with await AsyncConnection.connect(conninfo, autocommit=True) as conn:
        return await plan_rebuild(conn, projection)


def _print_plan(plan: RebuildPlan, console: Console) -> None:
    console.print(f"would rebuild {plan.projection}:")
    console.print(f"  build a new version in schema {plan.new_schema} from the event stores")
    for source, events in plan.events.items():
        console.print(f"    {source}: up to position {events}")
    for leftover in plan.leftovers:
        console.print(f"  drop the leftover of an interrupted rebuild: {leftover}")
    console.print(f"  switch readers to {plan.new_schema}, then drop {plan.active_schema}")
    console.print("nothing was changed (--dry-run)")
