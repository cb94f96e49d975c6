"""End-to-end fixtures: one running system per test worker, every service as its own
process, spoken to over HTTP.

Starting the fifteen services takes most of an e2e module's time, so the modules share
them: tests/conftest.py sends every e2e module to the same worker, and each module
leaves no payment in flight behind it (so the next one starts from a quiet system).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from scripts.devstack.embedded import EmbeddedPostgres
from scripts.devstack.services import SERVICES
from tests.support.otlp_receiver import OtlpReceiver, running_receiver
from tests.support.payments_workload import payments_in_flight
from tests.support.stack import (
    E2E_OVERVIEW_DEADLINE_SECONDS,
    OVERVIEW_DEADLINE_VARIABLE,
    Stack,
    StackGateway,
    provisioned_stack,
    wait_until,
)

# Workers first, so no API waits on a consumer that does not exist yet.
SERVICE_NAMES = tuple(
    sorted((spec.name for spec in SERVICES), key=lambda name: name.endswith("api"))
)
TIMEOUT_SECONDS = 30.0


@pytest.fixture(scope="session")
def otlp_receiver() -> Iterator[OtlpReceiver]:
    """Where every service of the running system exports its spans."""
    with running_receiver() as receiver:
        yield receiver


@pytest.fixture(scope="session")
def running_system(
    postgres_server: EmbeddedPostgres,
    tmp_path_factory: pytest.TempPathFactory,
    otlp_receiver: OtlpReceiver,
) -> Iterator[Stack]:
    """Every service of the system on its own database and nats-server, each ready, and
    traced (its spans exported to `otlp_receiver`)."""
    work_dir = tmp_path_factory.mktemp("e2e")
    with provisioned_stack(postgres_server.admin_url, work_dir, "e2e") as system:
        system.extra_env.update(otlp_receiver.environment())
        system.extra_env[OVERVIEW_DEADLINE_VARIABLE] = str(E2E_OVERVIEW_DEADLINE_SECONDS)
        system.start_all(SERVICE_NAMES)
        yield system


@pytest.fixture(scope="session")
def public_gateway(running_system: Stack) -> Iterator[StackGateway]:
    """Envoy in front of the running system, as `paystream up` configures it."""
    with running_system.gateway() as gateway:
        yield gateway


@pytest.fixture(scope="module")
def stack(running_system: Stack) -> Iterator[Stack]:
    """The running system (not a fresh one per module, as elsewhere); the module's
    payments all end before the next module starts."""
    yield running_system
    wait_until(
        lambda: payments_in_flight(running_system) == 0,
        60,
        "the payments the module started to end",
    )


@pytest.fixture(scope="module")
def services(stack: Stack) -> dict[str, str]:
    """Every service's URL, by its name."""
    return {name: stack.url(name) for name in SERVICE_NAMES}


@pytest.fixture(scope="module")
def auth(stack: Stack) -> dict[str, str]:
    """The Authorization header of the customer the e2e tests act as."""
    return stack.auth("ada")


@pytest.fixture(scope="module")
def commands(services: dict[str, str], auth: dict[str, str]) -> Iterator[httpx.Client]:
    """A client of the accounts command API."""
    url = services["accounts-api"]
    with httpx.Client(base_url=url, timeout=TIMEOUT_SECONDS, headers=auth) as client:
        yield client


@pytest.fixture(scope="module")
def operator(services: dict[str, str], stack: Stack) -> Iterator[httpx.Client]:
    """A client of the accounts command API for an operator (unfreezes any account)."""
    url, auth = services["accounts-api"], stack.auth("olga", "operator")
    with httpx.Client(base_url=url, timeout=TIMEOUT_SECONDS, headers=auth) as client:
        yield client


@pytest.fixture(scope="module")
def queries(services: dict[str, str], auth: dict[str, str]) -> Iterator[httpx.Client]:
    """A client of the account summary query API."""
    url = services["account-summary-query-api"]
    with httpx.Client(base_url=url, timeout=TIMEOUT_SECONDS, headers=auth) as client:
        yield client
