"""How far a read model has got, for its readers (consistency waits, status)."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from projections.projection import Projection
from projections.tracking import reached_query


async def reached_position(
    conn: AsyncConnection[Any], projection: type[Projection], source: str
) -> int:
    """The position of `source`'s log that every bucket of the active build has applied."""
    query = reached_query(projection.read_schema())
    row = await (await conn.execute(query, (source,))).fetchone()
    return int(row[0]) if row else 0
