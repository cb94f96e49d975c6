"""`paystream replay <context> [--verify]`: fold every aggregate of a context from all of its
events and check that each loads; with --verify, also that its snapshot gives the same state."""

from __future__ import annotations

import reprlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any, cast
from uuid import UUID

import psycopg
import typer
from eventsourcing.domain import CanMutateProtocol
from eventsourcing.persistence import PersistenceError
from psycopg.sql import SQL, Identifier
from rich.console import Console

from domains.service import CommandService
from eventstore.contexts import Context
from eventstore.settings import DatabaseSettings
from scripts.cli.database import reachable_database
from scripts.cli.errors import CliError, one_line
from scripts.cli.names import context_named
from scripts.cli.progress import progress_bar
from scripts.cli.recorded import READERS, recorded
from scripts.composition.applications import open_command_service
from scripts.plural import counted

ID_BATCH = 1_000  # aggregate ids fetched per round trip from the server-side cursor


@dataclass(frozen=True)
class Failure:
    """An aggregate that does not load: at which of its versions, and why."""

    aggregate_id: UUID
    version: int
    error: str


@dataclass
class Outcome:
    """What a replay checked."""

    aggregates: int = 0
    events: int = 0
    failures: list[Failure] = field(default_factory=list)
    elapsed: float = 0.0  # seconds from the first query to the last aggregate


class BrokenAggregate(Exception):
    """Folding one aggregate failed at `version`."""

    def __init__(self, version: int, error: str) -> None:
        super().__init__(error)
        self.version = version


def replay(
    context: Annotated[str, typer.Argument(help="The context to replay: accounts or payments.")],
    verify: Annotated[
        bool,
        typer.Option(
            "--verify", help="Also check that loading with snapshots gives the same state."
        ),
    ] = False,
) -> None:
    """Check that every aggregate of a context loads. Each is folded from all its events;
    exits 1 if any fails."""
    known = context_named(context)
    with recorded("replay", {"context": context, "verify": verify}, READERS):
        db = reachable_database(known.role)
        console = Console(soft_wrap=True, markup=False, highlight=False)  # errors verbatim
        try:
            outcome = run_replay(known, db, verify, console)
        except (PersistenceError, psycopg.Error) as error:
            raise CliError(f"replay of {context} stopped: {error_line(error)}") from None
        report(console, known, outcome, verify)
        raise typer.Exit(1 if outcome.failures else 0)


def register(app: typer.Typer) -> None:
    app.command()(replay)


def run_replay(context: Context, db: DatabaseSettings, verify: bool, console: Console) -> Outcome:
    """Check every aggregate of `context` as its own role, snapshots readable for --verify."""
    service = open_command_service(context, db, pool_size=2, snapshots=True)
    try:
        with psycopg.connect(db.role_conninfo(context.role)) as conn:
            # The count and the stream of ids see the same committed state.
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            return check_all(conn, service, context, verify, console)
    finally:
        service.close()


def check_all(
    conn: psycopg.Connection[Any],
    service: CommandService,
    context: Context,
    verify: bool,
    console: Console,
) -> Outcome:
    """Check every aggregate whose id the cursor streams, with a progress bar."""
    outcome = Outcome()
    started = time.perf_counter()
    with progress_bar(console, "aggregates") as progress:
        task = progress.add_task(f"replay {context.name}", total=count_aggregates(conn, context))
        for aggregate_id in aggregate_ids(conn, context):
            check(service, aggregate_id, verify, outcome)
            progress.advance(task)
    outcome.elapsed = time.perf_counter() - started
    return outcome


def count_aggregates(conn: psycopg.Connection[Any], context: Context) -> int:
    query = SQL("SELECT count(*) FROM (SELECT DISTINCT originator_id FROM {}.{}) AS ids")
    row = conn.execute(query.format(*events_table(context))).fetchone()
    return int(row[0]) if row else 0


def aggregate_ids(conn: psycopg.Connection[Any], context: Context) -> Iterator[UUID]:
    """Every aggregate id in the context's events, from a server-side cursor."""
    query = SQL("SELECT DISTINCT originator_id FROM {}.{} ORDER BY originator_id")
    with conn.cursor(name="replay_aggregate_ids") as cursor:
        cursor.itersize = ID_BATCH
        cursor.execute(query.format(*events_table(context)))
        for (aggregate_id,) in cursor:
            yield aggregate_id


def events_table(context: Context) -> tuple[Identifier, Identifier]:
    return Identifier(context.schema), Identifier(context.events_table)


def check(service: CommandService, aggregate_id: UUID, verify: bool, outcome: Outcome) -> None:
    """Fold one aggregate from all its events (and compare with its snapshot)."""
    outcome.aggregates += 1
    try:
        aggregate = fold_from_events(service, aggregate_id, outcome)
        if verify:
            compare_with_snapshot(service, aggregate)
    except BrokenAggregate as broken:
        outcome.failures.append(Failure(aggregate_id, broken.version, str(broken)))


def fold_from_events(service: CommandService, aggregate_id: UUID, outcome: Outcome) -> Any:
    """The aggregate from every one of its events, ignoring snapshots."""
    aggregate: Any = None
    version = 0
    for stored in service.events.recorder.select_events(aggregate_id):
        version = stored.originator_version
        try:
            event = cast("CanMutateProtocol[Any]", service.mapper.to_domain_event(stored))
            aggregate = event.mutate(aggregate)
        except Exception as error:  # any event that does not apply is what replay reports
            raise BrokenAggregate(version, error_line(error)) from error
        outcome.events += 1
    if aggregate is None:
        raise BrokenAggregate(version, "its events fold to no aggregate")
    return aggregate


def compare_with_snapshot(service: CommandService, folded: Any) -> None:
    """The repository (latest snapshot, then later events) must give the folded state."""
    try:
        loaded: Any = service.repository.get(folded.id, version=folded.version)
    except (PersistenceError, psycopg.Error):
        raise
    except Exception as error:
        raise BrokenAggregate(folded.version, f"with snapshot: {error_line(error)}") from error
    expected, actual = state(folded), state(loaded)
    if actual != expected:
        differences = ", ".join(
            f"{key} {reprlib.repr(actual.get(key))} != {reprlib.repr(expected.get(key))}"
            for key in sorted(expected.keys() | actual.keys())
            if actual.get(key) != expected.get(key)
        )
        raise BrokenAggregate(folded.version, f"with snapshot differs: {differences}")


def state(aggregate: Any) -> dict[str, Any]:
    """What an aggregate holds, but its not-yet-saved events."""
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


def error_line(error: BaseException) -> str:
    return one_line(f"{type(error).__name__}: {error}")


def report(console: Console, context: Context, outcome: Outcome, verify: bool) -> None:
    """Each failure on one line, then the counts and rates."""
    for failure in outcome.failures:
        console.print(f"FAILED {failure.aggregate_id} version {failure.version}: {failure.error}")
    elapsed = outcome.elapsed
    seconds = max(elapsed, 1e-9)
    checked = "folded and checked against snapshots" if verify else "folded"
    console.print(
        f"{context.name}: {counted(outcome.aggregates, 'aggregate')} {checked},"
        f" {counted(outcome.events, 'event')},"
        f" {elapsed:.2f}s, {outcome.aggregates / seconds:,.0f} aggregates/s,"
        f" {outcome.events / seconds:,.0f} events/s"
    )
    if outcome.failures:
        console.print(
            f"{len(outcome.failures):,} of {counted(outcome.aggregates, 'aggregate')}"
            " failed to load"
        )
