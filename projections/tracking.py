"""The tracking row: how far a build of a read model has applied each source's log."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncCursor
from psycopg.sql import SQL, Identifier

from projections.projection import TRACKING_TABLE, Projection


async def tracked_position(cursor: AsyncCursor[Any], projection: Projection, source: str) -> int:
    """The last position of `source` applied to the read model (0 if none); locks the row."""
    query = SQL("SELECT position FROM {}.{} WHERE source = %s FOR UPDATE").format(
        Identifier(projection.schema()), Identifier(TRACKING_TABLE)
    )
    await cursor.execute(query, (source,))
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def record_position(
    cursor: AsyncCursor[Any], projection: Projection, source: str, position: int
) -> None:
    query = SQL(
        "INSERT INTO {}.{} (source, position, updated_at) VALUES (%s, %s, now())"
        " ON CONFLICT (source) DO UPDATE SET position = EXCLUDED.position, updated_at = now()"
    ).format(Identifier(projection.schema()), Identifier(TRACKING_TABLE))
    await cursor.execute(query, (source, position))
