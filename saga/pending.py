"""The saga's own table of unfinished payments and their deadlines (payments schema)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.sql import SQL, Identifier
from psycopg_pool import AsyncConnectionPool

from eventstore.contexts import PAYMENTS
from eventstore.reconnect import CONNECT_TIMEOUT_SECONDS, POOL_RECONNECT_GIVE_UP_SECONDS

TABLE = SQL("{}.{}").format(Identifier(PAYMENTS.schema), Identifier("saga_pending"))


@asynccontextmanager
async def pool(conninfo: str, size: int) -> AsyncIterator[AsyncConnectionPool[Any]]:
    """`size` connections for the payments in flight to track and forget concurrently
    (one connection would serialise them), made as eventstore.reconnect.connect makes
    one; a lost connection fails its query (the saga's run ends and starts over)."""
    connections: AsyncConnectionPool[Any] = AsyncConnectionPool(
        conninfo,
        min_size=size,
        max_size=size,
        open=False,
        timeout=CONNECT_TIMEOUT_SECONDS,
        reconnect_timeout=POOL_RECONNECT_GIVE_UP_SECONDS,
        kwargs={
            "autocommit": True,
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 5,
            "keepalives_count": 3,
        },
    )
    await connections.open(wait=True, timeout=CONNECT_TIMEOUT_SECONDS)
    try:
        yield connections
    finally:
        await connections.close()


async def create_table(conn: AsyncConnection[Any]) -> None:
    await conn.execute(
        SQL(
            "CREATE TABLE IF NOT EXISTS {} (payment_id uuid PRIMARY KEY,"
            " deadline timestamptz NOT NULL, attempts int NOT NULL DEFAULT 0)"
        ).format(TABLE)
    )


async def track(conn: AsyncConnection[Any], payment_id: UUID, seconds: float) -> None:
    """Remember a payment until it finishes; past `seconds` the sweeper drives it again."""
    await conn.execute(
        SQL(
            "INSERT INTO {} (payment_id, deadline) VALUES (%s, now() + make_interval(secs => %s))"
            " ON CONFLICT (payment_id) DO NOTHING"
        ).format(TABLE),
        (payment_id, seconds),
    )


async def forget(conn: AsyncConnection[Any], payment_id: UUID) -> None:
    await conn.execute(SQL("DELETE FROM {} WHERE payment_id = %s").format(TABLE), (payment_id,))


async def overdue(conn: AsyncConnection[Any], limit: int = 100) -> list[tuple[UUID, int]]:
    """Payments past their deadline, oldest first, with how often they were overdue."""
    cursor = await conn.execute(
        SQL(
            "SELECT payment_id, attempts FROM {} WHERE deadline < now() ORDER BY deadline LIMIT %s"
        ).format(TABLE),
        (limit,),
    )
    return [(row[0], int(row[1])) for row in await cursor.fetchall()]


async def postpone(conn: AsyncConnection[Any], payment_id: UUID, seconds: float) -> None:
    """Still unfinished: try again after `seconds`, and count the overdue attempt."""
    await conn.execute(
        SQL(
            "UPDATE {} SET deadline = now() + make_interval(secs => %s), attempts = attempts + 1"
            " WHERE payment_id = %s"
        ).format(TABLE),
        (seconds, payment_id),
    )


async def counts(conn: AsyncConnection[Any]) -> tuple[int, int, int]:
    """Payments unfinished, those of them overdue at least once, and those past their
    deadline now (one query: what an idle sweeper asks each time)."""
    cursor = await conn.execute(
        SQL(
            "SELECT count(*), count(*) FILTER (WHERE attempts > 0),"
            " count(*) FILTER (WHERE deadline < now()) FROM {}"
        ).format(TABLE)
    )
    row = await cursor.fetchone()
    return (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 0)
