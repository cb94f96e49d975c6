"""The relay: publishes every stored event of one context to JetStream, in order, once.

It wakes on LISTEN/NOTIFY, always catches up by reading the table, and resumes
from the last message of its stream (the stream is its own checkpoint). Each
message carries `Nats-Msg-Id: <context>:<position>` and, pipelined, the id of
the message before it as `Nats-Expected-Last-Msg-Id`: the server refuses a
message whose predecessor is missing, so a failed publish can never leave a hole.
A PostgreSQL advisory lock lets only one relay per context publish.

When idle it checks every few seconds that the stream still ends at the position it
published last (`_check_tail`): a tail lost by a server crash, or a stream deleted and
re-created, is republished from PostgreSQL without waiting for new traffic.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from contextlib import AsyncExitStack
from dataclasses import dataclass

from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import PubAck
from nats.js.errors import NotFoundError
from psycopg import AsyncConnection
from psycopg.sql import SQL, Identifier

from eventstore.contexts import Context
from eventstore.envelope import H_EXPECTED_LAST_MSG_ID, H_POSITION, EventEnvelope
from eventstore.message_spans import publish_traced
from eventstore.notifications import wait_for_notification
from eventstore.reader import max_position, read_events
from eventstore.reconnect import connect, connect_nats
from eventstore.relay_metrics import RelayMetrics
from eventstore.stopping import pause
from eventstore.streams import ensure_stream

log = logging.getLogger("paystream.relay")

BATCH_SIZE = 500
TAIL_CHECK_SECONDS = 2.0
# NOTIFY wakes the relay for new events; the timer only drives the tail check (and is a
# safety net should a notification ever be missed).
IDLE_WAKE_SECONDS = TAIL_CHECK_SECONDS
LOCK_RETRY_SECONDS = 1.0
PUBLISH_ACK_SECONDS = 10.0
ACK_CHECK_SECONDS = 0.2
# JetStream API requests (stream info, last message) answer in milliseconds; while a
# stream elects its leader they get no answer, and nats-py's default 5 s wait only
# delays the retry after the election.
JS_API_SECONDS = 2.0


def advisory_lock_key(context: Context) -> int:
    """A stable 32-bit key per context for pg_advisory_lock."""
    return zlib.crc32(f"paystream-relay:{context.name}".encode())


async def last_published_position(js: JetStreamContext, context: Context) -> int:
    """The position in the header of the stream's last message (0 for an empty stream).

    Asked by subject, not by the stream's last sequence, which stays put when the
    messages at the end are deleted."""
    try:
        message = await js.get_msg(context.stream, subject=f"{context.subject_prefix}.>")
    except NotFoundError:
        return 0
    return int((message.headers or {})[H_POSITION])


@dataclass
class RelayStatus:
    """What the relay has done, for /readyz and status."""

    connected: bool = False
    holds_lock: bool = False
    published_position: int = 0
    published_count: int = 0
    tail_resyncs: int = 0  # idle checks that found the stream not ending where it published


class Relay:
    """One context's relay."""

    def __init__(self, context: Context, conninfo: str, nats_url: str) -> None:
        self.context = context
        self.conninfo = conninfo
        self.nats_url = nats_url
        self.status = RelayStatus()
        self.metrics = RelayMetrics(context.name)
        self.nats: NatsClient | None = None
        self._reported_tail: tuple[int, int] | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until `stop` is set; a lost connection ends the run (the caller runs
        it again with fresh connections, and the catch-up read finds what was missed)."""
        async with AsyncExitStack() as resources:
            listen = await resources.enter_async_context(await connect(self.conninfo))
            reader = await resources.enter_async_context(await connect(self.conninfo))
            self.nats = nc = await connect_nats(self.nats_url, f"relay {self.context.name}", log)
            resources.push_async_callback(nc.close)
            resources.callback(self._disconnected)
            self.status.connected = True
            if not await self._acquire_lock(listen, stop):
                return
            channel = Identifier(self.context.events_table.replace(".", "_"))
            await listen.execute(SQL("LISTEN {}").format(channel))
            js = nc.jetstream(timeout=JS_API_SECONDS)
            await ensure_stream(js, self.context)
            await self._publish_until(stop, listen, reader, js)

    def _disconnected(self) -> None:
        self.status.connected = False
        self.status.holds_lock = False  # a session lock dies with its connection

    async def _acquire_lock(self, conn: AsyncConnection[object], stop: asyncio.Event) -> bool:
        key = advisory_lock_key(self.context)
        while not stop.is_set():
            cursor = await conn.execute("SELECT pg_try_advisory_lock(%s)", (key,))
            row = await cursor.fetchone()
            if row and row[0]:  # type: ignore[index]
                self.status.holds_lock = True
                log.info("relay %s holds the publishing lock", self.context.name)
                return True
            await pause(stop, LOCK_RETRY_SECONDS)
        return False

    async def _publish_until(
        self,
        stop: asyncio.Event,
        listen: AsyncConnection[object],
        reader: AsyncConnection[object],
        js: JetStreamContext,
    ) -> None:
        position = await last_published_position(js, self.context)
        self.status.published_position = position
        self.metrics.at(position, await max_position(reader, self.context))
        tail_check_due = time.monotonic() + TAIL_CHECK_SECONDS
        chain_first = True
        while not stop.is_set():
            batch = await read_events(reader, self.context, position, limit=BATCH_SIZE)
            if batch:
                # A short batch ends the log; after a full one, ask where the log ends.
                full = len(batch) == BATCH_SIZE
                stored = await max_position(reader, self.context) if full else batch[-1].position
                position = await self._publish(js, batch, position, stored, chain_first)
                chain_first = True
                continue
            self.metrics.at(position)
            if time.monotonic() >= tail_check_due:
                resumed = await self._check_tail(js, reader, position)
                # Behind: the end was just read, so the first republished message needs
                # no expectation, which the server could not meet if the messages at the
                # end were deleted rather than lost (it keeps their id as its last).
                chain_first = resumed >= position
                position = resumed
                tail_check_due = time.monotonic() + TAIL_CHECK_SECONDS
                continue
            await wait_for_notification(listen, stop, IDLE_WAKE_SECONDS)

    async def _check_tail(
        self, js: JetStreamContext, reader: AsyncConnection[object], position: int
    ) -> int:
        """Where to continue from: the stream's real end, when it is not `position`.

        Behind (tail lost in a crash, stream re-created, messages deleted): the caller
        republishes the missing events from PostgreSQL, the first without expecting
        the id of the message the stream ends with, the rest chained as always.
        Ahead (another relay published meanwhile): its messages are chained and in
        order, so they are adopted rather than published twice."""
        actual = await last_published_position(js, self.context)
        if actual == position:
            self._reported_tail = None
            return position
        self.status.tail_resyncs += 1
        self.status.published_position = actual
        self.metrics.resynced("tail-moved")
        self.metrics.at(actual)
        if self._reported_tail != (actual, position):  # a mismatch that repeats is logged once
            self._reported_tail = (actual, position)
            await self._report_tail(reader, actual, position)
        return actual

    async def _report_tail(
        self, reader: AsyncConnection[object], actual: int, position: int
    ) -> None:
        name, stream = self.context.name, self.context.stream
        if actual < position:
            log.warning(
                "relay %s: stream %s ends at position %d, not %d (tail lost or stream"
                " re-created); republishing from PostgreSQL",
                name,
                stream,
                actual,
                position,
            )
            return
        stored = await max_position(reader, self.context)
        if actual > stored:
            log.error(
                "relay %s: stream %s ends at position %d, beyond the store's last (%d):"
                " the stream does not belong to this database",
                name,
                stream,
                actual,
                stored,
            )
            return
        log.warning(
            "relay %s: stream %s ends at position %d, beyond %d: another relay published;"
            " continuing after it",
            name,
            stream,
            actual,
            position,
        )

    async def _acks(self, futures: list[asyncio.Future[PubAck]]) -> list[BaseException | None]:
        """Wait for the server's acknowledgements (each an error or None). One lost with
        a disconnection never comes (nats-py's futures wait for ever): then give up on
        all, so the run starts again with a fresh client from the stream's last message."""
        assert self.nats is not None
        reconnects = self.nats.stats["reconnects"]
        deadline = asyncio.get_running_loop().time() + PUBLISH_ACK_SECONDS
        waiting: set[asyncio.Future[PubAck]] = set(futures)
        while waiting:
            _, waiting = await asyncio.wait(waiting, timeout=ACK_CHECK_SECONDS)
            lost = self.nats.stats["reconnects"] != reconnects or not self.nats.is_connected
            if waiting and (lost or asyncio.get_running_loop().time() > deadline):
                for future in waiting:
                    future.cancel()
                self.metrics.failed(len(waiting))
                raise ConnectionError(f"{len(waiting)} publishes were never acknowledged")
        return [future.exception() for future in futures]

    async def _publish(
        self,
        js: JetStreamContext,
        batch: list[EventEnvelope],
        position: int,
        stored: int,
        chain_first: bool = True,
    ) -> int:
        """Publish a batch pipelined (the log ends at `stored`); on any failure resume from
        the stream's last message. Each message expects its predecessor's id, the first
        one only if `chain_first`."""
        futures = []
        previous = position if chain_first else 0
        for envelope in batch:
            headers = envelope.headers(self.context)
            if previous:
                headers[H_EXPECTED_LAST_MSG_ID] = self.context.msg_id(previous)
            futures.append(
                await publish_traced(
                    js.publish_async,
                    self.context.subject(envelope.event_type),
                    envelope.body,
                    headers,
                )
            )
            previous = envelope.position
        failures = [error for error in await self._acks(futures) if error is not None]
        if failures:
            log.warning(
                "relay %s: %d publishes failed (%s); resyncing",
                self.context.name,
                len(failures),
                failures[0],
            )
            self.metrics.failed(len(failures))
            self.metrics.resynced("publish-failed")
            resumed = await last_published_position(js, self.context)
            self.status.published_position = resumed
            self.metrics.at(resumed, stored)
            return resumed
        self.status.published_position = batch[-1].position
        self.status.published_count += len(batch)
        self.metrics.published(batch, stored)
        return batch[-1].position
