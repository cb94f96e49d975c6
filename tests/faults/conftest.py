"""The fault suite's system: its own PostgreSQL and nats-server (so a test may stop,
kill and restart them), provisioned, with the services of both contexts as processes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from scripts.devstack.embedded import EmbeddedNats, EmbeddedPostgres, free_port
from scripts.devstack.supervisor import ServiceProcess
from scripts.provision import provision
from tests.e2e.payments_workload import Ledger, open_funded_accounts
from tests.stack import Stack, database_url_for

# Workers first, so no API waits on a consumer that does not exist yet.
SERVICES = (
    "relay-accounts",
    "relay-payments",
    "projector-account-summary",
    "projector-account-statement",
    "projector-payments",
    "projector-notifications",
    "accounts-api",
    "account-summary-query-api",
    "payments-api",
    "saga",
)
DUPLICATE_WINDOW_SECONDS = "2"
ACCOUNTS = 12


@dataclass
class FaultStack:
    """A running system and the servers under it, which tests may take away."""

    stack: Stack
    postgres: EmbeddedPostgres
    accounts: list[str]

    @property
    def nats(self) -> EmbeddedNats:
        assert isinstance(self.stack.nats, EmbeddedNats), "the fault suite runs one server"
        return self.stack.nats

    def process(self, name: str) -> ServiceProcess:
        return next(p for p in reversed(self.stack.processes) if p.spec.name == name)

    def services(self) -> list[ServiceProcess]:
        """The latest process of every service."""
        return [self.process(name) for name in SERVICES]

    def url(self, name: str) -> str:
        return self.process(name).url


@pytest.fixture(scope="package")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    work_dir = tmp_path_factory.mktemp("faults")
    postgres = EmbeddedPostgres(
        work_dir / "postgres", free_port(), settings={"fsync": "off", "full_page_writes": "off"}
    )
    postgres.start()
    nats_server = EmbeddedNats(work_dir / "nats", free_port())
    nats_server.start()
    saved = os.environ.get("NATS_DUPLICATE_WINDOW_SECONDS")
    os.environ["NATS_DUPLICATE_WINDOW_SECONDS"] = DUPLICATE_WINDOW_SECONDS
    stack = Stack(database_url_for(postgres.admin_url, "faults"), nats_server, work_dir)
    try:
        provision(stack.db, nats_server.url)
        processes = [stack.start(name, wait=False) for name in SERVICES]
        for process in processes:
            process.wait_ready()
        ledger = Ledger()
        open_funded_accounts(stack.url_of("accounts-api"), ACCOUNTS, ledger)
        yield FaultStack(stack, postgres, ledger.accounts)
    finally:
        stack.stop_all()
        nats_server.stop()
        postgres.stop()
        if saved is None:
            os.environ.pop("NATS_DUPLICATE_WINDOW_SECONDS", None)
        else:
            os.environ["NATS_DUPLICATE_WINDOW_SECONDS"] = saved


def healthy(process: ServiceProcess) -> bool:
    try:
        return httpx.get(f"{process.url}/healthz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False
