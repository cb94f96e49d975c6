"""Consistency waits woken by the projectors, not by fast polling.

A projector notifies REACHED_CHANNEL with its read model's name in each transaction that
moves the read model on (with its tracking row: projections/tracking.py). A query API
keeps one connection listening on it and wakes the waits on that read model at each
notification; a wait then reads the position again. While the listener is not
connected (starting, or the database restarting), a wait polls every POLL_SECONDS, as
every wait did before; while it is, a wait still looks again after FALLBACK_SECONDS, in
case a notification is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

from psycopg.sql import SQL, Identifier

from eventstore.notifications import wait_for_notification
from eventstore.outages import Outage
from eventstore.reconnect import Backoff, connect
from eventstore.stopping import pause
from projections.tracking import REACHED_CHANNEL

log = logging.getLogger("paystream.query")

POLL_SECONDS = 0.005  # while no notification can come
FALLBACK_SECONDS = 0.1  # while notifications come: a lost one costs at most this
IDLE_WAKE_SECONDS = 30.0  # the listener's longest wait (it notices a lost connection then)


class ReachedSignal:
    """One pulse per read model of the API: set (and replaced) when its projector
    announces progress."""

    def __init__(self, names: Iterable[str]) -> None:
        self._pulses = {name: asyncio.Event() for name in names}
        self.listening = False

    def pulse(self, name: str) -> asyncio.Event:
        """Take it before reading the position, then wait on it: a notification that
        comes in between has set it already."""
        return self._pulses[name]

    async def wait(self, pulse: asyncio.Event, most: float) -> None:
        """Until `pulse` is set, or the wait's interval (at most `most` seconds) passes."""
        interval = FALLBACK_SECONDS if self.listening else POLL_SECONDS
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(pulse.wait(), max(0.0, min(interval, most)))

    def fire(self, name: str) -> None:
        if name in self._pulses:
            self._pulses[name].set()
            self._pulses[name] = asyncio.Event()

    def fire_all(self) -> None:
        for name in list(self._pulses):
            self.fire(name)

    async def listen(self, conninfo: str, stop: asyncio.Event) -> None:
        """Listen until `stop` is set, connecting again (with backoff) after a loss."""
        outage, backoff = Outage(log, "query API: progress notifications"), Backoff()
        while not stop.is_set():
            try:
                async with await connect(conninfo) as conn:
                    await conn.execute(SQL("LISTEN {}").format(Identifier(REACHED_CHANNEL)))
                    self.listening = True
                    outage.recovered()
                    backoff = Backoff()
                    while not stop.is_set():
                        for name in await wait_for_notification(conn, stop, IDLE_WAKE_SECONDS):
                            self.fire(name)
            except Exception as error:  # the database is away: waits poll meanwhile
                outage.failed(error, with_traceback=False)
            finally:
                self.listening = False
                self.fire_all()  # waits go back to polling at once
            await pause(stop, backoff.next_delay())
