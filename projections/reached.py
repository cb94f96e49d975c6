"""How far a read model has got, for its readers (consistency waits, status), and the
notification its projector sends when it has got further."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection, AsyncCursor

from projections.projection import Projection
from projections.tracking import reached_query


async def reached_position(
    conn: AsyncConnection[Any], projection: type[Projection], source: str
) -> int:
    """The position of `source`'s log that every bucket of the active build has applied."""
    query = reached_query(projection.read_schema())
    row = await (await conn.execute(query, (source,))).fetchone()
    return int(row[0]) if row else 0


# The channel a projector notifies, with its read model's name, in each transaction that
# moves the read model on (delivered at commit); query APIs listen on it to wake their
# consistency waits (api/reached_signal.py).
REACHED_CHANNEL = "paystream_reached"


async def announce_reached(cursor: AsyncCursor[Any], projection: type[Projection]) -> None:
    """Notify REACHED_CHANNEL that `projection` moved on (at this transaction's commit)."""
    await cursor.execute("SELECT pg_notify(%s, %s)", (REACHED_CHANNEL, projection.name))
