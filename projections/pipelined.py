"""A projector's batch with its handlers' statements sent in pipeline mode: no round trip
per statement (a batch of n events across k read models cost n*k of them), as the
rebuild already does. In pipeline mode an error surfaces at the next sync, not at the
statement that caused it, so it cannot name its event: when anything fails there, the
batch was rolled back whole and is applied again one statement at a time, where a
failure names its event exactly as before."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from psycopg import AsyncConnection, DataError, IntegrityError

log = logging.getLogger("paystream.projector")

T = TypeVar("T")
Attempt = Callable[[bool, bool], Awaitable[T]]
"""Applies the batch in one transaction: `(pipelined, check_at_once)`. Pipelined, it must
let every failure end the transaction (none may be kept to one read model), since the
failure may belong to another statement than the one it surfaced at."""


async def apply_pipelined(conn: AsyncConnection[Any], attempt: Attempt[T]) -> T:
    """The batch pipelined; when that fails, once more one statement at a time; and when
    the database refuses that only at commit (a deferred constraint), with every
    constraint checked as each handler writes. A lost connection is raised at once."""
    try:
        async with conn.pipeline():
            return await attempt(True, False)
    except Exception as error:
        if conn.broken or conn.closed:
            raise  # reconnecting is the caller's (a pipeline's error is no lost connection)
        log.info("a pipelined batch failed (%s); applying it one statement at a time", error)
    try:
        return await attempt(False, False)
    except (DataError, IntegrityError):
        return await attempt(False, True)
