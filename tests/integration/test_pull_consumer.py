"""The shared pull consumer on a real nats-server: a stop ends a fetch the server is still
holding open (the wait is long), and a message published after the stop is not stranded
on that abandoned fetch: the next consumer of the durable gets it at once. Its flow (the
saga's) is not held by one slow key, never handles a key twice at once, keeps each key's
order, and hands a failed group back."""

from __future__ import annotations

import asyncio

import nats
import pytest
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from eventstore import pull_consumer
from eventstore.contexts import ACCOUNTS, PAYMENTS
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


FLOW_SUBJECT = PAYMENTS.subject("PaymentRequested.v1")


def key_of(message: Msg) -> str:
    return (message.headers or {})["key"]


async def publish_keyed(js: JetStreamContext, *keyed: str) -> None:
    """Publish `<key><n>` messages ("A1", "B7") with their key as a header."""
    for data in keyed:
        await js.publish(FLOW_SUBJECT, data.encode(), headers={"key": data[0]})


def test_a_flow_keeps_going_past_a_held_key_and_one_group_of_a_key_at_a_time(
    stack: Stack,
) -> None:
    """The flow (the saga's): while A1's handler is held, the messages of twenty other
    keys are fetched and handled, more of them than may be in flight at once; A2 and A3,
    fetched meanwhile, wait for A1 and are then handled together, in order; every
    message is acked once handled."""
    others = [f"{key}{n}" for n, key in enumerate("BCDEFGHIJKLMNOPQRSTU")]

    async def run() -> tuple[list[list[str]], list[str]]:
        nc = await nats.connect(stack.nats_url)
        js = nc.jetstream()
        await ensure_stream(js, PAYMENTS)
        consumer = PullConsumer("t_flow", PAYMENTS, 16, ack_wait_seconds=3600, max_ack_pending=64)
        subscription = await consumer.subscribe(js)
        handled: list[list[str]] = []
        running: set[str] = set()
        overlaps: list[str] = []
        a_held, release_a, others_done, a_done = (asyncio.Event() for _ in range(4))

        async def handle(messages: list[Msg]) -> None:
            key = key_of(messages[0])
            overlaps.extend([key] if key in running else [])
            running.add(key)
            if messages[0].data == b"A1":
                a_held.set()
                await release_a.wait()
            handled.append([message.data.decode() for message in messages])
            running.discard(key)
            done = {data for group in handled for data in group}
            if done >= set(others):
                others_done.set()
            if "A3" in done:
                a_done.set()

        stop = asyncio.Event()
        flowing = asyncio.create_task(
            consumer.flow(subscription, handle, stop, key=key_of, max_in_flight=8)
        )
        await publish_keyed(js, "A1")
        await asyncio.wait_for(a_held.wait(), BOUND_SECONDS)
        await publish_keyed(js, "A2", "A3", *others)
        await asyncio.wait_for(others_done.wait(), BOUND_SECONDS)
        held_meanwhile = list(handled)
        release_a.set()
        await asyncio.wait_for(a_done.wait(), BOUND_SECONDS)
        stop.set()
        await asyncio.wait_for(flowing, BOUND_SECONDS)
        await asyncio.wait_for(all_acked(js, "t_flow"), BOUND_SECONDS)
        await nc.close()
        assert sorted(data for group in held_meanwhile for data in group) == sorted(others)
        return handled, overlaps

    handled, overlaps = asyncio.run(run())

    assert handled[-2:] == [["A1"], ["A2", "A3"]]
    assert overlaps == []


async def all_acked(js: JetStreamContext, durable: str) -> None:
    """Until the server has taken every ack (they reach the consumer after the call)."""
    while True:
        info = await js.consumer_info(PAYMENTS.stream, durable)
        if info.num_ack_pending == 0 and not info.num_pending:
            return
        await asyncio.sleep(0.05)


def test_a_flow_whose_handler_raised_ends_and_hands_that_group_back(stack: Stack) -> None:
    async def run() -> list[str]:
        nc = await nats.connect(stack.nats_url)
        js = nc.jetstream()
        await ensure_stream(js, PAYMENTS)
        consumer = PullConsumer("t_flow_fail", PAYMENTS, 16, 3600, max_ack_pending=64)
        subscription = await consumer.subscribe(js)
        await publish_keyed(js, "X1")
        seen: list[str] = []

        async def refuse(messages: list[Msg]) -> None:
            if any(message.data == b"X1" for message in messages):
                raise RuntimeError("lost the database")

        async def take(messages: list[Msg]) -> None:
            seen.extend(message.data.decode() for message in messages)
            if "X1" in seen:
                stop.set()

        stop = asyncio.Event()
        flow = consumer.flow(subscription, refuse, stop, key=key_of, max_in_flight=8)
        with pytest.raises(RuntimeError, match="lost the database"):
            await asyncio.wait_for(flow, BOUND_SECONDS)
        flow = consumer.flow(subscription, take, stop, key=key_of, max_in_flight=8)
        await asyncio.wait_for(flow, BOUND_SECONDS)
        await nc.close()
        return seen

    assert "X1" in asyncio.run(run())
