"""A group of projections in one projector process (as Marten's async daemon hosts many).

Per source context the group has ONE durable pull consumer; each fetched batch is applied
to every member projection of that source in ONE transaction, each member inside a
savepoint of its own (its bucket locks, its active build, its events, its one tracking
row: exactly what a single Projector does per batch), committed, then acked once. A
member whose handler fails has only its savepoint rolled back: the others commit. The
failing member then goes down the single projector's path on its own (the events before
the failing one applied, attempts counted, a dead letter and a halt after the last) and
the batch is handed back after the backoff, which the others skip as duplicates. A
halted member is left out of batches; once resumed, and at every start, it catches up
from the event store (the gap repair of the single projector), so the group's consumer
may run ahead of any member.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from psycopg import AsyncConnection

from eventstore.contexts import Context
from eventstore.envelope import EventEnvelope
from eventstore.log_context import handling_event
from eventstore.pull_consumer import PullConsumer
from eventstore.reader import read_events
from eventstore.reconnect import connect, connect_nats
from projections.pipelined import apply_pipelined
from projections.projection import Projection
from projections.runtime import (
    ACK_WAIT_SECONDS,
    BATCH_SIZE,
    MAX_ATTEMPTS,
    REPAIR_PAGE,
    HandlerFailed,
    Projector,
    ProjectorStatus,
)
from projections.tracking import WHOLE, Partition, bucket_positions
from projections.versions import active_build

log = logging.getLogger("paystream.projector")

# The login role of group processes: a member of every projection's role.
GROUP_ROLE = "paystream_projectors"


def group_consumer_name(projections: list[Projection], partition: Partition = WHOLE) -> str:
    """The durable consumer a group shares (any order of the same members names it)."""
    return "group_" + "_".join(sorted(p.name for p in projections)) + partition.suffix


class ProjectorGroup:
    """Runs several projections: one consumer per source, one transaction per batch."""

    def __init__(
        self,
        members: list[Projector],
        conninfo: str,
        nats_url: str,
        partition: Partition = WHOLE,
    ) -> None:
        self.members = members
        self.conninfo = conninfo  # the group role's: batches of every member
        self.nats_url = nats_url
        self.consumer = group_consumer_name([m.projection for m in members], partition)
        self.sources = list(dict.fromkeys(s for m in members for s in m.projection.sources))
        self.nats: NatsClient | None = None

    @classmethod
    def of(
        cls,
        projections: list[Projection],
        conninfos: dict[str, str],
        nats_url: str,
        max_attempts: int = MAX_ATTEMPTS,
        partition: Partition = WHOLE,
    ) -> ProjectorGroup:
        """A group of `projections`; `conninfos` by role (each member's own, for installs
        and rebuilds, and GROUP_ROLE's, for batches)."""
        members = [
            Projector(p, conninfos[p.role()], nats_url, max_attempts, partition)
            for p in projections
        ]
        return cls(members, conninfos[GROUP_ROLE], nats_url, partition)

    @property
    def status(self) -> dict[str, ProjectorStatus]:
        return {m.projection.name: m.status for m in self.members}

    def subscribed(self) -> set[str]:
        """The sources followed for every member of theirs."""
        return {
            source.name
            for source in self.sources
            if all(source.name in m.status.subscribed for m in self._of(source))
        }

    async def run(self, stop: asyncio.Event) -> None:
        """Follow every source until `stop` is set (as Projector.run)."""
        self.nats = nc = await connect_nats(self.nats_url, f"projector {self.consumer}", log)
        try:
            for member in self.members:
                await member.prepare()
            js = nc.jetstream()
            async with asyncio.TaskGroup() as tasks:
                for source in self.sources:
                    tasks.create_task(self._follow(js, source, stop))
        finally:
            for member in self.members:
                member.status.subscribed.clear()
            await nc.close()

    def _of(self, source: Context) -> list[Projector]:
        return [m for m in self.members if source in m.projection.sources]

    async def _follow(self, js: JetStreamContext, source: Context, stop: asyncio.Event) -> None:
        members = self._of(source)
        consumer = PullConsumer(
            self.consumer, source, BATCH_SIZE, ACK_WAIT_SECONDS, max_ack_pending=BATCH_SIZE * 4
        )
        subscription = await consumer.subscribe(js)
        async with await connect(self.conninfo) as conn:
            for member in members:
                await member._load_skipped(conn)
                if not member.status.halted:
                    await self._catch_up(conn, member, source)
                member.status.subscribed.add(source.name)

            async def handle(messages: list[Msg]) -> float | None:
                return await self._handle(conn, source, members, messages)

            async def halted() -> bool:
                return await self._all_halted(conn, members)

            await consumer.consume(subscription, handle, stop, paused=halted)

    async def _handle(
        self,
        conn: AsyncConnection[Any],
        source: Context,
        members: list[Projector],
        messages: list[Msg],
    ) -> float | None:
        """Apply a batch to every running member; the delay before the batch comes back
        when a member's handler failed (the others skip it then)."""
        envelopes = [EventEnvelope.from_headers(m.headers or {}, m.data) for m in messages]
        running = [m for m in members if not m.status.halted]
        for member in running:
            member.metrics.received(source.name, messages)
        try:
            failed = await self._apply_to_all(conn, source, running, envelopes)
        except BaseException:
            for member in running:
                member.status.failures += 1
            raise
        delays = []
        for member, failure in failed:
            with handling_event(failure.envelope.metadata()):
                delays.append(await member._on_failure(conn, source, envelopes, failure))
        pending = messages[-1].metadata.num_pending
        for member in running:
            if member not in (f[0] for f in failed):
                position = member.status.positions[source.name]
                member.metrics.applied(source.name, position, envelopes[-1], pending)
        return max(delays) if delays else None

    async def _apply_to_all(
        self,
        conn: AsyncConnection[Any],
        source: Context,
        members: list[Projector],
        envelopes: list[EventEnvelope],
    ) -> list[tuple[Projector, HandlerFailed]]:
        """One transaction, a savepoint per member, pipelined (projections.pipelined);
        the members whose handler failed."""

        async def attempt(
            pipelined: bool, check_at_once: bool
        ) -> list[tuple[Projector, HandlerFailed]]:
            return await self._one_transaction(
                conn, source, members, envelopes, pipelined, check_at_once
            )

        return await apply_pipelined(conn, attempt)

    async def _one_transaction(
        self,
        conn: AsyncConnection[Any],
        source: Context,
        members: list[Projector],
        envelopes: list[EventEnvelope],
        pipelined: bool,
        check_at_once: bool,
    ) -> list[tuple[Projector, HandlerFailed]]:
        """Pipelined, a failure ends the whole transaction: it may be another member's."""
        failed: list[tuple[Projector, HandlerFailed]] = []
        async with conn.transaction():
            for member in members:
                try:
                    with member.metrics.applying(source.name):
                        # nested in the group's transaction: a savepoint, unless pipelined
                        # (where any failure ends the whole transaction anyway)
                        await member._apply_in_one_transaction(
                            conn, source, envelopes, check_at_once, savepoint=not pipelined
                        )
                except HandlerFailed as failure:
                    if pipelined:
                        raise
                    failed.append((member, failure))
        return failed

    async def _all_halted(self, conn: AsyncConnection[Any], members: list[Projector]) -> bool:
        """Whether to stop fetching: every member halted. A member resumed by an operator
        catches up from the event store at once, on each of its sources (the group's
        consumers of all of them went on without it)."""
        for member in members:
            if member.status.halted and not await member._halted(conn):
                for each in member.projection.sources:
                    await self._catch_up(conn, member, each)
        return all(m.status.halted for m in members)

    async def _catch_up(
        self, conn: AsyncConnection[Any], member: Projector, source: Context
    ) -> None:
        """Apply what `member` lacks of `source`, read from the event store (the group's
        consumer may be ahead of it: it was halted, or joined the group later)."""
        while True:
            position = await self._reached(conn, member, source)
            missed = await read_events(conn, source, position, limit=REPAIR_PAGE)
            if missed:
                try:
                    await member.apply_batch(conn, source, missed)
                except HandlerFailed as failure:
                    with handling_event(failure.envelope.metadata()):
                        await member._on_failure(conn, source, missed, failure)
                    return  # tried again with the next batch of the group
            if len(missed) < REPAIR_PAGE:
                return

    async def _reached(self, conn: AsyncConnection[Any], member: Projector, source: Context) -> int:
        projection = type(member.projection)
        async with conn.transaction(), conn.cursor() as cursor:
            active = await active_build(cursor, projection)
            if active is not None:
                member.projection.use_schema(active[0])
            buckets = member.partition.buckets
            reached = await bucket_positions(cursor, member.projection, source.name, buckets)
        return min(reached.values())
