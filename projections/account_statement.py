"""Account statement read model: every money movement of every account, with the
balance after it. It keeps its own running balances; it reads no other schema."""

from __future__ import annotations

from typing import Any, Literal

from psycopg import AsyncCursor
from psycopg.sql import SQL, Identifier

from eventstore.contexts import ACCOUNTS
from eventstore.envelope import EventEnvelope
from projections.personal_fields import erase_payer_references, opened
from projections.projection import Projection, handles

EntryKind = Literal["deposit", "withdrawal", "payment_debit", "payment_credit", "payment_refund"]


class AccountStatementProjection(Projection):
    """One entry per deposit, withdrawal and payment step, newest readable first."""

    name = "account_statement"
    version = 2  # 2: the holder (who may read it)
    sources = (ACCOUNTS,)
    ignores = ("AccountFrozen.v1", "AccountUnfrozen.v1", "AccountClosed.v1")  # no money moves
    tables = (
        "CREATE TABLE IF NOT EXISTS {schema}.balances ("
        " account_id uuid PRIMARY KEY,"
        " holder text NOT NULL,"
        " currency char(3) NOT NULL,"
        " balance bigint NOT NULL,"
        " last_position bigint NOT NULL)",
        "CREATE TABLE IF NOT EXISTS {schema}.entries ("
        " position bigint PRIMARY KEY,"
        " account_id uuid NOT NULL,"
        " occurred_at timestamptz NOT NULL,"
        " kind text NOT NULL,"
        " amount bigint NOT NULL,"
        " balance_after bigint NOT NULL,"
        " counterparty text,"
        " reference text,"
        " payment_id text)",
        "CREATE INDEX IF NOT EXISTS entries_by_account"
        " ON {schema}.entries (account_id, position DESC)",
    )

    @handles("AccountOpened.v1")
    async def account_opened(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        await cursor.execute(
            SQL(
                "INSERT INTO {}.balances (account_id, holder, currency, balance, last_position)"
                " VALUES (%s, %s, %s, 0, %s) ON CONFLICT (account_id) DO NOTHING"
            ).format(Identifier(self.schema())),
            (
                event.aggregate_id,
                event.state().get("holder", ""),
                event.state()["currency"],
                event.position,
            ),
        )

    @handles("MoneyDeposited.v1")
    async def money_deposited(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        await self._move(cursor, event, "deposit", +1)

    @handles("MoneyWithdrawn.v1")
    async def money_withdrawn(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        await self._move(cursor, event, "withdrawal", -1)

    @handles("AccountDebited.v1")
    async def account_debited(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        await self._move(cursor, event, "payment_debit", -1)

    @handles("AccountCredited.v1")
    async def account_credited(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        await self._move(cursor, event, "payment_credit", +1)

    @handles("AccountDebitRefunded.v1")
    async def account_debit_refunded(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        await self._move(cursor, event, "payment_refund", +1)

    @handles("AccountPersonalDataErased.v1")
    async def personal_data_erased(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        rows = SQL("{}.entries").format(Identifier(self.schema()))
        await erase_payer_references(
            cursor, rows, event, ("payment_debit", "payment_refund"), ("payment_credit",)
        )

    async def _move(
        self, cursor: AsyncCursor[Any], event: EventEnvelope, kind: EntryKind, sign: int
    ) -> None:
        """Move the running balance and record the entry with the balance after it.
        The balance remembers the last position it moved at, so an event applied
        twice moves it once."""
        state = event.state()
        await cursor.execute(
            SQL(
                "WITH moved AS ("
                " UPDATE {schema}.balances"
                " SET balance = balance + %(amount)s, last_position = %(position)s"
                " WHERE account_id = %(account_id)s AND last_position < %(position)s"
                " RETURNING balance)"
                " INSERT INTO {schema}.entries (position, account_id, occurred_at, kind, amount,"
                " balance_after, counterparty, reference, payment_id)"
                " SELECT %(position)s, %(account_id)s, %(occurred_at)s, %(kind)s, %(amount)s,"
                " balance, %(counterparty)s, %(reference)s, %(payment_id)s FROM moved"
            ).format(schema=Identifier(self.schema())),
            {
                "position": event.position,
                "account_id": event.aggregate_id,
                "occurred_at": state["timestamp"],
                "kind": kind,
                "amount": sign * state["amount"],
                "counterparty": state.get("counterparty"),
                "reference": await opened(cursor, event, "reference"),
                "payment_id": state.get("payment_id"),
            },
        )
