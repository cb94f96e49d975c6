"""`paystream rebuild <projection>`: a new build from the event stores, switched in live."""

from __future__ import annotations

import asyncio

from psycopg import AsyncConnection
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

from eventstore.settings import DatabaseSettings
from projections.projection import Projection
from projections.rebuild import RebuildPlan, plan_rebuild, rebuild
from projections.registry import get_projection


class EventsPerSecond(ProgressColumn):
    """How many events a second the rebuild applies."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} events/s" if speed else "- events/s")


def run_rebuild(name: str, dry_run: bool, console: Console) -> None:
    """Rebuild `name`, or with `dry_run` print what a rebuild would do."""
    projection = get_projection(name)
    conninfo = DatabaseSettings().role_conninfo(projection.role())
    if dry_run:
        plan = asyncio.run(_plan(projection, conninfo))
        _print_plan(plan, console)
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        EventsPerSecond(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as progress:
        plan = asyncio.run(_plan(projection, conninfo))
        task = progress.add_task(f"rebuilding {name}", total=plan.total_events)
        report = asyncio.run(rebuild(projection, conninfo, lambda n: progress.advance(task, n)))
    console.print(
        f"rebuilt {name} into {report.plan.new_schema}: {report.applied} events in"
        f" {report.seconds:.1f}s ({report.rate:,.0f} events/s); readers switched;"
        f" dropped {report.plan.active_schema}"
    )


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
