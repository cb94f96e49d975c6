"""Waiting for a PostgreSQL notification (LISTEN) without polling.

psycopg's `notifies(timeout=...)` wakes every 0.1 s while it waits (to notice Ctrl-C),
registering and unregistering the socket each time: most of an idle relay's CPU. This
waits on the socket itself, so an idle listener wakes only when the server writes to
it, when its wait is over, or when the worker stops.
"""

from __future__ import annotations

import asyncio
from typing import Any

from psycopg import AsyncConnection


async def wait_for_notification(
    conn: AsyncConnection[Any], stop: asyncio.Event, seconds: float
) -> list[str]:
    """Return once `conn` has received something (a notification, or the end of the
    connection), `seconds` have passed or `stop` is set, with the payloads of the
    notifications received (consumed). A lost connection raises psycopg's
    OperationalError (at the latest on the wait after the one its server's goodbye
    ended)."""
    loop = asyncio.get_running_loop()
    readable: asyncio.Future[None] = loop.create_future()
    fileno = conn.pgconn.socket

    def on_readable() -> None:
        if not readable.done():
            readable.set_result(None)

    stopping = asyncio.ensure_future(stop.wait())
    loop.add_reader(fileno, on_readable)
    try:
        await asyncio.wait(
            (readable, stopping), timeout=seconds, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        loop.remove_reader(fileno)
        stopping.cancel()
        readable.cancel()
    conn.pgconn.consume_input()  # raises OperationalError when the connection is gone
    payloads = []
    while (notification := conn.pgconn.notifies()) is not None:
        payloads.append(notification.extra.decode())
    return payloads
