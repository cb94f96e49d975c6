"""Notifications read model: a feed per account of what happened to its money.

Each notification's id is the position of the event that caused it
(`<context>:<position>`), the primary key: a redelivered event can never notify twice.
"""

from __future__ import annotations

from typing import Any, Literal

from psycopg import AsyncCursor
from psycopg.sql import SQL, Identifier

from eventstore.contexts import ACCOUNTS, PAYMENTS
from eventstore.envelope import EventEnvelope
from projections.personal_fields import erase_payer_references, opened
from projections.projection import Projection, handles

NotificationKind = Literal[
    "deposit", "withdrawal", "payment_sent", "payment_received", "payment_failed"
]
PAYMENT_FAILED: NotificationKind = "payment_failed"


def notification_id(event: EventEnvelope) -> str:
    """The deterministic id of the notification `event` causes."""
    return f"{event.context}:{event.position}"


class NotificationsProjection(Projection):
    """Deposits, withdrawals, payments sent, received and failed, per account."""

    name = "notifications"
    version = 2  # 2: the holder (who may read them)
    sources = (ACCOUNTS, PAYMENTS)
    # Holders hear of money arriving or leaving, and of a payment that failed (with its
    # refund); not of status changes, nor of a payment's inner steps.
    ignores = (
        "AccountFrozen.v1",
        "AccountUnfrozen.v1",
        "AccountClosed.v1",
        "AccountDebitRefunded.v1",
        "PaymentRequested.v1",
        "PaymentSourceDebited.v1",
        "PaymentDestinationCredited.v1",
        "PaymentCreditRefused.v1",
        "PaymentSourceRefunded.v1",
        "PaymentCompleted.v1",
        "PaymentPersonalDataErased.v1",  # no notification holds a payment's reference
    )
    tables = (
        "CREATE TABLE IF NOT EXISTS {schema}.accounts ("
        " account_id uuid PRIMARY KEY,"
        " holder text NOT NULL,"
        " currency char(3) NOT NULL)",
        "CREATE TABLE IF NOT EXISTS {schema}.notifications ("
        " id text PRIMARY KEY,"
        " account_id uuid NOT NULL,"
        " occurred_at timestamptz NOT NULL,"
        " kind text NOT NULL,"
        " amount bigint NOT NULL,"
        " currency char(3) NOT NULL,"
        " counterparty text,"
        " payment_id text,"
        " reference text,"
        " reason text,"
        " refunded boolean)",
        "CREATE INDEX IF NOT EXISTS notifications_by_account"
        " ON {schema}.notifications (account_id, occurred_at DESC, id DESC)",
    )

    @handles("AccountOpened.v1")
    async def account_opened(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        await cursor.execute(
            SQL(
                "INSERT INTO {}.accounts (account_id, holder, currency) VALUES (%s, %s, %s)"
                " ON CONFLICT (account_id) DO NOTHING"
            ).format(Identifier(self.schema())),
            (event.aggregate_id, event.state().get("holder", ""), event.state()["currency"]),
        )

    @handles("MoneyDeposited.v1")
    async def money_deposited(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        await self._notify_account(cursor, event, "deposit")

    @handles("MoneyWithdrawn.v1")
    async def money_withdrawn(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        await self._notify_account(cursor, event, "withdrawal")

    @handles("AccountDebited.v1")
    async def account_debited(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        await self._notify_account(cursor, event, "payment_sent")

    @handles("AccountCredited.v1")
    async def account_credited(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        await self._notify_account(cursor, event, "payment_received")

    @handles("PaymentFailed.v1")
    async def payment_failed(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        """The payer hears why the payment failed and whether the money came back."""
        state = event.state()
        await cursor.execute(
            SQL(
                "INSERT INTO {}.notifications (id, account_id, occurred_at, kind, amount,"
                " currency, counterparty, payment_id, reason, refunded)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (id) DO NOTHING"
            ).format(Identifier(self.schema())),
            (
                notification_id(event),
                state["source"],
                state["timestamp"],
                PAYMENT_FAILED,
                state["amount"],
                state["currency"],
                state["destination"],
                str(event.aggregate_id),
                state["reason"],
                state["refunded"],
            ),
        )

    @handles("AccountPersonalDataErased.v1")
    async def personal_data_erased(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        rows = SQL("{}.notifications").format(Identifier(self.schema()))
        await erase_payer_references(cursor, rows, event, ("payment_sent",), ("payment_received",))

    async def _notify_account(
        self, cursor: AsyncCursor[Any], event: EventEnvelope, kind: NotificationKind
    ) -> None:
        """A notification to the account the event happened to, in its currency."""
        state = event.state()
        await cursor.execute(
            SQL(
                "INSERT INTO {schema}.notifications (id, account_id, occurred_at, kind, amount,"
                " currency, counterparty, payment_id, reference)"
                " SELECT %s, account_id, %s, %s, %s, currency, %s, %s, %s"
                " FROM {schema}.accounts WHERE account_id = %s"
                " ON CONFLICT (id) DO NOTHING"
            ).format(schema=Identifier(self.schema())),
            (
                notification_id(event),
                state["timestamp"],
                kind,
                state["amount"],
                state.get("counterparty"),
                state.get("payment_id"),
                await opened(cursor, event, "reference"),
                event.aggregate_id,
            ),
        )
