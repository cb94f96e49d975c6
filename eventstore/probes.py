"""Is a dependency reachable right now? Short, bounded checks for /readyz."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import nats
import psycopg
from psycopg import AsyncConnection

from eventstore.outages import reason
from eventstore.settings import nats_servers

PROBE_TIMEOUT_SECONDS = 2


async def postgres_missing(conninfo: str) -> list[str]:
    """[] when PostgreSQL answers `SELECT 1` on a fresh connection, else why not."""
    try:
        conn = await AsyncConnection.connect(
            conninfo, autocommit=True, connect_timeout=PROBE_TIMEOUT_SECONDS
        )
        async with conn:
            await conn.execute("SELECT 1")
    except psycopg.Error as error:
        return [f"postgresql unreachable ({reason(error)})"]
    return []


async def database_missing(check: Callable[[], Awaitable[object]]) -> list[str]:
    """[] when `check` (a query through the service's own pool) answers in time."""
    try:
        await asyncio.wait_for(check(), PROBE_TIMEOUT_SECONDS)
    except TimeoutError:
        return [f"postgresql unreachable (no connection within {PROBE_TIMEOUT_SECONDS}s)"]
    except Exception as error:
        return [f"postgresql unreachable ({reason(error)})"]
    return []


async def nats_missing(client: Any, servers: str | list[str]) -> list[str]:
    """[] when the worker's own NATS client is connected, or (between two runs of the
    worker, when it has none) when a fresh connection succeeds; else why not."""
    if client is not None and client.is_connected:
        return []
    if client is not None and not client.is_closed:
        return ["nats not connected (reconnecting)"]

    async def quiet(error: Exception) -> None:
        """The failure is the answer; nats-py would log it with a traceback."""

    try:
        connecting = nats.connect(
            nats_servers(servers) if isinstance(servers, str) else servers,
            connect_timeout=PROBE_TIMEOUT_SECONDS,
            allow_reconnect=False,
            error_cb=quiet,
        )
        probe = await asyncio.wait_for(connecting, PROBE_TIMEOUT_SECONDS)
    except TimeoutError:  # nats-py keeps trying a refused server until then
        return [f"nats unreachable (no connection within {PROBE_TIMEOUT_SECONDS}s)"]
    except Exception as error:
        return [f"nats unreachable ({reason(error)})"]
    await probe.close()
    return []
