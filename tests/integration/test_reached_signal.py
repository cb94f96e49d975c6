"""Consistency waits woken by the projectors, on real PostgreSQL: a projector's batch
wakes the waits on its read model (and no other's), and a listener that loses its
connection connects again and is woken as before."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import psycopg
import pytest
from psycopg import AsyncConnection

from api.account_summary_query import ACCOUNT_SUMMARY_API
from api.reached_signal import ReachedSignal
from eventstore.contexts import ACCOUNTS
from eventstore.reader import read_events
from projections.account_summary import AccountSummaryProjection
from projections.notifications import NotificationsProjection
from projections.runtime import Projector
from projections.tracking import REACHED_CHANNEL
from tests.support.stack import Stack
from tests.support.workload import accounts_service, write_events

pytestmark = pytest.mark.integration
DEADLINE_SECONDS = 10.0
SUMMARY, NOTIFICATIONS = AccountSummaryProjection.name, NotificationsProjection.name


@asynccontextmanager
async def listening(stack: Stack) -> AsyncIterator[ReachedSignal]:
    """A signal listening on the stack's database (as a query API's role would)."""
    signal = ReachedSignal([SUMMARY, NOTIFICATIONS])
    stop = asyncio.Event()
    conninfo = stack.db.role_conninfo(ACCOUNT_SUMMARY_API.role)
    task = asyncio.create_task(signal.listen(conninfo, stop))
    try:
        await until(lambda: signal.listening, "the signal to listen")
        yield signal
    finally:
        stop.set()
        await task


async def until(condition: Callable[[], bool], what: str) -> None:
    """Poll `condition` (the listener's state, never a fixed wait) until it holds."""
    try:
        async with asyncio.timeout(DEADLINE_SECONDS):
            while not condition():  # noqa: ASYNC110 - the state of a task it does not own
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"no {what} within {DEADLINE_SECONDS:g} s") from None


async def is_set(pulse: asyncio.Event) -> bool:
    """Whether `pulse` is set within the deadline."""
    try:
        await asyncio.wait_for(pulse.wait(), DEADLINE_SECONDS)
    except TimeoutError:
        return False
    return True


def run(test: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(test())


def test_a_projectors_batch_wakes_the_waits_on_its_read_model(stack: Stack) -> None:
    write_events(accounts_service(stack), accounts=2, movements=5, seed=1)
    projection = AccountSummaryProjection()
    projector = Projector(projection, stack.db.role_conninfo(projection.role()), stack.nats_url)

    async def test() -> None:
        await projector.prepare()
        async with listening(stack) as signal:
            summary, notifications = signal.pulse(SUMMARY), signal.pulse(NOTIFICATIONS)
            async with await AsyncConnection.connect(projector.conninfo) as conn:
                envelopes = await read_events(conn, ACCOUNTS, 0, limit=1000)
                await projector.apply_batch(conn, ACCOUNTS, envelopes)

            assert await is_set(summary)
            assert not notifications.is_set()
            assert signal.pulse(SUMMARY) is not summary  # the next wait takes a new one

    run(test)


def test_a_listener_that_lost_its_connection_listens_again(stack: Stack) -> None:
    async def test() -> None:
        async with listening(stack) as signal:
            with psycopg.connect(stack.db.admin_conninfo(), autocommit=True) as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = %s",
                    (f'LISTEN "{REACHED_CHANNEL}"',),
                )
                await until(lambda: not signal.listening, "the listener to notice the loss")
                await until(lambda: signal.listening, "the listener to connect again")
                summary = signal.pulse(SUMMARY)
                admin.execute("SELECT pg_notify(%s, %s)", (REACHED_CHANNEL, SUMMARY))

            assert await is_set(summary)

    run(test)
