"""Analytics read model: per UTC day and currency, counts and volumes of completed and
failed payments, deposits and withdrawals.

Payment figures (from payments events) and movement figures (from accounts events)
live in separate tables, so the two sources' transactions never contend for a row,
and each row remembers the last position it counted, so no event counts twice.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from psycopg import AsyncCursor
from psycopg.sql import SQL, Composable, Identifier

from domains.payments.aggregates import COMPLETED, FAILED
from eventstore.contexts import ACCOUNTS, PAYMENTS
from eventstore.envelope import EventEnvelope
from projections.projection import Projection, handles


def utc_day(timestamp: datetime) -> date:
    """The UTC calendar day an event happened on."""
    return timestamp.astimezone(UTC).date()


def _daily_table(table: str, first: str, second: str) -> str:
    """DDL of a daily figures table: a count and a volume (numeric: sums must never
    overflow and halt the projection) for each of two measures."""
    return (
        f"CREATE TABLE IF NOT EXISTS {{schema}}.{table} ("
        " day date NOT NULL,"
        " currency char(3) NOT NULL,"
        f" {first}_count bigint NOT NULL DEFAULT 0,"
        f" {first}_volume numeric NOT NULL DEFAULT 0,"
        f" {second}_count bigint NOT NULL DEFAULT 0,"
        f" {second}_volume numeric NOT NULL DEFAULT 0,"
        " last_position bigint NOT NULL,"
        " PRIMARY KEY (day, currency))"
    )


class AnalyticsProjection(Projection):
    """Daily volumes and counts per currency."""

    name = "analytics"
    version = 1
    sources = (ACCOUNTS, PAYMENTS)
    # Payments count once, when they finish (completed or failed); their account steps and
    # inner steps would count them again. Status changes move no money.
    ignores = (
        "AccountFrozen.v1",
        "AccountUnfrozen.v1",
        "AccountClosed.v1",
        "AccountDebited.v1",
        "AccountCredited.v1",
        "AccountDebitRefunded.v1",
        "PaymentRequested.v1",
        "PaymentSourceDebited.v1",
        "PaymentDestinationCredited.v1",
        "PaymentCreditRefused.v1",
        "PaymentSourceRefunded.v1",
        "AccountPersonalDataErased.v1",  # no personal data here
        "PaymentPersonalDataErased.v1",
    )
    tables = (
        "CREATE TABLE IF NOT EXISTS {schema}.account_currencies ("
        " account_id uuid PRIMARY KEY,"
        " currency char(3) NOT NULL)",
        _daily_table("daily_payments", "completed", "failed"),
        _daily_table("daily_movements", "deposits", "withdrawals"),
    )

    @handles("AccountOpened.v1")
    async def account_opened(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        await cursor.execute(
            SQL(
                "INSERT INTO {}.account_currencies (account_id, currency) VALUES (%s, %s)"
                " ON CONFLICT (account_id) DO NOTHING"
            ).format(Identifier(self.schema())),
            (event.aggregate_id, event.state()["currency"]),
        )

    @handles("MoneyDeposited.v1")
    async def money_deposited(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        await self._count_movement(cursor, event, "deposits")

    @handles("MoneyWithdrawn.v1")
    async def money_withdrawn(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        await self._count_movement(cursor, event, "withdrawals")

    @handles("PaymentCompleted.v1")
    async def payment_completed(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        await self._count_payment(cursor, event, COMPLETED)

    @handles("PaymentFailed.v1")
    async def payment_failed(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        await self._count_payment(cursor, event, FAILED)

    async def _count_payment(
        self, cursor: AsyncCursor[Any], event: EventEnvelope, measure: str
    ) -> None:
        state = event.state()
        values: Composable = SQL("VALUES (%s, %s, 1, %s, %s)")
        day = utc_day(state["timestamp"])
        params = (day, state["currency"], state["amount"], event.position)
        await self._add(cursor, "daily_payments", measure, values, params)

    async def _count_movement(
        self, cursor: AsyncCursor[Any], event: EventEnvelope, measure: str
    ) -> None:
        """Deposits and withdrawals count in the currency their account was opened in."""
        state = event.state()
        values = SQL(
            "SELECT %s, currency, 1, %s, %s FROM {}.account_currencies WHERE account_id = %s"
        ).format(Identifier(self.schema()))
        params = (utc_day(state["timestamp"]), state["amount"], event.position, event.aggregate_id)
        await self._add(cursor, "daily_movements", measure, values, params)

    async def _add(
        self,
        cursor: AsyncCursor[Any],
        table: str,
        measure: str,
        values: Composable,
        params: tuple[Any, ...],
    ) -> None:
        """Add one to `measure`'s count and the amount to its volume, for that day."""
        count, volume = Identifier(f"{measure}_count"), Identifier(f"{measure}_volume")
        await cursor.execute(
            SQL(
                "INSERT INTO {schema}.{table} AS t"
                " (day, currency, {count}, {volume}, last_position) {values}"
                " ON CONFLICT (day, currency) DO UPDATE"
                " SET {count} = t.{count} + 1, {volume} = t.{volume} + EXCLUDED.{volume},"
                " last_position = EXCLUDED.last_position"
                " WHERE t.last_position < EXCLUDED.last_position"
            ).format(
                schema=Identifier(self.schema()),
                table=Identifier(table),
                count=count,
                volume=volume,
                values=values,
            ),
            params,
        )
