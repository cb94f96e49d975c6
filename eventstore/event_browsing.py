"""Browsing a context's events newest first, filtered, a page at a time (keyset paging on
the position: a page never shifts as new events arrive), and one aggregate's hash chain
state. Read as the context's own role in read-only sessions; personal fields opened as
the audit trail opens them. `paystream audit events` and `audit verify --aggregate` use it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from uuid import UUID

from psycopg.sql import SQL, Composable

from eventstore import audit_queries
from eventstore.audit_queries import AuditEvent
from eventstore.chain_check import BrokenLink, ChainChecker, aggregate_links
from eventstore.contexts import Context
from eventstore.settings import DatabaseSettings

MAX_PAGE = 500


@dataclass(frozen=True)
class EventFilter:
    """What to show of a context's events; None matches every event."""

    aggregate_id: UUID | None = None
    event_type: str | None = None
    correlation_id: str | None = None
    since: datetime | None = None  # recorded at or after
    until: datetime | None = None  # recorded before


@dataclass(frozen=True)
class EventPage:
    """Events newest first, and the position to ask the next page before (None: no more)."""

    events: list[AuditEvent]
    next_before: int | None


def newest_events(
    db: DatabaseSettings,
    context: Context,
    where: EventFilter,
    before: int | None = None,
    limit: int = 50,
) -> EventPage:
    """Up to `limit` events of `context` matching `where`, at positions below `before`,
    newest first."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"a page holds 1 to {MAX_PAGE} events, not {limit}")
    with audit_queries.connect(db, context) as conn:
        conditions: list[Composable] = [SQL("notification_id < %(before)s")]
        if where.aggregate_id is not None:
            conditions.append(SQL("originator_id = %(aggregate_id)s"))
        if where.event_type is not None:
            conditions.append(SQL("topic = %(event_type)s"))
        if where.correlation_id is not None:
            correlation = audit_queries.correlation_expression(conn, context)
            conditions.append(SQL("{} = %(correlation_id)s").format(correlation))
        if where.since is not None:
            conditions.append(SQL("{} >= %(since)s").format(audit_queries.RECORDED_AT))
        if where.until is not None:
            conditions.append(SQL("{} < %(until)s").format(audit_queries.RECORDED_AT))
        query = SQL("SELECT {} FROM {} WHERE {} ORDER BY notification_id DESC LIMIT %(limit)s")
        rows = conn.execute(
            query.format(
                audit_queries.COLUMNS,
                audit_queries.events_table(context),
                SQL(" AND ").join(conditions),
            ),
            {
                "before": before if before is not None else 2**63 - 1,
                "aggregate_id": where.aggregate_id,
                "event_type": where.event_type,
                "correlation_id": where.correlation_id,
                "since": where.since,
                "until": where.until,
                "limit": limit + 1,
            },
        ).fetchall()
        opener = audit_queries.read_only_opener(conn)
        events = [audit_queries.read_event(context, row, opener) for row in rows[:limit]]
    more = len(rows) > limit
    return EventPage(events, events[-1].position if more else None)


ChainStatus = Literal["verified", "broken", "unhashed", "absent"]


@dataclass(frozen=True)
class ChainState:
    """One aggregate's hash chain: verified (every link holds), broken (a link does not:
    see `broken`), unhashed (events stored before hashing, the rest holding), or absent
    (no such aggregate in the context)."""

    status: ChainStatus
    events: int
    broken: list[BrokenLink] = field(default_factory=list)


def chain_state(db: DatabaseSettings, context: Context, aggregate_id: UUID) -> ChainState:
    """Check the aggregate's chain from its first event, as `audit verify` checks each."""
    found: list[BrokenLink] = []
    checker = ChainChecker(found.append)
    with audit_queries.connect(db, context) as conn:
        for link in aggregate_links(conn, context, aggregate_id):
            checker.check(link)
    checker.finish()
    if not checker.events and not found:
        return ChainState("absent", 0)
    if any(link.kind != "unhashed" for link in found):
        return ChainState("broken", checker.events, found)
    return ChainState("unhashed" if found else "verified", checker.events, found)
