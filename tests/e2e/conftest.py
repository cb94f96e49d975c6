"""End-to-end fixtures: every accounts service as its own process, spoken to over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.stack import Stack

# Workers first, so the query API never waits on a projector that is not running.
SERVICE_NAMES = (
    "relay-accounts",
    "projector-account-summary",
    "accounts-api",
    "account-summary-query-api",
)
TIMEOUT_SECONDS = 30.0


@pytest.fixture(scope="module")
def services(stack: Stack) -> dict[str, str]:
    """Start the four accounts services, each until ready; their URLs by service name.

    The `stack` fixture stops them when the module is done.
    """
    return {name: stack.start(name).url for name in SERVICE_NAMES}


@pytest.fixture(scope="module")
def commands(services: dict[str, str]) -> Iterator[httpx.Client]:
    """A client of the accounts command API."""
    with httpx.Client(base_url=services["accounts-api"], timeout=TIMEOUT_SECONDS) as client:
        yield client


@pytest.fixture(scope="module")
def queries(services: dict[str, str]) -> Iterator[httpx.Client]:
    """A client of the account summary query API."""
    with httpx.Client(
        base_url=services["account-summary-query-api"], timeout=TIMEOUT_SECONDS
    ) as client:
        yield client
