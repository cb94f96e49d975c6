"""In-process API tests: the real apps under TestClient, on the in-memory event store.

For what is decided at the door (request validation): no server process, no database.
The stored events are read back from the in-memory recorder, metadata included. Tokens
come from the development issuer's real app, in process (tests/support/issuer.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from api import accounts_app, payments_commands
from domains.accounts.application import AccountsService
from domains.payments.application import PaymentsService
from tests.support.issuer import DevIssuer, dev_issuer

IN_MEMORY = {
    "PERSISTENCE_MODULE": "eventstore.memory_store",
    "MAPPER_TOPIC": "eventstore.mapper:MetadataMapper",
    "TRANSCODER_TOPIC": "eventstore.transcoder:default_transcoder",
}


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> DevIssuer:
    return dev_issuer(tmp_path_factory.mktemp("issuer"))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def accounts(issuer: DevIssuer) -> Iterator[TestClient]:
    """The accounts command API (money commands and payment steps), in memory, called by
    a customer (`saga_headers` are the saga's, for the payment steps)."""
    app = accounts_app.create_app(lambda: AccountsService(env=IN_MEMORY), issuer.verifier())
    headers = bearer(issuer.mint("ada"))
    with TestClient(app, raise_server_exceptions=False, headers=headers) as client:
        yield client


@pytest.fixture(scope="module")
def operator_headers(issuer: DevIssuer) -> dict[str, str]:
    """An operator's token (freezes and unfreezes any account), as a header."""
    return bearer(issuer.mint("olga", roles=["operator"]))


@pytest.fixture(scope="module")
def saga_headers(issuer: DevIssuer) -> dict[str, str]:
    """The saga's service identity, as a token's header."""
    return bearer(issuer.mint("saga", roles=["service"], client_id="saga"))


@pytest.fixture(scope="module")
def payments(issuer: DevIssuer) -> Iterator[TestClient]:
    """The payments command API, in memory (requests refused before any account lookup),
    called by a customer."""
    app = payments_commands.create_app(
        lambda: PaymentsService(env=IN_MEMORY), issuer.verifier(), httpx.Auth()
    )
    headers = bearer(issuer.mint("ada"))
    with TestClient(app, raise_server_exceptions=False, headers=headers) as client:
        yield client
