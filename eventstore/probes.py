"""Is a dependency reachable right now? Short, bounded checks for /readyz."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import AsyncConnection

from eventstore.outages import reason

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


def nats_missing(client: Any) -> list[str]:
    """[] when the worker's own NATS client is connected, else what is missing."""
    if client is None or not client.is_connected:
        return ["nats not connected"]
    return []
