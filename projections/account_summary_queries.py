"""Reads of the account summary read model (what its query API serves)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.sql import SQL, Identifier

from projections.account_summary import AccountSummaryProjection

ONE_ACCOUNT = SQL(
    "SELECT account_id, owner, holder, currency, balance, status, version, updated_at"
    " FROM {}.accounts WHERE account_id = %s"
).format(Identifier(AccountSummaryProjection.read_schema()))


async def account_summary(conn: AsyncConnection[Any], account_id: UUID) -> dict[str, Any] | None:
    """One account's row (balance, currency, status, version), or None when unknown."""
    cursor = conn.cursor(row_factory=dict_row)
    return await (await cursor.execute(ONE_ACCOUNT, (account_id,))).fetchone()
