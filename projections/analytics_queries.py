"""Reads of the analytics read model (what its query API serves)."""

from __future__ import annotations

from datetime import date
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.sql import SQL, Identifier

from projections.analytics import AnalyticsProjection

DAILY = SQL(
    "WITH p AS (SELECT * FROM {schema}.daily_payments WHERE {within}),"
    " m AS (SELECT * FROM {schema}.daily_movements WHERE {within})"
    " SELECT day, currency,"
    " COALESCE(completed_count, 0) AS completed_count,"
    " COALESCE(completed_volume, 0) AS completed_volume,"
    " COALESCE(failed_count, 0) AS failed_count, COALESCE(failed_volume, 0) AS failed_volume,"
    " COALESCE(deposits_count, 0) AS deposits_count,"
    " COALESCE(deposits_volume, 0) AS deposits_volume,"
    " COALESCE(withdrawals_count, 0) AS withdrawals_count,"
    " COALESCE(withdrawals_volume, 0) AS withdrawals_volume"
    " FROM p FULL JOIN m USING (day, currency) ORDER BY day, currency"
).format(
    schema=Identifier(AnalyticsProjection.read_schema()),
    within=SQL(
        "day BETWEEN %(first)s AND %(last)s"
        " AND (%(currency)s::text IS NULL OR currency = %(currency)s)"
    ),
)
MEASURES = ("completed", "failed", "deposits", "withdrawals")


async def daily_figures(
    conn: AsyncConnection[Any], first_day: date, last_day: date, currency: str | None
) -> list[dict[str, Any]]:
    """Per UTC day and currency in [first_day, last_day] with any activity, oldest first:
    `day`, `currency`, and a `{count, volume}` per measure (completed, failed, deposits,
    withdrawals)."""
    params = {"first": first_day, "last": last_day, "currency": currency}
    rows = await (await conn.cursor(row_factory=dict_row).execute(DAILY, params)).fetchall()
    return [_figures(row) for row in rows]


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    tallies = {
        measure: {"count": row[f"{measure}_count"], "volume": int(row[f"{measure}_volume"])}
        for measure in MEASURES
    }
    return {"day": row["day"], "currency": row["currency"], **tallies}
