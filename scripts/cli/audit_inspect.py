"""`paystream audit history|state|trace|export`: reading the audit trail.

Times are UTC: what each event's metadata says as `recorded_at`. A time given without a
zone is taken as UTC, like every time these commands print.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import IO, Annotated, Any
from uuid import UUID

import orjson
import typer
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import PersistenceError
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from eventstore import audit_queries as queries
from eventstore.audit_queries import AuditEvent, TraceNode
from eventstore.contexts import CONTEXTS, Context
from eventstore.settings import DatabaseSettings
from scripts.cli.database import reachable_database
from scripts.cli.errors import FOUND_PROBLEMS, CliError, one_line
from scripts.cli.names import contexts_named
from scripts.cli.recorded import READERS, recorded
from scripts.composition.applications import open_command_service
from scripts.plural import counted

AggregateId = Annotated[str, typer.Argument(help="An account or payment id (a UUID).")]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
Since = Annotated[
    str | None, typer.Option(help="Only events recorded at or after (ISO 8601, UTC).")
]
Until = Annotated[str | None, typer.Option(help="Only events recorded before (ISO 8601, UTC).")]
# Library bookkeeping the table leaves out (--json keeps it).
_HIDDEN_IN_TABLE = frozenset({"timestamp", "originator_topic"})
WIDE_COLUMNS = 120  # from this width on, `audit history` shows correlation ids too


def history(aggregate_id: AggregateId, as_json: AsJson = False) -> None:
    """Every event of one aggregate, in order. Version, time, type, actor, payload."""
    uuid = parse_aggregate_id(aggregate_id)
    with unreadable_events(), recorded("audit history", {"aggregate_id": str(uuid)}, READERS):
        db = reachable_database()
        context = locate(db, uuid)
        events = queries.aggregate_history(db, context, uuid)
        if as_json:
            write_json_array(sys.stdout.buffer, (history_entry(e) for e in events))
        else:
            rows, console = list(events), Console()
            title = f"{uuid} ({context.name}): {counted(len(rows), 'event')}"
            show(console, title, history_table(rows, console.width))


def state(
    aggregate_id: AggregateId,
    at: Annotated[
        str,
        typer.Option(
            "--at",
            help="A version (1, 2, ...), an ISO 8601 time (UTC if it names no zone) or now.",
        ),
    ] = "now",
    as_json: AsJson = False,
) -> None:
    """The aggregate's state at a version or a time. Now by default."""
    uuid, moment = parse_aggregate_id(aggregate_id), parse_at(at)
    arguments = {"aggregate_id": str(uuid), "at": at}
    with unreadable_events(), recorded("audit state", arguments, READERS):
        db = reachable_database()
        context = locate(db, uuid)
        latest = queries.latest_version(db, context, uuid)
        version = version_asked(db, context, uuid, moment, latest)
        report = state_report(context, load_at_version(db, context, uuid, version), latest)
        if as_json:
            write_json(sys.stdout.buffer, report)
        else:
            title = f"{report['type']} {uuid} ({context.name}) at version {version} of {latest}"
            show(Console(), title, state_table(report))


def trace(
    correlation_id: Annotated[str, typer.Argument(help="The request's correlation id.")],
    as_json: AsJson = False,
) -> None:
    """Every event one request caused, as a tree. Across contexts, by causation."""
    if not correlation_id.strip():
        raise CliError("a correlation id cannot be empty")
    arguments = {"correlation_id": correlation_id}
    with unreadable_events(), recorded("audit trace", arguments, READERS):
        events = queries.correlated_events(reachable_database(), correlation_id)
        roots = queries.causal_tree(events)
        if not roots:
            raise CliError(f"no event has correlation id {correlation_id!r}")
        if as_json:
            write_json(sys.stdout.buffer, trace_json(roots))
        else:
            show(Console(), trace_title(correlation_id, roots), trace_tree(roots))


def export(
    context: Annotated[
        str | None, typer.Option(help="accounts or payments; every context if omitted.")
    ] = None,
    since: Since = None,
    until: Until = None,
) -> None:
    """Every event as JSON Lines on stdout. Streamed in constant memory, for other tools."""
    contexts = contexts_named(context)
    start, end = parse_time(since, "--since"), parse_time(until, "--until")
    if start and end and start > end:
        raise CliError(f"--since {since} is after --until {until}")
    arguments = {"context": context, "since": since, "until": until}
    with unreadable_events(), recorded("audit export", arguments, READERS):
        db = reachable_database()
        try:
            write_export(db, sys.stdout.buffer, contexts, start, end)
            sys.stdout.buffer.flush()
        except BrokenPipeError:  # the reader stopped (`| head`): not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def write_export(
    db: DatabaseSettings,
    out: IO[bytes],
    contexts: Iterable[Context],
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    """Write each event of `contexts` (context by context, in position order) as one JSON
    line to `out`; the number written. Memory stays flat: rows are read in batches."""
    written = 0
    for context in contexts:
        for event in queries.stream_events(db, context, since, until):
            out.write(json_bytes(event.to_json()) + b"\n")
            written += 1
    return written


def json_bytes(value: object, indent: bool = False) -> bytes:
    """`value` as JSON; a lone surrogate (stored before the API refused such text, which
    orjson will not write) goes out as its JSON escape, `\\ud800`, never a crash."""
    try:
        return orjson.dumps(value, default=str, option=orjson.OPT_INDENT_2 if indent else None)
    except TypeError:  # orjson.JSONEncodeError: a str that is not valid UTF-8
        separators = (",", ": ") if indent else (",", ":")
        text = json.dumps(
            value,
            default=str,
            ensure_ascii=True,
            indent=2 if indent else None,
            separators=separators,
        )
        return text.encode("ascii")


@contextmanager
def unreadable_events() -> Iterator[None]:
    """A stored event that does not decode is a finding about the store: exit 1."""
    try:
        yield
    except queries.UnreadableEvent as error:
        raise CliError(one_line(str(error)), FOUND_PROBLEMS) from None


def show(console: Console, title: str, body: Table | Tree) -> None:
    """A plain title line, then the table or tree, at the terminal's width (or $COLUMNS)."""
    console.print(title, markup=False, highlight=False)
    console.print(body)


def parse_aggregate_id(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise CliError(f"{text!r} is not an aggregate id (a UUID)") from None


def parse_time(text: str | None, option: str) -> datetime | None:
    """An ISO 8601 time (a date is its midnight), in UTC; no zone means UTC."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        raise CliError(f"{option} {text!r} is not an ISO 8601 time") from None


def parse_at(text: str) -> int | datetime:
    """A version (digits only), a time, or `now`."""
    if text.strip().lower() == "now":
        return datetime.now(UTC)
    if text.strip().isascii() and text.strip().isdigit():
        version = int(text)
        if version < 1:
            raise CliError("--at: versions start at 1")
        return version
    try:
        moment = parse_time(text, "--at")
    except CliError:
        raise CliError(
            f"--at {text!r} is neither a version (1, 2, ...) nor an ISO 8601 time"
        ) from None
    assert moment is not None
    return moment


def locate(db: DatabaseSettings, aggregate_id: UUID) -> Context:
    context = queries.find_context(db, aggregate_id)
    if context is None:
        raise CliError(f"no aggregate {aggregate_id} in {' or '.join(CONTEXTS)}")
    return context


def version_asked(
    db: DatabaseSettings, context: Context, uuid: UUID, at: int | datetime, latest: int
) -> int:
    """The version `--at` names: that version, or the last one recorded by that time."""
    if isinstance(at, int):
        if at > latest:
            raise CliError(f"{uuid} has {counted(latest, 'version')}; there is no version {at}")
        return at
    version = queries.version_at(db, context, uuid, at)
    if version == 0:
        raise CliError(f"{uuid} did not exist yet at {at.isoformat()}")
    return version


def load_at_version(db: DatabaseSettings, context: Context, uuid: UUID, version: int) -> Aggregate:
    """The aggregate at `version`, loaded by its context's application as it loads it."""
    service = open_command_service(context, db)
    try:
        aggregate: Aggregate = service.repository.get(uuid, version=version)
        return aggregate
    except PersistenceError:
        raise
    except Exception as error:  # an event that does not decode or apply: a damaged store
        raise queries.UnreadableEvent(
            f"cannot fold {uuid} to version {version}: {type(error).__name__}: {error}"
        ) from error
    finally:
        service.close()


def state_report(context: Context, aggregate: Aggregate, latest: int) -> dict[str, Any]:
    return {
        "context": context.name,
        "aggregate_id": aggregate.id,
        "type": type(aggregate).__name__,
        "version": aggregate.version,
        "latest_version": latest,
        "modified_on": aggregate.modified_on,
        "state": {k: v for k, v in vars(aggregate).items() if not k.startswith("_")},
    }


def history_entry(event: AuditEvent) -> dict[str, Any]:
    return {
        "version": event.version,
        "recorded_at": event.recorded_at,
        "type": event.event_type,
        "actor": event.metadata.get("actor"),
        "correlation_id": event.metadata.get("correlation_id"),
        "causation_id": event.metadata.get("causation_id"),
        "event_id": event.event_id,
        "payload": event.payload,
    }


def trace_json(roots: list[TraceNode]) -> list[dict[str, Any]]:
    """The trees as nested objects, built without recursion (chains may be long)."""
    top: list[dict[str, Any]] = []
    stack = [(root, top) for root in reversed(roots)]
    while stack:
        node, siblings = stack.pop()
        entry = {**trace_fields(node.event), "children": []}
        siblings.append(entry)
        stack += [(child, entry["children"]) for child in reversed(node.children)]
    return top


def trace_fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "type": event.event_type,
        "aggregate_id": event.aggregate_id,
        "version": event.version,
        "actor": event.metadata.get("actor"),
        "recorded_at": event.recorded_at,
        "causation_id": event.metadata.get("causation_id"),
        "payload": event.payload,
    }


def write_json(out: IO[bytes], value: object) -> None:
    out.write(json_bytes(value, indent=True))
    out.write(b"\n")


def write_json_array(out: IO[bytes], items: Iterable[object]) -> None:
    """A JSON array, one item per line, written as the items come."""
    out.write(b"[")
    for index, item in enumerate(items):
        out.write(b",\n  " if index else b"\n  ")
        out.write(json_bytes(item))
    out.write(b"\n]\n")


def history_table(events: list[AuditEvent], width: int) -> Table:
    """Version, time and type whole on one line; below WIDE_COLUMNS the correlation id
    (in --json, and what `audit trace` takes) gives its room to the payload."""
    wide = width >= WIDE_COLUMNS
    table = Table(box=box.SIMPLE_HEAD, collapse_padding=True)
    table.add_column("v", justify="right", no_wrap=True)
    table.add_column("recorded at (UTC)", no_wrap=True)
    table.add_column("type", no_wrap=True)
    table.add_column("actor", overflow="fold")
    if wide:
        table.add_column("correlation id", overflow="fold")
    table.add_column("payload", overflow="fold")
    for event in events:
        correlation = [shown(event.metadata.get("correlation_id") or "")] if wide else []
        table.add_row(
            str(event.version),
            short_time(event.recorded_at),
            event.event_type,
            shown(event.metadata.get("actor") or ""),
            *correlation,
            payload_text(event.payload),
        )
    return table


def state_table(report: dict[str, Any]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, collapse_padding=True)
    table.add_column("attribute", no_wrap=True)
    table.add_column("value", overflow="fold")
    for name, value in report["state"].items():
        table.add_row(name, shown(value))
    return table


def trace_tree(roots: list[TraceNode]) -> Tree:
    """`<time of day> <context>:<position> <type> <aggregate> v<version> by <actor>` nodes."""
    tree = Tree("", hide_root=True)
    stack = [(root, tree) for root in reversed(roots)]
    while stack:
        node, parent = stack.pop()
        event = node.event
        label = (
            f"{short_time(event.recorded_at)[11:]} [bold]{event.event_id}[/] {event.event_type}"
            f" {event.aggregate_id} v{event.version}"
            f" by {shown(event.metadata.get('actor'))}"
        )
        branch = parent.add(label)
        stack += [(child, branch) for child in reversed(node.children)]
    return tree


def trace_title(correlation_id: str, roots: list[TraceNode]) -> str:
    times = sorted(e.recorded_at for e in queries.tree_events(roots))
    return (
        f"correlation {correlation_id}: {counted(len(times), 'event')},"
        f" {short_time(times[0])} to {short_time(times[-1])} UTC"
    )


def short_time(iso: str) -> str:
    """`2026-11-22 06:21:40.123` from an ISO 8601 UTC time."""
    try:
        moment = datetime.fromisoformat(iso).astimezone(UTC)
    except ValueError:
        return iso
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def payload_text(payload: dict[str, Any]) -> str:
    """One `field=value` per line."""
    return "\n".join(
        f"{shown(k)}={shown(v)}" for k, v in payload.items() if k not in _HIDDEN_IN_TABLE
    )


def shown(value: object) -> str:
    """`value` for a terminal: markup escaped, and what is not printable (a control
    character, or a NUL or lone surrogate in an event stored before the API refused
    them) as a backslash escape, so it can neither garble the screen nor fail to print."""
    text = str(value)
    if not text.isprintable():
        text = "".join(
            char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
            for char in text
        )
    return escape(text)
