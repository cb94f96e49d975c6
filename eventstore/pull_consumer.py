"""One JetStream pull-consumer loop for every worker that follows a stream (the projectors
and the saga): fetch a batch, hand it to the worker, ack what it handled, hand back the rest.

A batch is split into groups (one by default) that are handled concurrently. A handler
answers None (every message of its group is acked) or a delay (each is nak'ed and comes
back after it: the worker will try again). A group whose handler raised (a lost
connection, or the run ending) is nak'ed at once, not after the ack wait; once every group
is done, the first such error ends the loop, and the caller runs it again on fresh
connections (eventstore.reconnect.keep_running). Each group is handled in a span that
continues the trace its messages carry (eventstore.message_spans.consuming).
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

    async def fetch(
        self, subscription: JetStreamContext.PullSubscription, stopping: asyncio.Future[Any]
    ) -> list[Msg]:
        """The next batch: whatever is there, else the first messages to arrive within
        the wait (the server holds the pull request and answers as they come, so a long
        wait costs no latency); none when the wait ends or `stopping` does."""
        fetching = asyncio.ensure_future(
            subscription.fetch(self.batch_size, timeout=FETCH_WAIT_SECONDS)
        )
        try:
            await asyncio.wait((fetching, stopping), return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            fetching.cancel()
            raise
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
