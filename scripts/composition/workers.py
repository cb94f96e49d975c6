"""The workers of `paystream serve`: a relay or a projector, each beside its health API
and kept running across lost connections (`Worker`, which the saga uses too)."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable

from api.health import ReadyCheck, serve_http, worker_app
from eventstore.contexts import CONTEXTS
from eventstore.personal_data.kek_check import verified_kek
from eventstore.probes import nats_missing, postgres_missing
from eventstore.reconnect import Work, keep_running
from eventstore.relay import Relay
from eventstore.settings import DatabaseSettings, NatsSettings
from projections.group import GROUP_ROLE, ProjectorGroup
from projections.personal_fields import OPENING_READ_MODELS, PROCESS_KEYS
from projections.registry import get_projection
from projections.runtime import Projector
from projections.tracking import WHOLE, Partition

log = logging.getLogger("paystream.serve")


def serve_relay(context_name: str, host: str, port: int) -> None:
    context = CONTEXTS.get(context_name)
    if context is None:
        raise ValueError(f"unknown context {context_name!r} (known: {', '.join(CONTEXTS)})")
    conninfo = DatabaseSettings().role_conninfo(context.relay_role)
    relay = Relay(context, conninfo, NatsSettings().url())
    worker = Worker(f"relay {context.name}", relay.run, lambda: relay.status.connected)

    def missing() -> list[str]:
        if not relay.status.connected:
            return ["relay reconnecting"]
        return [] if relay.status.holds_lock else ["publishing lock held by another relay"]

    ready = worker.readiness(conninfo, lambda: relay.nats, missing)
    app = worker_app(worker.title, ready, lambda: relay.status)
    asyncio.run(worker.serve(app, host, port))


def serve_projector(names: str, host: str, port: int, partition: str | None = None) -> None:
    """One projection (`account_summary`), or a group of them in one process, comma
    separated (`account_summary,analytics`): one consumer per source for the group."""
    projections = [get_projection(name.strip())() for name in names.split(",")]
    part = Partition.parse(partition) if partition else WHOLE
    db, nats_url = DatabaseSettings(), NatsSettings().url()
    projector: Projector | ProjectorGroup
    if len(projections) == 1:
        conninfo = db.role_conninfo(projections[0].role())
        projector = Projector(projections[0], conninfo, nats_url, partition=part)
        single = projector

        def subscribed() -> set[str]:
            return single.status.subscribed

        sources = projections[0].sources
    else:
        roles = [GROUP_ROLE, *(p.role() for p in projections)]
        conninfos = {role: db.role_conninfo(role) for role in roles}
        group = ProjectorGroup.of(projections, conninfos, nats_url, partition=part)
        projector, subscribed, sources = group, group.subscribed, tuple(group.sources)

    def missing() -> list[str]:
        lacking = sorted({s.name for s in sources} - subscribed())
        return [f"consumer of {source} not subscribed" for source in lacking]

    if any(p.name in OPENING_READ_MODELS for p in projections):
        PROCESS_KEYS.use_kek(verified_kek(projector.conninfo))  # a wrong KEK stops it here
    worker = Worker(f"projector {names}", projector.run, lambda: not missing())
    ready = worker.readiness(projector.conninfo, lambda: projector.nats, missing)
    app = worker_app(worker.title, ready, lambda: projector.status)
    asyncio.run(worker.serve(app, host, port))


class Worker:
    """A background worker kept running across lost connections, beside its health API."""

    def __init__(self, title: str, work: Work, connected: Callable[[], bool]) -> None:
        self.title = title
        self.work = work
        self.connected = connected
        self.nats_url = NatsSettings().url()

    def readiness(
        self,
        conninfo: str,
        nats_client: Callable[[], object],
        own_missing: Callable[[], list[str]],
    ) -> ReadyCheck:
        """Ready when PostgreSQL answers, the worker's NATS client is connected and the
        worker itself lacks nothing (`own_missing`)."""

        async def ready() -> list[str]:
            return [
                *await postgres_missing(conninfo),
                *await nats_missing(nats_client(), self.nats_url),
                *own_missing(),
            ]

        return ready

    async def serve(self, app: object, host: str, port: int) -> None:
        """Run the work (started again after each failure) until SIGTERM or SIGINT."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        http = asyncio.create_task(serve_http(app, host, port, stop))  # type: ignore[arg-type]
        await keep_running(self.work, stop, what=self.title, log=log, connected=self.connected)
        await http
