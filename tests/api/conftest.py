"""In-process API tests: the real apps under TestClient, on the in-memory event store.

For what is decided at the door (request validation): no server process, no database.
The stored events are read back from the in-memory recorder, metadata included.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api import accounts_app, payments_commands
from domains.accounts.application import AccountsService
from domains.payments.application import PaymentsService

IN_MEMORY = {
    "PERSISTENCE_MODULE": "eventstore.memory_store",
    "MAPPER_TOPIC": "eventstore.mapper:MetadataMapper",
    "TRANSCODER_TOPIC": "eventstore.transcoder:default_transcoder",
}


@pytest.fixture(scope="module")
def accounts() -> Iterator[TestClient]:
    """The accounts command API (money commands and payment steps), in memory."""
    app = accounts_app.create_app(lambda: AccountsService(env=IN_MEMORY))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def payments() -> Iterator[TestClient]:
    """The payments command API, in memory (requests refused before any account lookup)."""
    app = payments_commands.create_app(lambda: PaymentsService(env=IN_MEMORY))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
