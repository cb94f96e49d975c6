"""An idle relay finds a stream that no longer ends where it published, and repairs it
from PostgreSQL without any new command (real nats-server, real PostgreSQL)."""

from __future__ import annotations

import asyncio

import httpx
import nats
import pytest
from nats.js import JetStreamContext
from prometheus_client import REGISTRY
from psycopg import AsyncConnection

from eventstore.contexts import ACCOUNTS, Context
from eventstore.reader import read_events
from eventstore.relay import Relay, last_published_position
from eventstore.streams import ensure_stream
from scripts.devstack.supervisor import ServiceProcess
from tests.support.metrics import scrape_url, value
from tests.support.stack import Stack, wait_until
from tests.support.workload import accounts_service, write_events

pytestmark = pytest.mark.integration

KEPT = 40  # messages that survive the simulated crash


def tail_resyncs(relay: ServiceProcess) -> int:
    return int(httpx.get(f"{relay.url}/status", timeout=5).json()["tail_resyncs"])


def relay_metric(relay: ServiceProcess, name: str, **labels: str) -> float:
    """One series of the relay's /metrics, for the accounts context."""
    return value(scrape_url(relay.url), name, {"context": ACCOUNTS.name, **labels})


async def _recreate_stream(js: JetStreamContext, keep: int) -> None:
    """Delete the stream and create it again holding only its first `keep` messages, as
    a server that lost its unsynced tail in a crash would: the lost messages' ids are
    gone from its de-duplication state, and its last message id is the last kept one."""
    kept = [await js.get_msg(ACCOUNTS.stream, seq=seq) for seq in range(1, keep + 1)]
    await js.delete_stream(ACCOUNTS.stream)
    await ensure_stream(js, ACCOUNTS)
    for message in kept:
        await js.publish(message.subject or "", message.data or b"", headers=message.headers)


def lose_tail(stack: Stack, keep: int) -> None:
    async def run() -> None:
        nc = await nats.connect(stack.nats_url)
        try:
            await _recreate_stream(nc.jetstream(), keep)
        finally:
            await nc.close()

    asyncio.run(run())


@pytest.fixture(scope="module", autouse=True)
def history(stack: Stack) -> None:
    write_events(accounts_service(stack), accounts=10, movements=150)


def wait_caught_up(stack: Stack, what: str) -> list[int]:
    expected = stack.positions(ACCOUNTS)
    wait_until(lambda: stack.stream_positions(ACCOUNTS) == expected, 30, what)
    return expected


@pytest.mark.parametrize("keep", [KEPT, 0], ids=["tail-lost", "recreated-empty"])
def test_an_idle_relay_republishes_a_lost_tail(stack: Stack, keep: int) -> None:
    relay = stack.start("relay-accounts")
    expected = wait_caught_up(stack, "the relay to publish the history")
    resyncs_before = tail_resyncs(relay)
    tail_moved = relay_metric(relay, "paystream_relay_resyncs_total", cause="tail-moved")
    published = relay_metric(relay, "paystream_relay_events_published_total")

    lose_tail(stack, keep)
    assert len(stack.stream_positions(ACCOUNTS)) == keep

    wait_caught_up(stack, "the relay to republish the lost tail, with no new command")
    assert stack.stream_positions(ACCOUNTS) == expected  # each position once, in order
    assert tail_resyncs(relay) == resyncs_before + 1
    assert stack.positions(ACCOUNTS) == expected, "nothing was written meanwhile"
    resyncs = relay_metric(relay, "paystream_relay_resyncs_total", cause="tail-moved")
    assert resyncs == tail_moved + 1
    republished = relay_metric(relay, "paystream_relay_events_published_total") - published
    assert republished == len(expected) - keep
    assert relay_metric(relay, "paystream_relay_published_position") == expected[-1]
    assert relay_metric(relay, "paystream_relay_lag_events") == 0


def delete_last_messages(stack: Stack, count: int) -> None:
    async def run() -> None:
        nc = await nats.connect(stack.nats_url)
        try:
            js = nc.jetstream()
            last = (await js.stream_info(ACCOUNTS.stream)).state.last_seq
            for seq in range(last - count + 1, last + 1):
                await js.delete_msg(ACCOUNTS.stream, seq)
        finally:
            await nc.close()

    asyncio.run(run())


def test_messages_deleted_from_the_end_come_back_once_the_duplicate_window_passes(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deleted, not lost: the server still knows their ids (duplicates for a while, and
    its last id), so they come back only after the window, unchained to that last id."""
    monkeypatch.setenv("NATS_DUPLICATE_WINDOW_SECONDS", "2")  # the relay sets its stream so
    relay = stack.start("relay-accounts")
    expected = wait_caught_up(stack, "the relay to publish the history")
    resyncs_before = tail_resyncs(relay)

    delete_last_messages(stack, 5)
    assert stack.stream_positions(ACCOUNTS) == expected[:-5]

    wait_caught_up(stack, "the relay to republish the deleted tail, with no new command")
    assert stack.stream_positions(ACCOUNTS) == expected
    assert tail_resyncs(relay) > resyncs_before


def test_a_stream_ahead_of_the_relay_is_adopted_not_republished(stack: Stack) -> None:
    write_events(accounts_service(stack), accounts=2, movements=10, seed=11)
    stack.start("relay-accounts")
    expected = wait_caught_up(stack, "the relay to publish the history")
    stack.stop_all()
    relay = Relay(ACCOUNTS, stack.db.role_conninfo(ACCOUNTS.relay_role), stack.nats_url)

    async def check_from_behind() -> tuple[int, int]:
        nc = await nats.connect(stack.nats_url)
        reader = await AsyncConnection.connect(relay.conninfo, autocommit=True)
        try:
            js = nc.jetstream()
            resumed = await relay._check_tail(js, reader, expected[-5])
            return resumed, await last_published_position(js, ACCOUNTS)
        finally:
            await reader.close()
            await nc.close()

    resumed, stream_end = asyncio.run(check_from_behind())

    assert resumed == stream_end == expected[-1]
    assert relay.status.tail_resyncs == 1
    assert stack.stream_positions(ACCOUNTS) == expected


def test_publishes_no_stream_takes_are_counted_as_failures_and_resynced(stack: Stack) -> None:
    """A subject no stream takes (a context without its stream): every publish fails."""
    relay = Relay(Context("unprovisioned"), stack.db.role_conninfo(ACCOUNTS.role), stack.nats_url)
    labels = {"context": "unprovisioned"}
    failures = REGISTRY.get_sample_value("paystream_relay_publish_failures_total", labels) or 0
    cause = {**labels, "cause": "publish-failed"}
    resyncs = REGISTRY.get_sample_value("paystream_relay_resyncs_total", cause) or 0

    async def publish_where_no_stream_is() -> int:
        relay.nats = nc = await nats.connect(stack.nats_url)
        reader = await AsyncConnection.connect(relay.conninfo, autocommit=True)
        try:
            batch = await read_events(reader, ACCOUNTS, 0, limit=3)
            return await relay._publish(nc.jetstream(), batch, 0, batch[-1].position)
        finally:
            await reader.close()
            await nc.close()

    assert asyncio.run(publish_where_no_stream_is()) == 0  # resumed where its stream ends
    assert REGISTRY.get_sample_value("paystream_relay_publish_failures_total", labels) == (
        failures + 3
    )
    assert REGISTRY.get_sample_value("paystream_relay_resyncs_total", cause) == resyncs + 1
