"""One JetStream pull-consumer loop for every worker that follows a stream (the projectors
and the saga): fetch a batch, hand it to the worker, ack what it handled, hand back the rest.

A batch is split into groups (one by default) that are handled concurrently. A handler
answers None (every message of its group is acked) or a delay (each is nak'ed and comes
back after it: the worker will try again). A group whose handler raised (a lost
connection, or the run ending) is nak'ed at once, not after the ack wait; once every group
is done, the first such error ends the loop, and the caller runs it again on fresh
connections (eventstore.reconnect.keep_running). Each group is handled in a span that
continues the trace its messages carry (eventstore.message_spans.consuming).

`consume` handles a batch at a time (the projectors: one group, in order). `flow` (the
saga) has no batches: it fetches while groups are in flight, up to `max_in_flight`
messages held at once; the messages of one key are handled one group at a time, in
fetch order (those fetched meanwhile wait, and are handled together next), so a slow
key holds only its own messages.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from eventstore.contexts import Context
from eventstore.message_spans import consuming
from eventstore.stopping import pause

# The server holds a pull request this long when there is nothing to deliver; a NATS
# restart drops it, so it is also the longest a worker waits for its next batch then.
FETCH_WAIT_SECONDS = 5.0
PAUSED_CHECK_SECONDS = 1.0

# What became of a group of messages: None (handled: ack) or seconds before redelivery.
Handler = Callable[[list[Msg]], Awaitable[float | None]]


@dataclass(frozen=True)
class PullConsumer:
    """A durable pull consumer of one context's stream, taking every event in order."""

    durable: str
    source: Context
    batch_size: int
    ack_wait_seconds: float
    max_ack_pending: int

    async def subscribe(self, js: JetStreamContext) -> JetStreamContext.PullSubscription:
        """Create (or bind to) the durable consumer."""
        config = ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait_seconds,
            max_ack_pending=self.max_ack_pending,
        )
        return await js.pull_subscribe(
            f"{self.source.subject_prefix}.>",
            durable=self.durable,
            stream=self.source.stream,
            config=config,
        )

    async def consume(
        self,
        subscription: JetStreamContext.PullSubscription,
        handle: Handler,
        stop: asyncio.Event,
        *,
        group_by: Callable[[Msg], Hashable] | None = None,
        paused: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        """Fetch and handle batches until `stop` is set (or a handler raises); nothing is
        fetched while `paused` says so."""
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                if paused is not None and await paused():
                    await pause(stop, PAUSED_CHECK_SECONDS)
                    continue
                messages = await self.fetch(subscription, stopping)
                groups = grouped(messages, group_by)
                results = await asyncio.gather(
                    *(self.answer(group, handle) for group in groups), return_exceptions=True
                )
                failures = [result for result in results if isinstance(result, BaseException)]
                if failures:
                    raise failures[0]  # each failed group's messages were handed back
        finally:
            stopping.cancel()

    async def flow(
        self,
        subscription: JetStreamContext.PullSubscription,
        handle: Handler,
        stop: asyncio.Event,
        *,
        key: Callable[[Msg], Hashable],
        max_in_flight: int,
    ) -> None:
        """Fetch and handle continuously until `stop` is set (or a handler raises: the
        messages still waiting are handed back, those in flight finish, then the error
        ends the loop); never two groups of one key at once."""
        stopping = asyncio.ensure_future(stop.wait())
        try:
            async with asyncio.TaskGroup() as tasks:
                flow = _Flow(self, handle, key, tasks)
                while not stop.is_set() and flow.failure is None:
                    room = min(self.batch_size, max_in_flight - flow.held)
                    if room <= 0:
                        await flow.wait_for_room(stopping)
                    else:
                        flow.take(await self.fetch(subscription, stopping, room, flow.failed))
        finally:
            stopping.cancel()
        if flow.failure is not None:
            raise flow.failure  # each failed or waiting group's messages were handed back

    async def fetch(
        self,
        subscription: JetStreamContext.PullSubscription,
        stopping: asyncio.Future[Any],
        batch_size: int | None = None,
        failed: asyncio.Event | None = None,
    ) -> list[Msg]:
        """The next batch (of `batch_size`, else the consumer's): whatever is there, else
        the first messages to arrive within the wait (the server holds the pull request
        and answers as they come, so a long wait costs no latency); none when the wait
        ends or `stopping` (or `failed`) does."""
        fetching = asyncio.ensure_future(
            subscription.fetch(batch_size or self.batch_size, timeout=FETCH_WAIT_SECONDS)
        )
        interrupts: list[asyncio.Future[Any]] = [stopping]
        if failed is not None:
            interrupts.append(asyncio.ensure_future(failed.wait()))
        try:
            await asyncio.wait((fetching, *interrupts), return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            fetching.cancel()
            raise
        finally:
            for interrupt in interrupts[1:]:
                interrupt.cancel()
        if not fetching.done():  # stopping: what it was sent comes back after the ack wait
            fetching.cancel()
            await asyncio.wait((fetching,))
        if fetching.cancelled():
            return []
        try:
            return fetching.result()
        except (NatsTimeout, TimeoutError):
            return []

    async def answer(self, messages: list[Msg], handle: Handler) -> None:
        """Handle a group, then ack it, or hand it back: after the handler's delay, or at
        once when the handler raised."""
        try:
            headers = [message.headers or {} for message in messages]
            with consuming(headers, self.durable, self.source.stream) as span:
                delay = await handle(messages)
                if delay is not None:
                    span.set_attribute("paystream.redelivery_delay_seconds", delay)
        except BaseException:
            await nak_all(messages)
            raise
        if delay is not None:
            await nak_all(messages, delay)
            return
        for message in messages:
            await message.ack()


class _Flow:
    """The groups of `PullConsumer.flow` in flight: one task per key while it has
    messages, handling them a group at a time."""

    def __init__(
        self,
        consumer: PullConsumer,
        handle: Handler,
        key: Callable[[Msg], Hashable],
        tasks: asyncio.TaskGroup,
    ) -> None:
        self.consumer, self.handle, self.key, self.tasks = consumer, handle, key, tasks
        self.waiting: dict[Hashable, list[Msg]] = {}
        self.running: set[Hashable] = set()
        self.held = 0  # messages taken and not yet answered
        self.failure: Exception | None = None
        self.failed = asyncio.Event()
        self.freed = asyncio.Event()

    def take(self, messages: list[Msg]) -> None:
        for message in messages:
            key = self.key(message)
            self.waiting.setdefault(key, []).append(message)
            self.held += 1
            if key not in self.running:
                self.running.add(key)
                self.tasks.create_task(self.run(key))

    async def run(self, key: Hashable) -> None:
        """Handle the key's messages, those fetched meanwhile next, until none is left."""
        try:
            while group := self.waiting.pop(key, None):
                try:
                    if self.failure is None:
                        await self.consumer.answer(group, self.handle)
                    else:
                        await nak_all(group)
                except Exception as error:  # answer handed the group back
                    if self.failure is None:
                        self.failure = error
                        self.failed.set()
                finally:
                    self.held -= len(group)
                    self.freed.set()
        finally:
            self.running.discard(key)

    async def wait_for_room(self, stopping: asyncio.Future[Any]) -> None:
        self.freed.clear()
        freed = asyncio.ensure_future(self.freed.wait())
        try:
            await asyncio.wait((freed, stopping), return_when=asyncio.FIRST_COMPLETED)
        finally:
            freed.cancel()


def grouped(messages: list[Msg], group_by: Callable[[Msg], Hashable] | None) -> list[list[Msg]]:
    """The batch split by `group_by`, each group in fetch order; one group without it,
    none for an empty batch (a fetch may end with no message and no timeout error)."""
    if group_by is None:
        return [messages] if messages else []
    groups: defaultdict[Hashable, list[Msg]] = defaultdict(list)
    for message in messages:
        groups[group_by(message)].append(message)
    return list(groups.values())


async def nak_all(messages: Sequence[Msg], delay: float | None = None) -> None:
    """Hand in-flight messages back for redelivery; if NATS is gone too, they come
    back anyway once their ack wait is over."""
    with contextlib.suppress(Exception):
        for message in messages:
            await message.nak(delay=delay)
