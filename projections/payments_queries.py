"""Reads of the payments read model (what its query API serves)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.sql import SQL, Composed, Identifier

from projections.payments import PaymentsProjection

TABLE = SQL("{}.payments").format(Identifier(PaymentsProjection.read_schema()))
COLUMNS = SQL(
    "payment_id, payer, source, destination, amount, currency, reference, status,"
    " failure_reason, refunded, created_at, updated_at, version, created_position"
)
ONE_PAYMENT = SQL("SELECT {} FROM {} WHERE payment_id = %s").format(COLUMNS, TABLE)


async def payment(conn: AsyncConnection[Any], payment_id: UUID) -> dict[str, Any] | None:
    """One payment's row, or None when unknown."""
    cursor = conn.cursor(row_factory=dict_row)
    return await (await cursor.execute(ONE_PAYMENT, (payment_id,))).fetchone()


async def payments_page(
    conn: AsyncConnection[Any],
    account: UUID | None,
    status: str | None,
    before: int,
    limit: int,
    payer: str | None = None,
) -> list[dict[str, Any]]:
    """At most `limit` payments created below position `before`, newest first: from or to
    `account`, in `status`, or both (None: any); only `payer`'s when one is given."""
    params = {"account": account, "status": status, "before": before, "payer": payer}
    query = page_query(account is not None, status is not None, limit, payer is not None)
    cursor = conn.cursor(row_factory=dict_row)
    return await (await cursor.execute(query, params)).fetchall()


def page_query(by_account: bool, by_status: bool, limit: int, by_payer: bool = False) -> Composed:
    """Newest first below a position. By account it is the union of two index scans
    (paid from it, paid to it); a payment never has the same account on both sides."""
    conditions = [SQL("created_position < %(before)s")]
    if by_status:
        conditions.append(SQL("status = %(status)s"))
    if by_payer:
        conditions.append(SQL("payer = %(payer)s"))
    where = SQL(" AND ").join(conditions)
    newest = SQL("ORDER BY created_position DESC LIMIT {}").format(limit)
    if not by_account:
        return SQL("SELECT {} FROM {} WHERE {} {}").format(COLUMNS, TABLE, where, newest)
    side = SQL("(SELECT {} FROM {} WHERE {} = %(account)s AND {} {})")
    return SQL("{} UNION ALL {} {}").format(
        side.format(COLUMNS, TABLE, Identifier("source"), where, newest),
        side.format(COLUMNS, TABLE, Identifier("destination"), where, newest),
        newest,
    )
