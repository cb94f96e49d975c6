"""A small history of both contexts, written straight through the application services:
deposits, a withdrawal, one payment that completes and one whose credit is refused."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from uuid import UUID

from psycopg import AsyncConnection

from domains.accounts.application import AccountsService
from domains.accounts.movements import PaymentMovement
from domains.payments.application import PaymentsService
from eventstore.contexts import ACCOUNTS, PAYMENTS, Context, application_env
from eventstore.envelope import EventEnvelope
from eventstore.reader import read_events
from projections.projection import Projection
from projections.runtime import Projector
from tests.support.stack import Stack

FROZEN_REASON = "account-frozen"


@dataclass(frozen=True)
class History:
    """The accounts and payments of the history, and the services that wrote it."""

    accounts: AccountsService
    payments: PaymentsService
    alice: UUID  # EUR: deposits, withdraws, pays bob twice
    bob: UUID  # EUR: receives the first payment, is frozen before the second
    carol: UUID  # EUR: opened, nothing else
    dave: UUID  # USD: one deposit
    completed: UUID
    failed: UUID


def write_history(stack: Stack) -> History:
    accounts = AccountsService(env=application_env(ACCOUNTS, stack.db, pool_size=2))
    payments = PaymentsService(env=application_env(PAYMENTS, stack.db, pool_size=2))
    alice, bob, carol = (accounts.open_account(n, "EUR").account_id for n in ("A", "B", "C"))
    dave = accounts.open_account("D", "USD").account_id
    accounts.deposit(alice, 10_000)
    accounts.withdraw(alice, 1_500)
    accounts.deposit(dave, 300)
    completed = pay(accounts, payments, alice, bob, 2_000, "rent", credit=True)
    accounts.freeze_account(bob)
    failed = pay(accounts, payments, alice, bob, 700, "gift", credit=False)
    return History(accounts, payments, alice, bob, carol, dave, completed, failed)


def pay(
    accounts: AccountsService,
    payments: PaymentsService,
    source: UUID,
    destination: UUID,
    amount: int,
    reference: str,
    *,
    credit: bool,
) -> UUID:
    """One payment through every step the saga would take; refunded when `credit` is
    False (the destination refuses it)."""
    payment_id = payments.request_payment(source, destination, amount, "EUR", reference).payment_id

    def step(counterparty: UUID) -> PaymentMovement:
        return PaymentMovement.of(amount, "EUR", str(payment_id), str(counterparty), reference)

    accounts.debit(source, step(destination))
    payments.record_debit(payment_id)
    if credit:
        accounts.credit(destination, step(source))
        payments.record_credit(payment_id)
        payments.complete(payment_id)
    else:
        payments.record_credit_refused(payment_id, FROZEN_REASON)
        accounts.refund_debit(source, step(destination))
        payments.record_refund(payment_id)
    return payment_id


def stored_events(stack: Stack, context: Context) -> list[EventEnvelope]:
    async def read() -> list[EventEnvelope]:
        async with await AsyncConnection.connect(stack.database_url) as conn:
            return await read_events(conn, context, 0, limit=100_000)

    return asyncio.run(read())


def project(stack: Stack, projector: Projector) -> None:
    """Feed every stored event of each source through the projector's batch rule."""
    batches = [(source, stored_events(stack, source)) for source in projector.projection.sources]

    async def run() -> None:
        async with await AsyncConnection.connect(projector.conninfo) as conn:
            for source, envelopes in batches:
                await projector.apply_batch(conn, source, envelopes)

    asyncio.run(run())


def projector_for(stack: Stack, projection: type[Projection]) -> Projector:
    return Projector(projection(), stack.db.role_conninfo(projection.role()), stack.nats_url)
