"""The saga's own table of unfinished payments and their deadlines (payments schema)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.sql import SQL, Identifier

from eventstore.contexts import PAYMENTS

TABLE = SQL("{}.{}").format(Identifier(PAYMENTS.schema), Identifier("saga_pending"))


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


async def counts(conn: AsyncConnection[Any]) -> tuple[int, int]:
    """Payments unfinished, and those of them overdue at least once."""
    cursor = await conn.execute(
        SQL("SELECT count(*), count(*) FILTER (WHERE attempts > 0) FROM {}").format(TABLE)
    )
    row = await cursor.fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)
