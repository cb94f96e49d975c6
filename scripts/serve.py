"""`paystream serve <service>`: run one service in this process until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

import uvicorn

from api import accounts_app, payments_commands
from api.health import serve_http, worker_app
from api.query_app import create_query_app
from api.query_registry import get_query_api
from api.upstreams import UpstreamSettings
from domains.accounts.application import AccountsService
from domains.payments.application import PaymentsService
from eventstore.contexts import ACCOUNTS, CONTEXTS, PAYMENTS, application_env
from eventstore.relay import Relay
from eventstore.settings import DatabaseSettings, NatsSettings
from eventstore.stopping import pause
from projections.registry import get_projection
from projections.runtime import Projector
from projections.tracking import WHOLE, Partition
from saga.accounts_client import AccountsClient
from saga.worker import PaymentSaga

log = logging.getLogger("paystream.serve")
RESTART_DELAY_SECONDS = 1.0
COMMAND_API_POOL = 16


def serve_accounts_api(host: str, port: int) -> None:
    db = DatabaseSettings()
    env = application_env(ACCOUNTS, db, pool_size=COMMAND_API_POOL)
    app = accounts_app.create_app(lambda: AccountsService(env=env))
    uvicorn.run(app, host=host, port=port, log_level="warning")


def serve_payments_api(host: str, port: int) -> None:
    env = application_env(PAYMENTS, DatabaseSettings(), pool_size=COMMAND_API_POOL)
    app = payments_commands.create_app(lambda: PaymentsService(env=env))
    uvicorn.run(app, host=host, port=port, log_level="warning")


def serve_saga(host: str, port: int) -> None:
    db = DatabaseSettings()
    service = PaymentsService(env=application_env(PAYMENTS, db, pool_size=8))
    accounts = AccountsClient(UpstreamSettings().accounts_api_url)
    saga = PaymentSaga(service, accounts, db.role_conninfo(PAYMENTS.role), NatsSettings().url())
    app = worker_app("payment saga", lambda: saga.status.subscribed, lambda: saga.status)
    asyncio.run(_run_worker(saga.run, app, host, port))


def serve_query_api(name: str, host: str, port: int) -> None:
    api = get_query_api(name)
    app = create_query_app(api, DatabaseSettings().role_conninfo(api.role))
    uvicorn.run(app, host=host, port=port, log_level="warning")


def serve_relay(context_name: str, host: str, port: int) -> None:
    context = CONTEXTS.get(context_name)
    if context is None:
        raise ValueError(f"unknown context {context_name!r} (known: {', '.join(CONTEXTS)})")
    relay = Relay(context, DatabaseSettings().role_conninfo(context.role), NatsSettings().url())
    app = worker_app(f"relay {context.name}", lambda: relay.status.holds_lock, lambda: relay.status)
    asyncio.run(_run_worker(relay.run, app, host, port))


def serve_projector(name: str, host: str, port: int, partition: str | None = None) -> None:
    projection = get_projection(name)()
    part = Partition.parse(partition) if partition else WHOLE
    conninfo = DatabaseSettings().role_conninfo(projection.role())
    projector = Projector(projection, conninfo, NatsSettings().url(), partition=part)
    sources = {source.name for source in projection.sources}
    app = worker_app(
        f"projector {name}",
        lambda: projector.status.subscribed == sources,
        lambda: projector.status,
    )
    asyncio.run(_run_worker(projector.run, app, host, port))


async def _run_worker(
    work: Callable[[asyncio.Event], Awaitable[None]], app: object, host: str, port: int
) -> None:
    """Run `work` (restarted after a crash) beside its health endpoint until a signal."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    http = asyncio.create_task(serve_http(app, host, port, stop))  # type: ignore[arg-type]
    while not stop.is_set():
        try:
            await work(stop)
        except Exception:
            log.exception("worker crashed; restarting in %.0fs", RESTART_DELAY_SECONDS)
            await pause(stop, RESTART_DELAY_SECONDS)
    await http
