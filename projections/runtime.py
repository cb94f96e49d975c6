"""The projector runtime: runs any Projection from JetStream into PostgreSQL.

Per source context: a durable pull consumer; each fetched batch is applied in
ONE transaction together with the worker's tracking row (its partition's buckets
have applied everything up to a position; see projections.tracking), committed, then
acked. Events at or below the tracked
position are skipped (redelivery is a no-op); an event
beyond the next expected position means messages were missed, so the missing
range is read straight from the event store first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from psycopg import AsyncConnection, AsyncCursor

from eventstore.contexts import Context
from eventstore.envelope import EventEnvelope
from eventstore.log_context import handling_event
from eventstore.pull_consumer import PullConsumer
from eventstore.reader import read_events
from eventstore.reconnect import connect, connect_nats, is_connection_lost
from projections import dead_letters
from projections.pipelined import apply_pipelined
from projections.projection import Projection
from projections.projector_metrics import ProjectorMetrics
from projections.rebuild import rebuild
from projections.tracking import (
    WHOLE,
    Partition,
    bucket_of,
    bucket_positions,
    lock_buckets,
    record_scanned,
)
from projections.versions import active_build_positions, install, lock_key

log = logging.getLogger("paystream.projector")

BATCH_SIZE = 256
ACK_WAIT_SECONDS = 30.0
RETRY_DELAY_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 8.0
MAX_ATTEMPTS = 5
REPAIR_PAGE = 1000


class HandlerFailed(Exception):
    """A read model's handler failed on one event (the batch was rolled back)."""

    def __init__(self, envelope: EventEnvelope, error: Exception) -> None:
        super().__init__(f"{envelope.event_type} at {envelope.context}:{envelope.position}")
        self.envelope = envelope
        self.error = error


@dataclass
class ProjectorStatus:
    """Progress of one projector, for /readyz and status."""

    subscribed: set[str] = field(default_factory=set)
    positions: dict[str, int] = field(default_factory=dict)
    applied: int = 0
    skipped_duplicates: int = 0
    repaired: int = 0
    failures: int = 0
    building: bool = True
    halted: bool = False


class Projector:
    """Runs one projection: one task per source context."""

    def __init__(
        self,
        projection: Projection,
        conninfo: str,
        nats_url: str,
        max_attempts: int = MAX_ATTEMPTS,
        partition: Partition = WHOLE,
    ) -> None:
        self.max_attempts = max_attempts
        self.partition = partition
        self.consumer = projection.consumer_name() + partition.suffix
        self.projection = projection
        self.conninfo = conninfo
        self.nats_url = nats_url
        self.status = ProjectorStatus()
        self.metrics = ProjectorMetrics(projection.name, lambda: self.status.halted)
        self.nats: NatsClient | None = None
        self._attempts: dict[tuple[str, int], int] = {}
        self._skipped: set[tuple[str, int]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Follow every source until `stop` is set; a lost connection ends the run (the
        caller runs it again with fresh connections; unacked batches come back)."""
        self.nats = nc = await connect_nats(self.nats_url, f"projector {self.consumer}", log)
        try:
            await self.prepare()
            js = nc.jetstream()
            async with asyncio.TaskGroup() as group:
                for source in self.projection.sources:
                    group.create_task(self._follow(js, source, stop))
        finally:
            self.status.subscribed.clear()
            await nc.close()

    async def prepare(self) -> None:
        """Install the read model if new; rebuild it first when the active build is of an
        older version of this projection (a new shape catches up by itself)."""
        projection = type(self.projection)
        async with await connect(self.conninfo) as conn:
            _, version = await install(conn, projection)
        if version < projection.version:
            log.info(
                "projection %s: active build is v%d; building v%d",
                projection.name,
                version,
                projection.version,
            )
            await rebuild(projection, self.conninfo)
        self.status.building = False

    async def _follow(self, js: JetStreamContext, source: Context, stop: asyncio.Event) -> None:
        consumer = PullConsumer(
            self.consumer, source, BATCH_SIZE, ACK_WAIT_SECONDS, max_ack_pending=BATCH_SIZE * 4
        )
        subscription = await consumer.subscribe(js)
        async with await connect(self.conninfo) as conn:
            await self._load_skipped(conn)
            self.status.subscribed.add(source.name)

            async def handle(messages: list[Msg]) -> float | None:
                return await self._handle(conn, source, messages)

            async def halted() -> bool:
                return await self._halted(conn)

            await consumer.consume(subscription, handle, stop, paused=halted)

    async def _handle(
        self, conn: AsyncConnection[Any], source: Context, messages: list[Msg]
    ) -> float | None:
        """Apply a batch; when a handler failed, the delay before the batch comes back."""
        envelopes = [EventEnvelope.from_headers(m.headers or {}, m.data) for m in messages]
        self.metrics.received(source.name, messages)
        try:
            with self.metrics.applying(source.name):
                await self.apply_batch(conn, source, envelopes)
        except HandlerFailed as failure:
            with handling_event(failure.envelope.metadata()):
                return await self._on_failure(conn, source, envelopes, failure)
        except BaseException:
            # Not the read model's fault (a lost connection, most likely, or the run
            # ending because another source's loop failed): the batch is handed back at
            # once, not after the ack wait, and the run starts again afresh.
            self.status.failures += 1
            raise
        pending = messages[-1].metadata.num_pending
        position = self.status.positions[source.name]
        self.metrics.applied(source.name, position, envelopes[-1], pending)
        return None

    async def _on_failure(
        self,
        conn: AsyncConnection[Any],
        source: Context,
        envelopes: list[EventEnvelope],
        failure: HandlerFailed,
    ) -> float:
        """Keep what came before the failing event, count its attempt, and after the
        last one dead-letter it and halt. Returns the delay before redelivery."""
        self.status.failures += 1
        failed = failure.envelope
        before = [e for e in envelopes if e.position < failed.position]
        if before:
            await self.apply_batch(conn, source, before)
        key = (failed.context, failed.position)
        self._attempts[key] = attempts = self._attempts.get(key, 0) + 1
        log.warning(
            "projection %s: %s at %s failed (attempt %d): %s",
            self.projection.name,
            failed.event_type,
            key,
            attempts,
            failure.error,
        )
        if attempts >= self.max_attempts:
            error = f"{type(failure.error).__name__}: {failure.error}"
            await dead_letters.record(conn, type(self.projection), failed, error, attempts)
            self.metrics.dead_lettered()
            self._attempts.pop(key, None)
            self.status.halted = True
            log.error("projection %s halted: dead letter at %s", self.projection.name, key)
        return float(min(MAX_BACKOFF_SECONDS, RETRY_DELAY_SECONDS * 2 ** (attempts - 1)))

    async def _halted(self, conn: AsyncConnection[Any]) -> bool:
        """Halted while any dead letter is open; resuming reloads the skipped events."""
        if not self.status.halted:
            return False
        if await dead_letters.letters(conn, type(self.projection), status="open"):
            return True
        await self._load_skipped(conn)
        self.status.halted = False
        log.info("projection %s resumes", self.projection.name)
        return False

    async def _load_skipped(self, conn: AsyncConnection[Any]) -> None:
        projection = type(self.projection)
        self._skipped = await dead_letters.skipped(conn, projection)
        self.status.halted = bool(await dead_letters.letters(conn, projection, status="open"))

    async def apply_batch(
        self, conn: AsyncConnection[Any], source: Context, envelopes: list[EventEnvelope]
    ) -> None:
        """Apply a batch and move the tracking rows, all in one transaction, pipelined
        (projections.pipelined); a failure names its event (gap repairs' events
        included)."""

        async def attempt(_pipelined: bool, check_at_once: bool) -> None:
            await self._apply_in_one_transaction(conn, source, envelopes, check_at_once)

        await apply_pipelined(conn, attempt)

    async def _apply_in_one_transaction(
        self,
        conn: AsyncConnection[Any],
        source: Context,
        envelopes: list[EventEnvelope],
        check_at_once: bool = False,
        savepoint: bool = True,
    ) -> None:
        """In a transaction of its own, or in the caller's (nested: a savepoint, unless
        `savepoint` is False, where a failure must end the caller's transaction)."""
        transaction = conn.transaction() if savepoint else contextlib.nullcontext()
        async with transaction, conn.cursor() as cursor:
            buckets, projection = self.partition.buckets, type(self.projection)
            await lock_buckets(cursor, self.projection, source.name, buckets, lock_key(projection))
            if check_at_once:
                await cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            found = await active_build_positions(cursor, projection, source.name, buckets)
            if found is not None:
                self.projection.use_schema(found[0][0])
                reached = found[1]
            else:
                reached = await bucket_positions(cursor, self.projection, source.name, buckets)
            scanned = start = min(reached.values())
            for envelope in envelopes:
                if envelope.position <= scanned:
                    self.status.skipped_duplicates += 1
                    continue
                if envelope.position > scanned + 1:
                    await self._repair(conn, cursor, source, reached, scanned, envelope.position)
                await self._apply_owned(cursor, envelope, reached)
                scanned = envelope.position
            if scanned != start:
                await record_scanned(
                    cursor, self.projection, source.name, self.partition, scanned, announce=True
                )
        self.status.positions[source.name] = scanned

    async def _apply_owned(
        self, cursor: AsyncCursor[Any], envelope: EventEnvelope, reached: dict[int, int]
    ) -> bool:
        """Apply an event of this partition's buckets that its bucket has not seen yet."""
        bucket = bucket_of(envelope.aggregate_id)
        if bucket not in reached or envelope.position <= reached[bucket]:
            return False
        await self._apply(cursor, envelope)
        self.status.applied += 1
        self.metrics.event_applied(envelope.context)
        return True

    async def _apply(self, cursor: AsyncCursor[Any], envelope: EventEnvelope) -> None:
        """Apply one event, unless an operator skipped it; name it when its handler fails."""
        if (envelope.context, envelope.position) in self._skipped:
            return
        try:
            with handling_event(envelope.metadata()):
                await self.projection.apply(cursor, envelope)
        except Exception as error:
            if is_connection_lost(error):
                raise  # not the event's fault: never counted towards a dead letter
            raise HandlerFailed(envelope, error) from error

    async def _repair(
        self,
        conn: AsyncConnection[Any],
        cursor: AsyncCursor[Any],
        source: Context,
        reached: dict[int, int],
        after: int,
        before: int,
    ) -> None:
        """Apply events in (after, before) straight from the event store; rolled-back
        sequence numbers leave harmless holes, so finding nothing is normal."""
        position = after
        while True:
            missed = await read_events(conn, source, position, before=before, limit=REPAIR_PAGE)
            for envelope in missed:
                if await self._apply_owned(cursor, envelope, reached):
                    self.status.repaired += 1
                    self.metrics.event_repaired(source.name)
                position = envelope.position
            if len(missed) < REPAIR_PAGE:
                return
