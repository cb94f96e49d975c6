"""The shared pull consumer on a real nats-server: a stop ends a fetch the server is still
holding open (the wait is long), and a message published after the stop is not stranded
on that abandoned fetch: the next consumer of the durable gets it at once."""

from __future__ import annotations

import asyncio

import nats
import pytest
from nats.aio.msg import Msg

from eventstore import pull_consumer
from eventstore.contexts import ACCOUNTS
from eventstore.pull_consumer import PullConsumer
from eventstore.streams import ensure_stream
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

SUBJECT = ACCOUNTS.subject("MoneyDeposited.v1")
BOUND_SECONDS = 30.0  # a bound on a hang, far below the ack wait, not a timing claim


async def consume(
    nats_url: str, seen: list[bytes], arrived: asyncio.Event, stop: asyncio.Event
) -> None:
    """Consume with one durable until `stop` is set; each message's data into `seen`."""
    consumer = PullConsumer("t_pull", ACCOUNTS, 16, ack_wait_seconds=3600, max_ack_pending=64)
    nc = await nats.connect(nats_url)
    try:
        subscription = await consumer.subscribe(nc.jetstream())

        async def handle(messages: list[Msg]) -> None:
            seen.extend(message.data for message in messages)
            arrived.set()

        await consumer.consume(subscription, handle, stop)
    finally:
        await nc.close()


async def publish(nats_url: str, data: bytes) -> None:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_stream(js, ACCOUNTS)
        await js.publish(SUBJECT, data)
    finally:
        await nc.close()


def test_a_stop_ends_a_waiting_fetch_and_strands_nothing(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pull_consumer, "FETCH_WAIT_SECONDS", 3600.0)

    async def run() -> tuple[list[bytes], list[bytes]]:
        seen_first: list[bytes] = []
        seen_second: list[bytes] = []
        arrived, stop = asyncio.Event(), asyncio.Event()
        first = asyncio.create_task(consume(stack.nats_url, seen_first, arrived, stop))
        await publish(stack.nats_url, b"first")
        await asyncio.wait_for(arrived.wait(), BOUND_SECONDS)  # then it waits in a fetch
        stop.set()
        await asyncio.wait_for(first, BOUND_SECONDS)

        await publish(stack.nats_url, b"after the stop")
        arrived, stop = asyncio.Event(), asyncio.Event()
        second = asyncio.create_task(consume(stack.nats_url, seen_second, arrived, stop))
        await asyncio.wait_for(arrived.wait(), BOUND_SECONDS)
        stop.set()
        await asyncio.wait_for(second, BOUND_SECONDS)
        return seen_first, seen_second

    seen_first, seen_second = asyncio.run(run())

    assert seen_first == [b"first"] and seen_second == [b"after the stop"]
