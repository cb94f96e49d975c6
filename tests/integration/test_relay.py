"""The relay publishes every stored event exactly once, in order, whatever happens to it."""

from __future__ import annotations

import asyncio

import httpx
import nats
import pytest

from eventstore.contexts import ACCOUNTS
from tests.support.stack import Stack, wait_until
from tests.support.workload import BackgroundWriter, accounts_service, kill_mid_work

pytestmark = pytest.mark.integration


def stored_events(stack: Stack) -> list[tuple[int, bytes]]:
    with stack.admin() as conn:
        rows = conn.execute(
            f"SELECT notification_id, state FROM {ACCOUNTS.schema}.{ACCOUNTS.events_table}"
            " ORDER BY notification_id"
        ).fetchall()
    return [(int(position), bytes(state)) for position, state in rows]


def published_events(stack: Stack) -> list[tuple[int, bytes]]:
    return [
        (int(message.headers["Paystream-Position"]), message.data)
        for message in stack.stream_messages(ACCOUNTS)
    ]


def stream_length(stack: Stack) -> int:
    async def count() -> int:
        nc = await nats.connect(stack.nats_url)
        try:
            return int((await nc.jetstream().stream_info(ACCOUNTS.stream)).state.messages)
        finally:
            await nc.close()

    return asyncio.run(count())


def test_relay_publishes_every_event_once_in_order_across_kill_9(stack: Stack) -> None:
    service = accounts_service(stack)
    writer = BackgroundWriter(service, accounts=20, movements=1500)
    relay = stack.start("relay-accounts")
    writer.start()
    wait_until(lambda: stream_length(stack) >= 300, 60, "the relay to publish 300 events")

    killed = kill_mid_work(
        relay.kill, lambda: stream_length(stack), lambda: stack.max_position(ACCOUNTS), writer
    )
    assert killed.stored > killed.done, "the relay was killed with events left to publish"
    restarted = stack.start("relay-accounts")
    writer.finish()
    expected = stored_events(stack)
    wait_until(lambda: stream_length(stack) >= len(expected), 60, "the relay to catch up")

    published = published_events(stack)
    assert [position for position, _ in published] == [position for position, _ in expected]
    assert published == expected
    status = httpx.get(f"{restarted.url}/status", timeout=5).json()
    assert status["published_position"] == expected[-1][0]
    assert status["published_count"] > 0, "the restart published the events left"


def test_a_second_relay_waits_for_the_lock_and_takes_over(stack: Stack) -> None:
    first = stack.start("relay-accounts")
    second = stack.start("relay-accounts", wait=False)
    wait_until(lambda: second.answers("/healthz"), 30, "the second relay to start")

    assert first.is_ready() and not second.is_ready(), "only one relay holds the lock"

    first.kill()
    wait_until(second.is_ready, 30, "the standby relay to take the lock")
    service = accounts_service(stack)
    service.open_account("late", "EUR")
    expected = stored_events(stack)
    wait_until(lambda: stream_length(stack) >= len(expected), 30, "the standby to publish")

    assert published_events(stack) == expected
