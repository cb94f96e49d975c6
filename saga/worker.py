"""The payment saga worker (`paystream serve saga`).

It consumes the payments stream with a durable pull consumer. For every payment it
hears about, it loads the payment and carries out `next_step` until the payment is
finished or a step cannot be done now (then the message is nak'ed with a delay and
comes back). Every step is idempotent at the accounts API by `<payment_id>:<step>`,
so a crash at any point only repeats a step, never doubles it. A payment unfinished
past its deadline is driven again by a sweeper, with growing delays, and reported.

Payments are driven in parallel: the consumer keeps fetching while up to MAX_IN_FLIGHT
messages are being handled, one payment's messages a group at a time (PullConsumer.flow),
so a slow payment holds only itself.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from psycopg_pool import AsyncConnectionPool

from api.metadata_headers import is_correlation_id
from domains.command_records import EventOrigin
from domains.payments.aggregates import Payment
from domains.payments.application import PaymentResult, PaymentsService
from domains.payments.errors import InvalidTransition
from domains.payments.saga import Action, Step, next_step
from eventstore.contexts import PAYMENTS
from eventstore.envelope import H_AGGREGATE_ID
from eventstore.log_context import handling_message
from eventstore.metadata import CommandMetadata, command_metadata
from eventstore.outages import Outage
from eventstore.pull_consumer import PullConsumer
from eventstore.reconnect import connect, connect_nats
from eventstore.stopping import pause
from saga import pending, saga_metrics
from saga.accounts_client import AccountsClient, AccountsUnavailable, Cause, Outcome
from saga.overdue_trace import driving_overdue

log = logging.getLogger("paystream.saga")
T = TypeVar("T")

CONSUMER = "payment_saga"
BATCH_SIZE = 64
# Messages handled at once (a payment's messages fetched together count as one group);
# every payment in flight makes one service call or accounts API call at a time.
MAX_IN_FLIGHT = 128
# Threads for the payments service's (synchronous) calls: no more than its database
# connections (scripts/composition/saga.py: pool_size 8, as many again in overflow), or a
# call would wait for a connection past the pool's 1 s timeout.
SERVICE_THREADS = 16
PENDING_CONNECTIONS = 4
DEADLINE_SECONDS = 10.0
SWEEP_SECONDS = 1.0
RETRY_DELAY_SECONDS = 2.0
MAX_STEPS = 8
# A message the saga took and never answered (it was killed) comes back after this.
# Redelivering one still being handled is harmless: it waits on the payment's lock,
# then finds the payment moved on, and every step is idempotent at the accounts API.
ACK_WAIT_SECONDS = 15.0


@dataclass
class SagaStatus:
    """What the saga has done, for /readyz and /status."""

    subscribed: bool = False
    steps: Counter[str] = field(default_factory=Counter)
    unavailable: int = 0
    overdue_driven: int = 0
    overdue_now: int = 0


def payment_of(message: Msg) -> UUID:
    """The payment a message of the payments stream is about."""
    return UUID((message.headers or {})[H_AGGREGATE_ID])


class PaymentSaga:
    """Drives payments from requested to completed or failed."""

    def __init__(
        self,
        service: PaymentsService,
        accounts: AccountsClient,
        conninfo: str,
        nats_url: str,
        deadline_seconds: float = DEADLINE_SECONDS,
    ) -> None:
        self.service = service
        self.accounts = accounts
        self.conninfo = conninfo
        self.nats_url = nats_url
        self.deadline_seconds = deadline_seconds
        self.status = SagaStatus()
        self._locks: defaultdict[UUID, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.nats: NatsClient | None = None
        self.accounts_outage = Outage(log, "accounts API (payments wait)")
        self.overdue_outage = Outage(log, "payments past their deadline")
        self._threads = ThreadPoolExecutor(SERVICE_THREADS, thread_name_prefix="saga-service")

    async def _in_thread(self, call: Callable[..., T], *args: object) -> T:
        """`call(*args)` on one of the saga's threads, in the caller's context (its
        command metadata and trace), as asyncio.to_thread but with enough threads."""
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._threads, functools.partial(context.run, call, *args)
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Consume and sweep until `stop` is set; a lost connection ends the run (the
        caller runs it again with fresh connections; unacked messages come back)."""
        self.nats = nc = await connect_nats(self.nats_url, "saga", log)
        try:
            async with pending.pool(self.conninfo, PENDING_CONNECTIONS) as connections:
                async with connections.connection() as conn:
                    await pending.create_table(conn)
                async with asyncio.TaskGroup() as group:
                    group.create_task(self._consume(nc, connections, stop))
                    group.create_task(self._sweep(stop))
        finally:
            self.status.subscribed = False
            await nc.close()

    async def _consume(
        self, nc: Any, connections: AsyncConnectionPool[Any], stop: asyncio.Event
    ) -> None:
        consumer = PullConsumer(
            CONSUMER, PAYMENTS, BATCH_SIZE, ACK_WAIT_SECONDS, max_ack_pending=MAX_IN_FLIGHT * 4
        )
        subscription = await consumer.subscribe(nc.jetstream())
        self.status.subscribed = True

        async def handle(messages: list[Msg]) -> float | None:
            with handling_message(messages[0].headers or {}):
                return await self._handle(connections, payment_of(messages[0]))

        await consumer.flow(subscription, handle, stop, key=payment_of, max_in_flight=MAX_IN_FLIGHT)

    async def _handle(
        self, connections: AsyncConnectionPool[Any], payment_id: UUID
    ) -> float | None:
        """Drive the payment a group of messages is about; when the accounts API is away,
        the delay before they come back. A payment is tracked (given its deadline) before
        its first step here, and forgotten once it finished here; one found finished
        (a later event of it) costs no write."""
        tracked = False

        async def track() -> None:
            nonlocal tracked
            async with connections.connection() as conn:
                await pending.track(conn, payment_id, self.deadline_seconds)
            tracked = True

        try:
            finished = await self.advance(payment_id, before_steps=track)
        except AccountsUnavailable as error:
            self.status.unavailable += 1
            self.accounts_outage.failed(error)
            return RETRY_DELAY_SECONDS
        self.accounts_outage.recovered()
        if finished and tracked:
            async with connections.connection() as conn:
                await pending.forget(conn, payment_id)
        return None

    async def advance(
        self, payment_id: UUID, before_steps: Callable[[], Awaitable[None]] | None = None
    ) -> bool:
        """Carry out steps until the payment is finished (True) or must wait; before the
        first step, `before_steps`."""
        cause: Cause | None = None
        async with self._locks[payment_id]:
            for steps_taken in range(MAX_STEPS):
                payment = await self._in_thread(self.service.get_payment, payment_id)
                step = next_step(payment)
                if step is None:
                    self._locks.pop(payment_id, None)
                    if steps_taken:  # finished here, not found finished
                        took = payment.modified_on - payment.created_on
                        saga_metrics.payment_finished(payment.status, took.total_seconds())
                    return True
                if steps_taken == 0 and before_steps is not None:
                    await before_steps()
                if cause is None:
                    cause = await self._in_thread(self._cause_of, payment)
                try:
                    recorded = await self._carry_out(payment_id, step, payment, cause)
                except InvalidTransition:
                    cause = None  # recorded meanwhile by another delivery; look again
                    continue
                self.status.steps[step.action.value] += 1
                # The event just recorded causes the next step: no need to look it up.
                cause = Cause(cause.correlation_id, f"{PAYMENTS.name}:{recorded}")
        return False

    def _cause_of(self, payment: Payment) -> Cause:
        """The payment's correlation id, and its latest event as the cause of the next step."""
        origin = self.service.event_origin(payment.id, payment.version) or EventOrigin(0)
        correlation = str(origin.metadata.get("correlation_id") or payment.id)
        if not is_correlation_id(correlation):  # stored before the API checked it
            correlation = str(payment.id)  # the accounts API would refuse the step
        return Cause(correlation, f"{PAYMENTS.name}:{origin.position}")

    async def _carry_out(
        self, payment_id: UUID, step: Step, payment: Payment, cause: Cause
    ) -> int | None:
        """One step: call the accounts API (or complete), then record what happened, with
        the payment's correlation id and the event that led to it as the cause. The
        position of the payment event recorded."""
        kind = step.action.value
        if step.action is Action.COMPLETE:
            recorded = await self._record(cause, None, self.service.complete, payment_id)
            saga_metrics.step_carried_out(kind, saga_metrics.DONE)
            return recorded
        try:
            outcome = await self.accounts.perform(step, payment, cause)
        except AccountsUnavailable:
            saga_metrics.step_carried_out(kind, saga_metrics.UNAVAILABLE)
            raise
        done = saga_metrics.DONE if outcome.done else saga_metrics.REFUSED
        saga_metrics.step_carried_out(kind, done)
        return await self._record_outcome(payment_id, step.action, outcome, cause)

    async def _record(
        self,
        cause: Cause,
        event: str | None,
        command: Callable[..., PaymentResult],
        *args: object,
    ) -> int | None:
        metadata = CommandMetadata(
            actor="saga",
            correlation_id=cause.correlation_id,
            causation_id=event or cause.causation_id,
        )
        with command_metadata(metadata):
            result = await self._in_thread(command, *args)
        return result.position

    async def _record_outcome(
        self, payment_id: UUID, action: Action, outcome: Outcome, cause: Cause
    ) -> int | None:
        record, event = self.service, outcome.event
        if action is Action.DEBIT_SOURCE:
            if outcome.done:
                return await self._record(cause, event, record.record_debit, payment_id)
            return await self._record(
                cause, event, record.record_debit_refused, payment_id, outcome.reason
            )
        if action is Action.CREDIT_DESTINATION:
            if outcome.done:
                return await self._record(cause, event, record.record_credit, payment_id)
            return await self._record(
                cause, event, record.record_credit_refused, payment_id, outcome.reason
            )
        if outcome.done:
            return await self._record(cause, event, record.record_refund, payment_id)
        raise AccountsUnavailable(f"refund refused ({outcome.reason}); will retry")

    async def drive_overdue(self, payment_id: UUID, attempts: int = 0) -> bool:
        """Drive a payment past its deadline again, in its own trace and with its
        correlation id on every log line (saga/overdue_trace.py); whether it finished. One
        still unfinished is reported (`attempts`: how often it was overdue before)."""
        payment = await self._in_thread(self.service.get_payment, payment_id)
        origin = await self._in_thread(self.service.event_origin, payment_id, payment.version)
        with driving_overdue(payment_id, origin.metadata if origin else {}):
            try:
                finished = await self.advance(payment_id)
            except AccountsUnavailable:
                finished = False
            if not finished:
                overdue = f"payment {payment_id} ({attempts + 1} overdue attempts)"
                self.overdue_outage.failed(RuntimeError(overdue))
        return finished

    async def _sweep(self, stop: asyncio.Event) -> None:
        """Drive payments past their deadline again; report those still unfinished."""
        async with await connect(self.conninfo) as conn:
            due = 0
            while not stop.is_set():
                await pause(stop, SWEEP_SECONDS)
                for payment_id, attempts in await pending.overdue(conn) if due else ():
                    self.status.overdue_driven += 1
                    if await self.drive_overdue(payment_id, attempts):
                        await pending.forget(conn, payment_id)
                    else:
                        await pending.postpone(conn, payment_id, min(60.0, 2.0**attempts))
                in_flight, self.status.overdue_now, due = await pending.counts(conn)
                saga_metrics.payments_pending(in_flight, self.status.overdue_now)
                if not self.status.overdue_now:
                    self.overdue_outage.recovered()
