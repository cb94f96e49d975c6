"""The relay's wait for a notification (eventstore/notifications.py) on real PostgreSQL:
a NOTIFY ends it and is consumed, a stop ends it, and a lost connection raises."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from psycopg import AsyncConnection

from eventstore.notifications import wait_for_notification
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

FOREVER = 3600.0  # the waits below end by a notification, a stop or an error, not by time
BOUND_SECONDS = 30.0  # a bound on a hang, not a timing claim


async def listening(stack: Stack) -> AsyncConnection[object]:
    conn = await AsyncConnection.connect(stack.database_url, autocommit=True)
    await conn.execute("LISTEN t_wake")
    return conn


def test_a_notification_ends_the_wait_and_is_consumed(stack: Stack) -> None:
    async def run() -> None:
        async with await listening(stack) as conn:
            with stack.admin() as other:
                other.execute("NOTIFY t_wake, 'one'")
                other.execute("NOTIFY t_wake, 'two'")
            await asyncio.wait_for(
                wait_for_notification(conn, asyncio.Event(), FOREVER), BOUND_SECONDS
            )
            assert conn.pgconn.notifies() is None  # both consumed

    asyncio.run(run())


def test_a_stop_ends_the_wait(stack: Stack) -> None:
    async def run() -> None:
        async with await listening(stack) as conn:
            stop = asyncio.Event()
            waiting = asyncio.create_task(wait_for_notification(conn, stop, FOREVER))
            stop.set()
            await asyncio.wait_for(waiting, BOUND_SECONDS)

    asyncio.run(run())


def test_a_lost_connection_raises(stack: Stack) -> None:
    async def run() -> None:
        async with await listening(stack) as conn:
            with stack.admin() as other:
                other.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
            with pytest.raises(psycopg.OperationalError):  # the goodbye first, then the end
                for _ in range(2):
                    await asyncio.wait_for(
                        wait_for_notification(conn, asyncio.Event(), FOREVER), BOUND_SECONDS
                    )

    asyncio.run(run())
