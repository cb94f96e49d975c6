"""The projector runtime: runs any Projection from JetStream into PostgreSQL.

Per source context: a durable pull consumer; each fetched batch is applied in
ONE transaction together with the tracking row, committed, then acked. Events
at or below the tracked position are skipped (redelivery is a no-op); an event
beyond the next expected position means messages were missed, so the missing
range is read straight from the event store first.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import nats
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from psycopg import AsyncConnection, AsyncCursor
from psycopg.sql import SQL, Identifier

from eventstore.contexts import Context
from eventstore.envelope import EventEnvelope
from eventstore.reader import read_events
from projections.projection import TRACKING_TABLE, Projection

log = logging.getLogger("paystream.projector")

BATCH_SIZE = 256
FETCH_WAIT_SECONDS = 1.0
ACK_WAIT_SECONDS = 30.0
RETRY_DELAY_SECONDS = 1.0
REPAIR_PAGE = 1000


@dataclass
class ProjectorStatus:
    """Progress of one projector, for /readyz and status."""

    subscribed: set[str] = field(default_factory=set)
    positions: dict[str, int] = field(default_factory=dict)
    applied: int = 0
    skipped_duplicates: int = 0
    repaired: int = 0
    failures: int = 0


async def create_tables(conn: AsyncConnection[Any], projection: type[Projection]) -> None:
    """Create the read model's tables (idempotent), as the projector's role."""
    async with conn.transaction():
        for statement in projection.ddl():
            await conn.execute(statement)


async def tracked_position(cursor: AsyncCursor[Any], projection: Projection, source: str) -> int:
    """The last position of `source` applied to the read model (0 if none); locks the row."""
    query = SQL("SELECT position FROM {}.{} WHERE source = %s FOR UPDATE").format(
        Identifier(projection.schema()), Identifier(TRACKING_TABLE)
    )
    await cursor.execute(query, (source,))
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def record_position(
    cursor: AsyncCursor[Any], projection: Projection, source: str, position: int
) -> None:
    query = SQL(
        "INSERT INTO {}.{} (source, position, updated_at) VALUES (%s, %s, now())"
        " ON CONFLICT (source) DO UPDATE SET position = EXCLUDED.position, updated_at = now()"
    ).format(Identifier(projection.schema()), Identifier(TRACKING_TABLE))
    await cursor.execute(query, (source, position))


class Projector:
    """Runs one projection: one task per source context."""

    def __init__(self, projection: Projection, conninfo: str, nats_url: str) -> None:
        self.projection = projection
        self.conninfo = conninfo
        self.nats_url = nats_url
        self.status = ProjectorStatus()

    async def run(self, stop: asyncio.Event) -> None:
        nc = await nats.connect(self.nats_url, max_reconnect_attempts=-1)
        try:
            async with await AsyncConnection.connect(self.conninfo) as conn:
                await create_tables(conn, type(self.projection))
            js = nc.jetstream()
            await asyncio.gather(
                *(self._follow(js, source, stop) for source in self.projection.sources)
            )
        finally:
            await nc.close()

    async def _follow(self, js: JetStreamContext, source: Context, stop: asyncio.Event) -> None:
        config = ConsumerConfig(
            durable_name=self.projection.consumer_name(),
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=ACK_WAIT_SECONDS,
            max_ack_pending=BATCH_SIZE * 4,
        )
        subscription = await js.pull_subscribe(
            f"{source.subject_prefix}.>",
            durable=self.projection.consumer_name(),
            stream=source.stream,
            config=config,
        )
        self.status.subscribed.add(source.name)
        async with await AsyncConnection.connect(self.conninfo) as conn:
            while not stop.is_set():
                try:
                    messages = await subscription.fetch(BATCH_SIZE, timeout=FETCH_WAIT_SECONDS)
                except NatsTimeout:
                    continue
                envelopes = [EventEnvelope.from_headers(m.headers or {}, m.data) for m in messages]
                try:
                    await self.apply_batch(conn, source, envelopes)
                except Exception:
                    self.status.failures += 1
                    log.exception(
                        "projection %s: batch failed; it will be redelivered", self.projection.name
                    )
                    for message in messages:
                        await message.nak(delay=RETRY_DELAY_SECONDS)
                    continue
                for message in messages:
                    await message.ack()

    async def apply_batch(
        self, conn: AsyncConnection[Any], source: Context, envelopes: list[EventEnvelope]
    ) -> None:
        """Apply a batch and move the tracking row, all in one transaction."""
        async with conn.transaction(), conn.cursor() as cursor:
            position = await tracked_position(cursor, self.projection, source.name)
            start = position
            for envelope in envelopes:
                if envelope.position <= position:
                    self.status.skipped_duplicates += 1
                    continue
                if envelope.position > position + 1:
                    position = await self._repair(conn, cursor, source, position, envelope.position)
                await self.projection.apply(cursor, envelope)
                self.status.applied += 1
                position = envelope.position
            if position != start:
                await record_position(cursor, self.projection, source.name, position)
        self.status.positions[source.name] = position

    async def _repair(
        self,
        conn: AsyncConnection[Any],
        cursor: AsyncCursor[Any],
        source: Context,
        after: int,
        before: int,
    ) -> int:
        """Apply events in (after, before) straight from the event store; rolled-back
        sequence numbers leave harmless holes, so finding nothing is normal."""
        position = after
        while True:
            missed = await read_events(conn, source, position, before=before, limit=REPAIR_PAGE)
            for envelope in missed:
                await self.projection.apply(cursor, envelope)
                self.status.repaired += 1
                position = envelope.position
            if len(missed) < REPAIR_PAGE:
                return position
