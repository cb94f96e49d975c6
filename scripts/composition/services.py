"""Every service of `paystream serve`, built from its settings: the APIs and the workers
(relay, projector, saga), each run in this process until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable

import uvicorn

from api import accounts_app, payments_commands
from api.health import ReadyCheck, serve_http, worker_app
from api.query_app import create_query_app
from api.query_registry import get_query_api
from api.upstreams import UpstreamSettings
from domains.accounts.application import AccountsService
from domains.payments.application import PaymentsService
from eventstore.contexts import ACCOUNTS, CONTEXTS, PAYMENTS, application_env
from eventstore.probes import nats_missing, postgres_missing
from eventstore.reconnect import Work, keep_running
from eventstore.relay import Relay
from eventstore.settings import DatabaseSettings, NatsSettings
from projections.registry import get_projection
from projections.runtime import Projector
from projections.tracking import WHOLE, Partition
from saga.accounts_client import AccountsClient
from saga.worker import PaymentSaga

log = logging.getLogger("paystream.serve")
COMMAND_API_POOL = 16


def serve_accounts_api(host: str, port: int) -> None:
    db = DatabaseSettings()
    env = application_env(ACCOUNTS, db, pool_size=COMMAND_API_POOL)
    app = accounts_app.create_app(lambda: AccountsService(env=env))
    uvicorn.run(app, host=host, port=port, log_level="warning", log_config=None)


def serve_payments_api(host: str, port: int) -> None:
    env = application_env(PAYMENTS, DatabaseSettings(), pool_size=COMMAND_API_POOL)
    app = payments_commands.create_app(lambda: PaymentsService(env=env))
    uvicorn.run(app, host=host, port=port, log_level="warning", log_config=None)


def serve_saga(host: str, port: int) -> None:
    db = DatabaseSettings()
    service = PaymentsService(env=application_env(PAYMENTS, db, pool_size=8))
    accounts = AccountsClient(UpstreamSettings().accounts_api_url)
    conninfo = db.role_conninfo(PAYMENTS.role)
    saga = PaymentSaga(service, accounts, conninfo, NatsSettings().url())
    worker = Worker("payment saga", saga.run, lambda: saga.status.subscribed)

    def missing() -> list[str]:
        return [] if saga.status.subscribed else ["payments consumer not subscribed"]

    ready = worker.readiness(conninfo, lambda: saga.nats, missing)
    app = worker_app(worker.title, ready, lambda: saga.status)
    asyncio.run(worker.serve(app, host, port))


def serve_query_api(name: str, host: str, port: int) -> None:
    api = get_query_api(name)
    app = create_query_app(api, DatabaseSettings().role_conninfo(api.role))
    uvicorn.run(app, host=host, port=port, log_level="warning", log_config=None)


def serve_relay(context_name: str, host: str, port: int) -> None:
    context = CONTEXTS.get(context_name)
    if context is None:
        raise ValueError(f"unknown context {context_name!r} (known: {', '.join(CONTEXTS)})")
    conninfo = DatabaseSettings().role_conninfo(context.role)
    relay = Relay(context, conninfo, NatsSettings().url())
    worker = Worker(f"relay {context.name}", relay.run, lambda: relay.status.connected)

    def missing() -> list[str]:
        if not relay.status.connected:
            return ["relay reconnecting"]
        return [] if relay.status.holds_lock else ["publishing lock held by another relay"]

    ready = worker.readiness(conninfo, lambda: relay.nats, missing)
    app = worker_app(worker.title, ready, lambda: relay.status)
    asyncio.run(worker.serve(app, host, port))


def serve_projector(name: str, host: str, port: int, partition: str | None = None) -> None:
    projection = get_projection(name)()
    part = Partition.parse(partition) if partition else WHOLE
    conninfo = DatabaseSettings().role_conninfo(projection.role())
    projector = Projector(projection, conninfo, NatsSettings().url(), partition=part)
    sources = {source.name for source in projection.sources}

    def missing() -> list[str]:
        lacking = sorted(sources - projector.status.subscribed)
        return [f"consumer of {source} not subscribed" for source in lacking]

    worker = Worker(f"projector {name}", projector.run, lambda: not missing())
    ready = worker.readiness(conninfo, lambda: projector.nats, missing)
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
