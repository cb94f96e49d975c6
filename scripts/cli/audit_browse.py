"""`paystream audit events|chain`: a context's events newest first, filtered, a page at a
time; one aggregate's hash chain state (eventstore/event_browsing.py). The console's
events page shows the same."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from eventstore.audit_queries import AuditEvent
from eventstore.event_browsing import MAX_PAGE, EventFilter, chain_state, newest_events
from scripts.cli.audit_inspect import (
    AggregateId,
    AsJson,
    Since,
    Until,
    locate,
    parse_aggregate_id,
    parse_time,
    show,
    unreadable_events,
    write_json,
)
from scripts.cli.database import reachable_database
from scripts.cli.errors import FOUND_PROBLEMS, CliError
from scripts.cli.names import context_named
from scripts.cli.recorded import READERS, recorded
from scripts.plural import counted


def events(
    context: Annotated[str, typer.Option("--context", help="accounts or payments.")],
    aggregate: Annotated[
        str | None, typer.Option("--aggregate", help="Only this aggregate's (a UUID).")
    ] = None,
    event_type: Annotated[
        str | None, typer.Option("--type", help="Only this type, e.g. AccountOpened.v1.")
    ] = None,
    correlation_id: Annotated[
        str | None, typer.Option("--correlation-id", help="Only this request's.")
    ] = None,
    since: Since = None,
    until: Until = None,
    before: Annotated[
        int | None,
        typer.Option(min=1, help="Only events before this position (the next page's)."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_PAGE, help="Events per page.")] = 50,
    as_json: AsJson = False,
) -> None:
    """A context's events, newest first, a page at a time.

    Filtered by aggregate, type, correlation id and time; the last line says how to ask
    for the next (older) page."""
    chosen = context_named(context)
    where = EventFilter(
        aggregate_id=parse_aggregate_id(aggregate) if aggregate is not None else None,
        event_type=event_type,
        correlation_id=correlation_id,
        since=parse_time(since, "--since"),
        until=parse_time(until, "--until"),
    )
    if where.since and where.until and where.since > where.until:
        raise CliError(f"--since {since} is after --until {until}")
    arguments = {"context": context, "aggregate": aggregate, "type": event_type}
    arguments |= {"correlation_id": correlation_id, "since": since, "until": until}
    with unreadable_events(), recorded("audit events", arguments, READERS):
        page = newest_events(reachable_database(), chosen, where, before, limit)
    if as_json:
        events_json = [event.to_json() for event in page.events]
        write_json(sys.stdout.buffer, {"events": events_json, "next_before": page.next_before})
        return
    console = Console()
    show(console, f"{chosen.name}: {counted(len(page.events), 'event')}", events_table(page.events))
    if page.next_before is not None:
        console.print(f"older: --before {page.next_before}", markup=False, highlight=False)


def events_table(shown: list[AuditEvent]) -> Table:
    table = Table(box=box.SIMPLE_HEAD)
    for heading in ("position", "recorded at (UTC)", "aggregate", "v", "type", "actor"):
        table.add_column(heading, overflow="fold")
    for event in shown:
        table.add_row(
            str(event.position),
            event.recorded_at,
            str(event.aggregate_id),
            str(event.version),
            event.event_type,
            str(event.metadata.get("actor", "")),
        )
    return table


def chain(aggregate_id: AggregateId, as_json: AsJson = False) -> None:
    """One aggregate's hash chain: verified, broken or unhashed.

    Each broken link is named, as `audit verify` names it; unhashed is events stored before
    hashing. Exits 1 if broken."""
    uuid = parse_aggregate_id(aggregate_id)
    with recorded("audit chain", {"aggregate_id": str(uuid)}, READERS):
        db = reachable_database()
        context = locate(db, uuid)
        state = chain_state(db, context, uuid)
    if as_json:
        links = [
            {"versions": link.versions, "kind": link.kind, "detail": link.detail}
            for link in state.broken
        ]
        write_json(
            sys.stdout.buffer, {"status": state.status, "events": state.events} | {"broken": links}
        )
    else:
        out = Console(soft_wrap=True, markup=False, highlight=False)
        out.print(f"{context.name} {uuid}: {state.status} ({counted(state.events, 'event')})")
        for link in state.broken:
            out.print(f"{link.versions} {link.kind}: {link.detail}")
    if state.status == "broken":
        raise typer.Exit(FOUND_PROBLEMS)
