"""The payment saga of `paystream serve saga`."""

from __future__ import annotations

import asyncio

from api.health import worker_app
from api.upstreams import UpstreamSettings
from domains.payments.application import PaymentsService
from eventstore.contexts import PAYMENTS, application_env
from eventstore.personal_data.kek_check import verified_kek
from eventstore.settings import DatabaseSettings, NatsSettings
from identity.service_tokens import ServiceTokens
from saga.accounts_client import AccountsClient
from saga.worker import PaymentSaga
from scripts.composition.workers import Worker


def serve_saga(host: str, port: int) -> None:
    db = DatabaseSettings()
    verified_kek(db.role_conninfo(PAYMENTS.role))  # it opens payments' references with it
    service = PaymentsService(env=application_env(PAYMENTS, db, pool_size=8))
    tokens = ServiceTokens.from_settings("saga")
    accounts = AccountsClient(UpstreamSettings().accounts_api_url, tokens)
    conninfo = db.role_conninfo(PAYMENTS.role)
    saga = PaymentSaga(service, accounts, conninfo, NatsSettings().url())
    worker = Worker("payment saga", saga.run, lambda: saga.status.subscribed)

    def missing() -> list[str]:
        return [] if saga.status.subscribed else ["payments consumer not subscribed"]

    ready = worker.readiness(conninfo, lambda: saga.nats, missing)
    app = worker_app(worker.title, ready, lambda: saga.status)
    asyncio.run(worker.serve(app, host, port))
