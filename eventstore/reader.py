"""Reading a context's events table in position order (relay, repair, rebuild)."""

from __future__ import annotations

from psycopg import AsyncConnection
from psycopg.sql import SQL, Composed, Identifier

from eventstore.contexts import Context
from eventstore.envelope import EventEnvelope


async def read_events(
    conn: AsyncConnection[object],
    context: Context,
    after: int,
    *,
    before: int | None = None,
    limit: int = 1000,
) -> list[EventEnvelope]:
    """Events with `after` < position (< `before`), oldest first, at most `limit`."""
    query = SQL(
        "SELECT notification_id, originator_id, originator_version, topic, state"
        " FROM {}.{} WHERE notification_id > %s AND notification_id < %s"
        " ORDER BY notification_id LIMIT %s"
    ).format(Identifier(context.schema), Identifier(context.events_table))
    upper = before if before is not None else 2**63 - 1
    cursor = await conn.execute(query, (after, upper, limit))
    rows = await cursor.fetchall()
    return [
        EventEnvelope(
            context=context.name,
            position=row[0],  # type: ignore[index]
            aggregate_id=row[1],  # type: ignore[index]
            aggregate_version=row[2],  # type: ignore[index]
            event_type=row[3],  # type: ignore[index]
            body=bytes(row[4]),  # type: ignore[index]
        )
        for row in rows
    ]


def max_position_query(context: Context) -> Composed:
    """SQL for the highest position committed in the context's log (0 when empty); the
    one statement behind both callers, async `max_position` and the audit's sync one."""
    return SQL("SELECT COALESCE(MAX(notification_id), 0) FROM {}.{}").format(
        Identifier(context.schema), Identifier(context.events_table)
    )


async def max_position(conn: AsyncConnection[object], context: Context) -> int:
    """The highest position committed in the context's log (0 when empty)."""
    cursor = await conn.execute(max_position_query(context))
    row = await cursor.fetchone()
    return int(row[0]) if row else 0  # type: ignore[index]
