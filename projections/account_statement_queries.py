"""Reads of the account statement read model (what its query API serves)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.sql import SQL, Identifier

from projections.account_statement import AccountStatementProjection

SCHEMA = Identifier(AccountStatementProjection.read_schema())
ACCOUNT = SQL("SELECT currency, holder FROM {}.balances WHERE account_id = %s").format(SCHEMA)
NEWEST_FIRST = SQL(
    "SELECT position, occurred_at AS time, kind, amount, balance_after,"
    " counterparty, reference, payment_id FROM {}.entries"
    " WHERE account_id = %s AND position < %s"
    " ORDER BY position DESC LIMIT %s"
).format(SCHEMA)


async def statement_account(conn: AsyncConnection[Any], account_id: UUID) -> tuple[str, str] | None:
    """The account's currency and holder, or None when the statement has never seen it."""
    row = await (await conn.execute(ACCOUNT, (account_id,))).fetchone()
    return (str(row[0]), str(row[1])) if row else None


async def statement_entries(
    conn: AsyncConnection[Any], account_id: UUID, before: int, limit: int
) -> list[dict[str, Any]]:
    """At most `limit` movements of the account below position `before`, newest first."""
    cursor = conn.cursor(row_factory=dict_row)
    return await (await cursor.execute(NEWEST_FIRST, (account_id, before, limit))).fetchall()
