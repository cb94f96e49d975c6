"""The fault suite's system (tests/faults/conftest.py starts it): the services of both
contexts as processes over their own PostgreSQL and nats-server, which tests may stop,
kill and restart."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from scripts.devstack.embedded import EmbeddedNats, EmbeddedPostgres
from scripts.devstack.supervisor import ServiceProcess
from tests.support.stack import Stack

# Workers first, so no API waits on a consumer that does not exist yet.
SERVICES = (
    "relay-accounts",
    "relay-payments",
    "projector-accounts-group",
    "projector-payments",
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
        return self.stack.latest(name)

    def services(self) -> list[ServiceProcess]:
        """The latest process of every service."""
        return [self.process(name) for name in SERVICES]

    def url(self, name: str) -> str:
        return self.stack.url(name)


def healthy(process: ServiceProcess) -> bool:
    try:
        return httpx.get(f"{process.url}/healthz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False
