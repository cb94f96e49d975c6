"""Reads of the notifications read model (what its query API serves)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.sql import SQL, Identifier

from projections.notifications import NotificationsProjection

SCHEMA = Identifier(NotificationsProjection.read_schema())
NEWEST_FIRST = SQL(
    "SELECT id, occurred_at AS time, kind, amount, currency, counterparty, payment_id,"
    " reference, reason, refunded FROM {}.notifications"
    " WHERE account_id = %s AND (occurred_at, id) < (%s, %s)"
    " ORDER BY occurred_at DESC, id DESC LIMIT %s"
).format(SCHEMA)
# The holder; "" (no one's) for an account only named in a notification so far.
ACCOUNT_HOLDER = SQL(
    "SELECT holder FROM {schema}.accounts WHERE account_id = %(id)s"
    " UNION ALL SELECT '' FROM {schema}.notifications WHERE account_id = %(id)s"
    " LIMIT 1"
).format(schema=SCHEMA)
BEYOND_NEWEST = (datetime.max.replace(tzinfo=UTC), "")


async def notifications_page(
    conn: AsyncConnection[Any],
    account_id: UUID,
    before: tuple[datetime, str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """At most `limit` of the account's notifications below the (time, id) `before`
    (None: from the newest), newest first."""
    params = (account_id, *(before or BEYOND_NEWEST), limit)
    cursor = conn.cursor(row_factory=dict_row)
    return await (await cursor.execute(NEWEST_FIRST, params)).fetchall()


async def account_holder(conn: AsyncConnection[Any], account_id: UUID) -> str | None:
    """Who holds the account ("" when no one is known to), or None when the read model
    has never seen it (neither opened nor named in a notification)."""
    row = await (await conn.execute(ACCOUNT_HOLDER, {"id": account_id})).fetchone()
    return str(row[0]) if row else None
