"""Keep a long-running worker alive across lost PostgreSQL and NATS connections.

Every worker (relay, projector, saga) opens its connections in `run(stop)` and
lets an error on a lost connection end it. `keep_running` is the one mechanism
that brings it back: it runs the work again, with fresh connections, after a
capped exponential backoff with jitter, until `stop` is set. Once the worker
says it is connected again, the backoff starts over and the recovery is logged
once; in between, the failure is logged once and then summarised (`Outage`).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import nats
import psycopg
from eventsourcing import persistence
from nats import errors as nats_errors
from nats.aio.client import Client as NatsClient
from psycopg import AsyncConnection

from eventstore.outages import Outage
from eventstore.settings import nats_servers
from eventstore.stopping import pause

INITIAL_DELAY_SECONDS = 0.2
MAX_DELAY_SECONDS = 2.0
WATCH_SECONDS = 0.1
STABLE_SECONDS = 1.0
CONNECT_TIMEOUT_SECONDS = 5
NATS_RECONNECT_WAIT_SECONDS = 1
# A connection pool whose reconnect attempt failed gives up after this long (psycopg's
# default keeps backing off for 5 minutes, so a pool could stay empty for a while after
# the database returned); the next request then connects afresh, at once.
POOL_RECONNECT_GIVE_UP_SECONDS = 2.0

CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    persistence.OperationalError,
    persistence.InterfaceError,
    nats_errors.ConnectionClosedError,
    nats_errors.NoServersError,
    nats_errors.StaleConnectionError,
    nats_errors.ConnectionReconnectingError,
    nats_errors.TimeoutError,
    ConnectionError,
    OSError,
    TimeoutError,
)


def is_connection_lost(error: BaseException) -> bool:
    """Whether `error` (or every error of a group) is a lost or refused connection."""
    if isinstance(error, BaseExceptionGroup):
        return all(is_connection_lost(inner) for inner in error.exceptions)
    return isinstance(error, CONNECTION_ERRORS)


@dataclass
class Backoff:
    """Capped exponential delays with jitter: each in [d/2, d], d doubling up to the cap."""

    initial: float = INITIAL_DELAY_SECONDS
    cap: float = MAX_DELAY_SECONDS
    attempts: int = 0

    def next_delay(self) -> float:
        delay = min(self.cap, self.initial * 2**self.attempts)
        self.attempts += 1
        return random.uniform(delay / 2, delay)

    def reset(self) -> None:
        self.attempts = 0


Work = Callable[[asyncio.Event], Awaitable[None]]


async def keep_running(
    work: Work,
    stop: asyncio.Event,
    *,
    what: str,
    log: logging.Logger,
    connected: Callable[[], bool],
    backoff: Backoff | None = None,
) -> None:
    """Run `work(stop)` until `stop` is set, starting it again whenever it fails.

    `connected` says when a run has its connections back: that ends the outage.
    A failure that is not a lost connection is a bug: its first traceback is logged.
    """
    backoff = backoff or Backoff()
    outage = Outage(log, what)
    while not stop.is_set():
        run = asyncio.ensure_future(work(stop))
        watch = asyncio.create_task(_watch_recovery(run, connected, outage, backoff))
        try:
            await run
        except Exception as error:
            outage.failed(error, with_traceback=not is_connection_lost(error))
            await pause(stop, backoff.next_delay())
        finally:
            watch.cancel()


async def _watch_recovery(
    run: asyncio.Future[None], connected: Callable[[], bool], outage: Outage, backoff: Backoff
) -> None:
    """Once the run has stayed connected for a moment, the outage (if any) is over.

    A run that connects and then fails at once does not count: its failures stay one
    outage (summarised, not logged each time) and its backoff keeps growing.
    """
    steady = 0.0
    while not run.done():
        steady = steady + WATCH_SECONDS if connected() else 0.0
        if steady >= STABLE_SECONDS:
            outage.recovered()
            backoff.reset()
            return
        await asyncio.sleep(WATCH_SECONDS)


async def connect(conninfo: str) -> AsyncConnection[Any]:
    """A worker's own PostgreSQL connection: autocommit, bounded connect time, and TCP
    keepalives so a server that vanished is noticed even on an idle connection."""
    return await AsyncConnection.connect(
        conninfo,
        autocommit=True,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        keepalives=1,
        keepalives_idle=10,
        keepalives_interval=5,
        keepalives_count=3,
    )


async def connect_nats(servers: str | list[str], what: str, log: logging.Logger) -> NatsClient:
    """A worker's NATS client (`servers`: a list, or a NATS_URL with commas between
    servers): reconnects forever by itself (publishes and fetches fail meanwhile), and
    reports a disconnection once, then summarised, then its end."""
    outage = Outage(log, f"{what}: NATS connection")

    async def on_error(error: Exception) -> None:
        outage.failed(error)

    async def on_reconnected() -> None:
        outage.recovered()

    return await nats.connect(
        nats_servers(servers) if isinstance(servers, str) else servers,
        max_reconnect_attempts=-1,
        reconnect_time_wait=NATS_RECONNECT_WAIT_SECONDS,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        error_cb=on_error,
        reconnected_cb=on_reconnected,
    )
