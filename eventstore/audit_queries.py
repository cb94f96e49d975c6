"""Reading the audit trail: one aggregate's events, one request's events across contexts,
and every event of a range in constant memory. Each context is read as its own role, in
read-only sessions; metadata and payload come decoded from the stored JSON, personal
fields opened (`[erased]` once the subject's key is destroyed)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.sql import SQL, Composable, Identifier

from eventstore.chain_check import max_position
from eventstore.contexts import CONTEXTS, Context
from eventstore.metadata import META_KEY
from eventstore.personal_data.field_cipher import FieldCipher, FieldTampered, sealed_marker
from eventstore.personal_data.kek_providers import configured_kek
from eventstore.personal_data.session_keys import SessionKeys
from eventstore.personal_fields import OWNING_EVENTS, PERSONAL_FIELDS, FieldSealing
from eventstore.settings import DatabaseSettings
from eventstore.transcoder import default_transcoder

BATCH = 1_000  # rows per keyset read
CORRELATION_FUNCTION = "event_correlation_id"

COLUMNS = SQL("notification_id, originator_id, originator_version, topic, state")
# PostgreSQL's JSON functions refuse a \u0000 or a lone surrogate escape anywhere in a
# document, and stores of before the API refused such text hold some; the metadata is
# read from the stored text with those escapes turned into \u0020 (the same shape, so
# the document stays valid JSON): one such event cannot make an export or trace fail.
_STATE_TEXT = SQL(
    "regexp_replace(convert_from(state, 'UTF8'),"
    " '\\\\u(0000|[dD][89a-fA-F][0-9a-fA-F]{2})', '\\\\u0020', 'g')"
)
_META = SQL("({})::jsonb -> '__meta__'").format(_STATE_TEXT)
RECORDED_AT = SQL("(({}) ->> 'recorded_at')::timestamptz").format(_META)
_transcoder = default_transcoder()


class UnreadableEvent(Exception):
    """A stored event (or an aggregate's events) that cannot be decoded: a damaged store."""


@dataclass(frozen=True)
class AuditEvent:
    """One stored event as an auditor reads it: where it sits, what it says, who and why."""

    context: str
    position: int
    aggregate_id: UUID
    version: int
    event_type: str
    metadata: dict[str, Any]
    payload: dict[str, Any]

    @property
    def event_id(self) -> str:
        """`<context>:<position>`, the id causation ids name."""
        return f"{self.context}:{self.position}"

    @property
    def recorded_at(self) -> str:
        """When it was stored (UTC, ISO 8601), from its metadata."""
        return str(self.metadata.get("recorded_at") or "")

    @property
    def causation_id(self) -> str:
        return str(self.metadata.get("causation_id") or "")

    def recorded_time(self) -> datetime:
        """`recorded_at` as a datetime; the earliest possible one when it is missing."""
        try:
            return datetime.fromisoformat(self.recorded_at).astimezone(UTC)
        except ValueError:
            return datetime.min.replace(tzinfo=UTC)

    def to_json(self) -> dict[str, Any]:
        """The event as export writes it (datetimes and UUIDs left to the JSON encoder)."""
        return {
            "context": self.context,
            "position": self.position,
            "aggregate_id": self.aggregate_id,
            "version": self.version,
            "type": self.event_type,
            "recorded_at": self.recorded_at,
            "metadata": self.metadata,
            "payload": self.payload,
        }


@dataclass
class TraceNode:
    """An event of a trace and the events it caused."""

    event: AuditEvent
    children: list[TraceNode] = field(default_factory=list)


def causal_tree(events: list[AuditEvent]) -> list[TraceNode]:
    """Events as trees by causation: an event whose causation id names another event of
    the set is its child; the others are roots. Siblings come in recorded order."""
    ordered = sorted(events, key=lambda e: (e.recorded_time(), e.context, e.position))
    nodes = {event.event_id: TraceNode(event) for event in ordered}
    roots: list[TraceNode] = []
    for node in nodes.values():
        parent = nodes.get(node.event.causation_id)
        (parent.children if parent and parent is not node else roots).append(node)
    reached = _reachable(roots)
    for node in nodes.values():  # a causation loop (a tampered store): cut it, show it
        if node.event.event_id not in reached:
            nodes[node.event.causation_id].children.remove(node)
            roots.append(node)
            reached |= _reachable([node])
    return roots


def tree_events(roots: list[TraceNode]) -> list[AuditEvent]:
    """Every event of the trees, each once, parents before their children."""
    seen: dict[str, AuditEvent] = {}
    stack = list(reversed(roots))
    while stack:
        node = stack.pop()
        if node.event.event_id not in seen:
            seen[node.event.event_id] = node.event
            stack += reversed(node.children)
    return list(seen.values())


def _reachable(roots: list[TraceNode]) -> set[str]:
    return {event.event_id for event in tree_events(roots)}


def connect(db: DatabaseSettings, context: Context) -> psycopg.Connection[Any]:
    """A read-only session as the context's own role."""
    conn = psycopg.connect(db.role_conninfo(context.role), autocommit=True)
    conn.execute("SET default_transaction_read_only = on")
    return conn


def find_context(db: DatabaseSettings, aggregate_id: UUID) -> Context | None:
    """The context whose events table holds `aggregate_id`, if any."""
    for context in CONTEXTS.values():
        with connect(db, context) as conn:
            query = SQL("SELECT 1 FROM {} WHERE originator_id = %s LIMIT 1")
            if conn.execute(query.format(events_table(context)), (aggregate_id,)).fetchone():
                return context
    return None


def aggregate_history(
    db: DatabaseSettings, context: Context, aggregate_id: UUID
) -> Iterator[AuditEvent]:
    """Every event of one aggregate, by version, read in batches."""
    query = SQL(
        "SELECT {} FROM {} WHERE originator_id = %s AND originator_version > %s"
        " ORDER BY originator_version LIMIT %s"
    ).format(COLUMNS, events_table(context))
    with connect(db, context) as conn:
        after, opener = 0, read_only_opener(conn)
        while rows := conn.execute(query, (aggregate_id, after, BATCH)).fetchall():
            yield from (read_event(context, row, opener) for row in rows)
            after = rows[-1][2]


def latest_version(db: DatabaseSettings, context: Context, aggregate_id: UUID) -> int:
    """The aggregate's current version (0 when it has no events)."""
    query = SQL("SELECT max(originator_version) FROM {} WHERE originator_id = %s")
    with connect(db, context) as conn:
        row = conn.execute(query.format(events_table(context)), (aggregate_id,)).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def version_at(db: DatabaseSettings, context: Context, aggregate_id: UUID, at: datetime) -> int:
    """The last version of the aggregate recorded at or before `at` (0: none yet)."""
    query = SQL(
        "SELECT max(originator_version) FROM {} WHERE originator_id = %s AND {} <= %s"
    ).format(events_table(context), RECORDED_AT)
    with connect(db, context) as conn:
        row = conn.execute(query, (aggregate_id, at)).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def correlated_events(db: DatabaseSettings, correlation_id: str) -> list[AuditEvent]:
    """Every event, in every context, whose metadata carries `correlation_id`."""
    events: list[AuditEvent] = []
    for context in CONTEXTS.values():
        with connect(db, context) as conn:
            query = SQL("SELECT {} FROM {} WHERE {} = %s ORDER BY notification_id").format(
                COLUMNS, events_table(context), correlation_expression(conn, context)
            )
            rows = conn.execute(query, (correlation_id,)).fetchall()
            events += [read_event(context, row, read_only_opener(conn)) for row in rows]
    return events


def stream_events(
    db: DatabaseSettings,
    context: Context,
    since: datetime | None = None,
    until: datetime | None = None,
    batch: int = BATCH,
) -> Iterator[AuditEvent]:
    """The context's events in position order, recorded in [since, until), read in keyset
    batches up to the head seen at the start: constant memory, however large the store."""
    conditions: list[Composable] = [SQL("notification_id > %s"), SQL("notification_id <= %s")]
    bounds: list[datetime] = []
    for bound, operator in ((since, ">="), (until, "<")):
        if bound is not None:
            conditions.append(SQL("{} {} %s").format(RECORDED_AT, SQL(operator)))
            bounds.append(bound)
    query = SQL("SELECT {} FROM {} WHERE {} ORDER BY notification_id LIMIT %s").format(
        COLUMNS, events_table(context), SQL(" AND ").join(conditions)
    )
    with connect(db, context) as conn:
        head, after, opener = max_position(conn, context), 0, read_only_opener(conn)
        while rows := conn.execute(query, (after, head, *bounds, batch)).fetchall():
            yield from (read_event(context, row, opener) for row in rows)
            after = rows[-1][0]


def subject_events(db: DatabaseSettings, context: Context, key_id: UUID) -> list[AuditEvent]:
    """Everything `context` holds about the data subject whose key is `key_id`, in position
    order, opened: every event of their own aggregates (an account they hold, a payment
    they made) and each other event with a field sealed under their key (a credit their
    payment made to someone else's account). Found by the sealed form naming the key."""
    query = SQL(
        "SELECT {} FROM {} WHERE originator_id IN (SELECT originator_id FROM {}"
        " WHERE topic = %(owning)s AND position(%(marker)s IN state) > 0)"
        " OR (topic = ANY(%(topics)s) AND position(%(marker)s IN state) > 0)"
        " ORDER BY notification_id"
    ).format(COLUMNS, events_table(context), events_table(context))
    parameters = {
        "owning": OWNING_EVENTS[context.name],
        "marker": sealed_marker(key_id),
        "topics": list(PERSONAL_FIELDS),
    }
    with connect(db, context) as conn:
        opener = read_only_opener(conn)
        return [read_event(context, row, opener) for row in conn.execute(query, parameters)]


def ensure_correlation_index(db: DatabaseSettings, context: Context) -> None:
    """Index the events table by correlation id (as the table's owner), so a trace is an
    index lookup instead of a scan. Idempotent, for provisioning to call."""
    function = Identifier(context.schema, CORRELATION_FUNCTION)
    index = Identifier(f"{context.events_table}_correlation_idx")
    # convert_from is only STABLE, so the index goes through an IMMUTABLE wrapper (the
    # stored bytes are always UTF-8 JSON, whatever the server's settings). A row that is
    # not JSON (a damaged store) is indexed as having no correlation id rather than
    # making its insert, its update or the index build fail.
    statements = (
        SQL(
            "CREATE OR REPLACE FUNCTION {}(state bytea) RETURNS text"
            " LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$ BEGIN"
            " RETURN (convert_from(state, 'UTF8')::jsonb -> '__meta__') ->> 'correlation_id';"
            " EXCEPTION WHEN others THEN RETURN NULL; END $$"
        ).format(function),
        SQL("REVOKE ALL ON FUNCTION {}(bytea) FROM PUBLIC").format(function),
        SQL("CREATE INDEX IF NOT EXISTS {} ON {} ({}(state))").format(
            index, events_table(context), function
        ),
    )
    with psycopg.connect(db.role_conninfo(context.role), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def correlation_expression(conn: psycopg.Connection[Any], context: Context) -> Composable:
    """The indexed function when provisioning created it, else the same expression inline."""
    name = f"{context.schema}.{CORRELATION_FUNCTION}(bytea)"
    row = conn.execute("SELECT to_regprocedure(%s) IS NOT NULL", (name,)).fetchone()
    if row and row[0]:
        return SQL("{}(state)").format(Identifier(context.schema, CORRELATION_FUNCTION))
    return SQL("({}) ->> 'correlation_id'").format(_META)


def events_table(context: Context) -> Identifier:
    return Identifier(context.schema, context.events_table)


def read_only_opener(conn: psycopg.Connection[Any]) -> FieldSealing:
    """Opens the personal fields of events read in `conn` (the KEK read on first need)."""

    def never_seals(topic: str, originator_id: UUID, state: dict[str, Any]) -> str:
        raise TypeError("the audit trail is read, never written")

    return FieldSealing(lambda: FieldCipher(SessionKeys(conn, configured_kek())), never_seals)


def read_event(context: Context, row: Any, opener: FieldSealing) -> AuditEvent:
    try:
        payload = dict(_transcoder.decode(bytes(row[4])))
        metadata = dict(payload.pop(META_KEY, None) or {})
    except Exception as error:  # whatever a damaged row holds, it is reported, not raised raw
        raise UnreadableEvent(
            f"cannot decode event {context.name}:{row[0]} ({row[1]} version {row[2]}):"
            f" {type(error).__name__}: {error}"
        ) from error
    try:
        opener.open(str(row[3]), row[1], int(row[2]), payload)  # a wrong KEK: its own error
    except FieldTampered as error:
        raise UnreadableEvent(f"event {context.name}:{row[0]}: {error}") from error
    return AuditEvent(
        context=context.name,
        position=int(row[0]),
        aggregate_id=row[1],
        version=int(row[2]),
        event_type=str(row[3]),
        metadata=metadata,
        payload=payload,
    )
