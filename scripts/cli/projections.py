"""`paystream projections status|retry|skip`: watch read models and resolve dead letters."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer
from psycopg import AsyncConnection
from rich import box
from rich.console import Console
from rich.table import Table

from projections import dead_letters
from projections.projection import Projection
from projections.registry import PROJECTIONS
from projections.status import ProjectionStatus, projection_status
from scripts.cli.database import reachable_database
from scripts.cli.errors import CliError, CommandGroup
from scripts.cli.names import projection_named
from scripts.cli.recorded import OPERATORS, recorded
from scripts.plural import counted

projections_app = CommandGroup(no_args_is_help=True, help="Read models: status, dead letters.")
ProjectionName = Annotated[str, typer.Argument(help="The read model, e.g. account_summary.")]


def register(app: typer.Typer) -> None:
    app.add_typer(projections_app, name="projections")


async def _connect(projection: type[Projection]) -> AsyncConnection[Any]:
    conninfo = reachable_database(projection.role()).role_conninfo(projection.role())
    return await AsyncConnection.connect(conninfo, autocommit=True)


async def _statuses(projections: list[type[Projection]]) -> list[ProjectionStatus]:
    statuses = []
    for projection in projections:
        async with await _connect(projection) as conn:
            statuses.append(await projection_status(conn, projection))
    return statuses


@projections_app.command("status")
def status(
    name: Annotated[str | None, typer.Argument(help="One read model; all when omitted.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Each read model's version, state, position and lag. Per source."""
    names = [name] if name else sorted(PROJECTIONS)
    statuses = asyncio.run(_statuses([projection_named(each) for each in names]))
    if as_json:
        print(json.dumps([s.as_json() for s in statuses], default=str, indent=2))
        return
    console = Console()
    console.print(status_table(statuses))
    for line in dead_letter_lines(statuses):
        console.print(line, markup=False, highlight=False)


def status_table(statuses: list[ProjectionStatus]) -> Table:
    """One row per read model and source; fits 80 columns, and the read model's name
    (what identifies a row) is never cut."""
    table = Table(title="Read models", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    table.add_column("projection", no_wrap=True)
    table.add_column("version", justify="right")
    table.add_column("state")
    table.add_column("source", no_wrap=True)
    table.add_column("position", justify="right")
    table.add_column("lag", justify="right")
    table.add_column("lag s", justify="right")
    table.add_column("dead", justify="right")  # open dead letters, listed below
    for s in statuses:
        open_letters = [d for d in s.dead_letters if d.status == "open"]
        for i, source in enumerate(s.sources):
            first = i == 0
            table.add_row(
                s.name if first else "",
                str(s.version) if first else "",
                s.state if first else "",
                source.source,
                str(source.position),
                str(source.lag_events),
                f"{source.lag_seconds:.1f}",
                str(len(open_letters)) if first else "",
            )
    return table


def dead_letter_lines(statuses: list[ProjectionStatus]) -> list[str]:
    """Each open dead letter on a line of its own, below the table."""
    return [
        f"{s.name}: dead letter at {letter.source}:{letter.position} {letter.event_type}"
        f" ({counted(letter.attempts, 'try', 'tries')}): {letter.error[:200]}"
        for s in statuses
        for letter in s.dead_letters
        if letter.status == "open"
    ]


@projections_app.command("retry")
def retry(name: ProjectionName) -> None:
    """Retry a halted read model's dead-lettered events (recorded)."""
    projection = projection_named(name)
    with recorded("projections retry", {"projection": name}, OPERATORS) as actor:
        count = asyncio.run(_resolve(projection, "retried", actor.subject, None))
    Console().print(f"{name}: {counted(count, 'dead letter')} will be retried; it resumes")


@projections_app.command("skip")
def skip(
    name: ProjectionName,
    position: Annotated[int, typer.Option(help="Position of the dead letter.")],
) -> None:
    """Move a halted read model past one dead-lettered event (recorded)."""
    projection = projection_named(name)
    arguments = {"projection": name, "position": position}
    with recorded("projections skip", arguments, OPERATORS) as actor:
        asyncio.run(_resolve(projection, "skipped", actor.subject, position))
    Console().print(f"{name}: skipped the dead letter at position {position}; it resumes")


async def _resolve(projection: type[Projection], status: str, by: str, position: int | None) -> int:
    """Mark the open dead letters (the one at `position`, when given) as resolved `by`."""
    async with await _connect(projection) as conn:
        try:
            return await dead_letters.resolve(conn, projection, status, by, position)
        except dead_letters.NoSuchLetter as error:
            raise CliError(str(error)) from None
