"""The relay: publishes every stored event of one context to JetStream, in order, once.

It wakes on LISTEN/NOTIFY, always catches up by reading the table, and resumes
from the last message of its stream (the stream is its own checkpoint). Each
message carries `Nats-Msg-Id: <context>:<position>` and, pipelined, the id of
the message before it as `Nats-Expected-Last-Msg-Id`: the server refuses a
message whose predecessor is missing, so a failed publish can never leave a hole.
A PostgreSQL advisory lock lets only one relay per context publish.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from contextlib import AsyncExitStack
from dataclasses import dataclass

from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import PubAck
from psycopg import AsyncConnection
from psycopg.sql import SQL, Identifier

from eventstore.contexts import Context
from eventstore.envelope import H_EXPECTED_LAST_MSG_ID, H_POSITION, EventEnvelope
from eventstore.reader import read_events
from eventstore.reconnect import connect, connect_nats
from eventstore.stopping import pause
from eventstore.streams import ensure_stream

log = logging.getLogger("paystream.relay")

BATCH_SIZE = 500
IDLE_WAKE_SECONDS = 1.0
LOCK_RETRY_SECONDS = 1.0
PUBLISH_ACK_SECONDS = 10.0
ACK_CHECK_SECONDS = 0.2


def advisory_lock_key(context: Context) -> int:
    """A stable 32-bit key per context for pg_advisory_lock."""
    return zlib.crc32(f"paystream-relay:{context.name}".encode())


async def last_published_position(js: JetStreamContext, context: Context) -> int:
    """The position in the header of the stream's last message (0 for an empty stream)."""
    info = await js.stream_info(context.stream)
    if not info.state.last_seq:
        return 0
    message = await js.get_msg(context.stream, seq=info.state.last_seq)
    return int((message.headers or {})[H_POSITION])


@dataclass
class RelayStatus:
    """What the relay has done, for /readyz and status."""

    connected: bool = False
    holds_lock: bool = False
    published_position: int = 0
    published_count: int = 0


class Relay:
    """One context's relay."""

    def __init__(self, context: Context, conninfo: str, nats_url: str) -> None:
        self.context = context
        self.conninfo = conninfo
        self.nats_url = nats_url
        self.status = RelayStatus()
        self.nats: NatsClient | None = None

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
            js = nc.jetstream()
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
        while not stop.is_set():
            batch = await read_events(reader, self.context, position, limit=BATCH_SIZE)
            if batch:
                position = await self._publish(js, batch, position)
                continue
            async for _ in listen.notifies(timeout=IDLE_WAKE_SECONDS, stop_after=1):
                pass

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
                raise ConnectionError(f"{len(waiting)} publishes were never acknowledged")
        return [future.exception() for future in futures]

    async def _publish(
        self, js: JetStreamContext, batch: list[EventEnvelope], position: int
    ) -> int:
        """Publish a batch pipelined; on any failure resume from the stream's last message."""
        futures = []
        previous = position
        for envelope in batch:
            headers = envelope.headers(self.context)
            if previous:
                headers[H_EXPECTED_LAST_MSG_ID] = self.context.msg_id(previous)
            futures.append(
                await js.publish_async(
                    self.context.subject(envelope.event_type), envelope.body, headers=headers
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
            resumed = await last_published_position(js, self.context)
            self.status.published_position = resumed
            return resumed
        self.status.published_position = batch[-1].position
        self.status.published_count += len(batch)
        return batch[-1].position
