"""Account summary read model: one row per account with balance, status and version."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncCursor
from psycopg.sql import SQL, Identifier

from domains.accounts.aggregates import CLOSED, FROZEN, OPEN
from domains.erasure import ERASED_TEXT
from eventstore.contexts import ACCOUNTS
from eventstore.envelope import EventEnvelope
from projections.personal_fields import forget_erased_key, opened
from projections.projection import Projection, handles


class AccountSummaryProjection(Projection):
    """Holder, balance, currency, status, version and last change of every account."""

    name = "account_summary"
    version = 2  # 2: the holder (who may read it)
    sources = (ACCOUNTS,)
    tables = (
        "CREATE TABLE IF NOT EXISTS {schema}.accounts ("
        " account_id uuid PRIMARY KEY,"
        " owner text NOT NULL,"
        " holder text NOT NULL,"
        " currency char(3) NOT NULL,"
        " balance bigint NOT NULL,"
        " status text NOT NULL,"
        " version bigint NOT NULL,"
        " updated_at timestamptz NOT NULL)",
    )

    @handles("AccountOpened.v1")
    async def account_opened(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        state = event.state()
        await cursor.execute(
            SQL(
                "INSERT INTO {}.accounts"
                " (account_id, owner, holder, currency, balance, status, version, updated_at)"
                " VALUES (%s, %s, %s, %s, 0, %s, %s, %s)"
            ).format(Identifier(self.schema())),
            (
                event.aggregate_id,
                await opened(cursor, event, "owner"),
                state.get("holder", ""),  # events stored before holders have none
                state["currency"],
                OPEN,
                event.aggregate_version,
                state["timestamp"],
            ),
        )

    @handles("MoneyDeposited.v1")
    async def money_deposited(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        await self._change(cursor, event, "balance = balance + %s", event.state()["amount"])

    @handles("MoneyWithdrawn.v1")
    async def money_withdrawn(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        await self._change(cursor, event, "balance = balance - %s", event.state()["amount"])

    @handles("AccountDebited.v1")
    async def account_debited(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        await self._change(cursor, event, "balance = balance - %s", event.state()["amount"])

    @handles("AccountCredited.v1")
    async def account_credited(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        await self._change(cursor, event, "balance = balance + %s", event.state()["amount"])

    @handles("AccountDebitRefunded.v1")
    async def account_debit_refunded(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        await self._change(cursor, event, "balance = balance + %s", event.state()["amount"])

    @handles("AccountFrozen.v1")
    async def account_frozen(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        await self._change(cursor, event, "status = %s", FROZEN)

    @handles("AccountUnfrozen.v1")
    async def account_unfrozen(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        await self._change(cursor, event, "status = %s", OPEN)

    @handles("AccountClosed.v1")
    async def account_closed(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        await self._change(cursor, event, "status = %s", CLOSED)

    @handles("AccountPersonalDataErased.v1")
    async def personal_data_erased(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        """The holder's name goes; what a rebuild would open after the erasure."""
        forget_erased_key(event)
        await self._change(cursor, event, "owner = %s", ERASED_TEXT)

    async def _change(
        self, cursor: AsyncCursor[Any], event: EventEnvelope, assignment: str, value: object
    ) -> None:
        await cursor.execute(
            SQL(
                "UPDATE {}.accounts SET " + assignment + ", version = %s, updated_at = %s"
                " WHERE account_id = %s"
            ).format(Identifier(self.schema())),
            (value, event.aggregate_version, event.state()["timestamp"], event.aggregate_id),
        )
