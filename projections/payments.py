"""Payments read model: one row per payment with its current status, for lookups by
id, by account and by status."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncCursor
from psycopg.sql import SQL, Identifier

from domains.erasure import ERASED_TEXT
from domains.payments.aggregates import (
    COMPLETED,
    CREDIT_REFUSED,
    CREDITED,
    DEBITED,
    FAILED,
    REFUNDED,
    REQUESTED,
    PaymentStatus,
)
from eventstore.contexts import PAYMENTS
from eventstore.envelope import EventEnvelope
from projections.personal_fields import forget_erased_key, opened
from projections.projection import Projection, handles


class PaymentsProjection(Projection):
    """Every payment as it stands: parties, amount, status, failure reason, version, and
    its payer (the verified subject that requested it: the source's holder)."""

    name = "payments"
    version = 2  # 2: the payer (who may read it)
    sources = (PAYMENTS,)
    tables = (
        "CREATE TABLE IF NOT EXISTS {schema}.payments ("
        " payment_id uuid PRIMARY KEY,"
        " payer text NOT NULL,"
        " source uuid NOT NULL,"
        " destination uuid NOT NULL,"
        " amount bigint NOT NULL,"
        " currency char(3) NOT NULL,"
        " reference text NOT NULL,"
        " status text NOT NULL,"
        " failure_reason text,"
        " refunded boolean NOT NULL DEFAULT false,"
        " created_position bigint NOT NULL UNIQUE,"
        " created_at timestamptz NOT NULL,"
        " updated_at timestamptz NOT NULL,"
        " version bigint NOT NULL)",
        "CREATE INDEX IF NOT EXISTS payments_by_source"
        " ON {schema}.payments (source, created_position DESC)",
        "CREATE INDEX IF NOT EXISTS payments_by_destination"
        " ON {schema}.payments (destination, created_position DESC)",
        "CREATE INDEX IF NOT EXISTS payments_by_status"
        " ON {schema}.payments (status, created_position DESC)",
        "CREATE INDEX IF NOT EXISTS payments_by_payer"
        " ON {schema}.payments (payer, created_position DESC)",
    )

    @classmethod
    def role(cls) -> str:
        """Not `paystream_payments`: that role owns the payments event store."""
        return "paystream_payments_projector"

    @handles("PaymentRequested.v1")
    async def payment_requested(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        state = event.state()
        await cursor.execute(
            SQL(
                "INSERT INTO {}.payments (payment_id, payer, source, destination, amount,"
                " currency, reference, status, created_position, created_at, updated_at,"
                " version) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (payment_id) DO NOTHING"
            ).format(Identifier(self.schema())),
            (
                event.aggregate_id,
                event.metadata().get("actor", ""),
                state["source"],
                state["destination"],
                state["amount"],
                state["currency"],
                await opened(cursor, event, "reference"),
                REQUESTED,
                event.position,
                state["timestamp"],
                state["timestamp"],
                event.aggregate_version,
            ),
        )

    @handles("PaymentSourceDebited.v1")
    async def payment_source_debited(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        await self._change(cursor, event, DEBITED)

    @handles("PaymentDestinationCredited.v1")
    async def payment_destination_credited(
        self, cursor: AsyncCursor[Any], event: EventEnvelope
    ) -> None:
        await self._change(cursor, event, CREDITED)

    @handles("PaymentCreditRefused.v1")
    async def payment_credit_refused(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        await self._change(cursor, event, CREDIT_REFUSED, reason=event.state()["reason"])

    @handles("PaymentSourceRefunded.v1")
    async def payment_source_refunded(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        await self._change(cursor, event, REFUNDED)

    @handles("PaymentCompleted.v1")
    async def payment_completed(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        await self._change(cursor, event, COMPLETED)

    @handles("PaymentFailed.v1")
    async def payment_failed(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        state = event.state()
        await self._change(
            cursor, event, FAILED, reason=state["reason"], refunded=state["refunded"]
        )

    @handles("PaymentPersonalDataErased.v1")
    async def personal_data_erased(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        """The payer's reference goes (an empty one stays empty, as a rebuild leaves it)."""
        forget_erased_key(event)
        await cursor.execute(
            SQL(
                "UPDATE {}.payments SET reference = CASE WHEN reference = '' THEN ''"
                " ELSE %s END, version = %s, updated_at = %s WHERE payment_id = %s AND version < %s"
            ).format(Identifier(self.schema())),
            (
                ERASED_TEXT,
                event.aggregate_version,
                event.state()["timestamp"],
                event.aggregate_id,
                event.aggregate_version,
            ),
        )

    async def _change(
        self,
        cursor: AsyncCursor[Any],
        event: EventEnvelope,
        status: PaymentStatus,
        reason: str | None = None,
        refunded: bool | None = None,
    ) -> None:
        """Move the payment to `status`; an older version than the row's changes nothing."""
        await cursor.execute(
            SQL(
                "UPDATE {}.payments SET status = %s,"
                " failure_reason = COALESCE(%s, failure_reason),"
                " refunded = COALESCE(%s, refunded), version = %s, updated_at = %s"
                " WHERE payment_id = %s AND version < %s"
            ).format(Identifier(self.schema())),
            (
                status,
                reason,
                refunded,
                event.aggregate_version,
                event.state()["timestamp"],
                event.aggregate_id,
                event.aggregate_version,
            ),
        )
