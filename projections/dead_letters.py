"""Dead letters: events a read model's handler kept failing on.

After the last attempt the event, the error and the attempts are recorded here and
the projection halts (it never skips an event silently: an ordered read model must
not have holes). An operator resolves it with `paystream projections retry` (try the
event again) or `skip --position N` (move past it); both are recorded on the row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from psycopg import AsyncConnection, AsyncCursor
from psycopg.rows import dict_row
from psycopg.sql import SQL, Composed, Identifier
from psycopg.sql import Literal as SqlLiteral

from eventstore.envelope import EventEnvelope
from projections.projection import Projection

TABLE = "dead_letters"


def letters_table(projection: type[Projection]) -> Composed:
    return SQL("{}.{}").format(Identifier(projection.read_schema()), Identifier(TABLE))


LetterStatus = Literal["open", "retried", "skipped"]
OPEN: LetterStatus = "open"
SKIPPED: LetterStatus = "skipped"


@dataclass(frozen=True)
class DeadLetter:
    source: str
    position: int
    event_type: str
    aggregate_id: str
    error: str
    attempts: int
    failed_at: datetime
    status: LetterStatus
    resolved_at: datetime | None
    resolved_by: str | None


async def create_table(cursor: AsyncCursor[Any], projection: type[Projection]) -> None:
    await cursor.execute(
        SQL(
            "CREATE TABLE IF NOT EXISTS {} (source text NOT NULL, position bigint NOT NULL,"
            " event_type text NOT NULL, aggregate_id uuid NOT NULL, body bytea NOT NULL,"
            " error text NOT NULL, attempts int NOT NULL,"
            " failed_at timestamptz NOT NULL DEFAULT now(),"
            " status text NOT NULL DEFAULT {open} CHECK (status IN ({statuses})),"
            " resolved_at timestamptz, resolved_by text, PRIMARY KEY (source, position, failed_at))"
        ).format(
            letters_table(projection),
            open=SqlLiteral(OPEN),
            statuses=SQL(", ").join(SqlLiteral(status) for status in get_args(LetterStatus)),
        )
    )


async def record(
    conn: AsyncConnection[Any],
    projection: type[Projection],
    envelope: EventEnvelope,
    error: str,
    attempts: int,
) -> None:
    await conn.execute(
        SQL(
            "INSERT INTO {} (source, position, event_type, aggregate_id, body, error, attempts)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)"
        ).format(letters_table(projection)),
        (
            envelope.context,
            envelope.position,
            envelope.event_type,
            envelope.aggregate_id,
            envelope.body,
            storable(error[:2000]),
            attempts,
        ),
    )


def storable(text: str) -> str:
    """`text` as PostgreSQL can store it: a NUL or a lone surrogate (an error message may
    quote the event that caused it) becomes a backslash escape."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


async def letters(
    conn: AsyncConnection[Any], projection: type[Projection], status: LetterStatus | None = None
) -> list[DeadLetter]:
    """Dead letters of `projection`, oldest first (only those with `status`, if given)."""
    query = SQL(
        "SELECT source, position, event_type, aggregate_id::text, error, attempts, failed_at,"
        " status, resolved_at, resolved_by FROM {} WHERE %(status)s::text IS NULL"
        " OR status = %(status)s ORDER BY failed_at"
    ).format(letters_table(projection))
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(query, {"status": status})
    return [DeadLetter(**row) for row in await cursor.fetchall()]


async def skipped(conn: AsyncConnection[Any], projection: type[Projection]) -> set[tuple[str, int]]:
    """(source, position) of every event an operator chose to skip."""
    cursor = await conn.execute(
        SQL("SELECT source, position FROM {} WHERE status = %s").format(letters_table(projection)),
        (SKIPPED,),
    )
    return {(str(row[0]), int(row[1])) for row in await cursor.fetchall()}


class NoSuchLetter(LookupError):
    """No open dead letter where the operator pointed (resolved meanwhile, or never)."""


async def resolve(
    conn: AsyncConnection[Any],
    projection: type[Projection],
    status: str,
    actor: str,
    position: int | None = None,
) -> int:
    """Mark open dead letters (or the one at `position`) retried or skipped; how many
    (NoSuchLetter when none was open there)."""
    cursor = await conn.execute(
        SQL(
            "UPDATE {} SET status = %(status)s, resolved_at = now(), resolved_by = %(actor)s"
            " WHERE status = %(open)s"
            " AND (%(position)s::bigint IS NULL OR position = %(position)s)"
        ).format(letters_table(projection)),
        {"status": status, "actor": actor, "position": position, "open": OPEN},
    )
    if cursor.rowcount == 0:
        where = f" at position {position}" if position is not None else ""
        raise NoSuchLetter(f"{projection.name} has no open dead letter{where}")
    return cursor.rowcount
