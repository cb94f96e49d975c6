"""In-process API tests: the real apps under TestClient, on the in-memory event store.

For what is decided at the door (request validation): no server process, no database.
The stored events are read back from the in-memory recorder, metadata included.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from api import accounts_app, payments_commands
from domains.accounts.application import AccountsService
from domains.payments.application import PaymentsService
from domains.service import CommandService

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


def stored_events(client: TestClient) -> list[dict[str, Any]]:
    """Every event the client's app has stored, decoded, `__meta__` included."""
    service: CommandService = client.app.state.service  # type: ignore[attr-defined]
    notifications = service.recorder.select_notifications(start=None, limit=1_000_000)
    return [orjson.loads(n.state) for n in notifications]


def event_count(client: TestClient) -> int:
    return len(stored_events(client))


def post_exactly(
    client: TestClient, path: str, body: Any, headers: list[tuple[bytes, bytes]]
) -> httpx.Response:
    """POST `body` as JSON with `headers` reaching the app byte for byte (TestClient
    re-encodes non-ASCII header bytes, httpx's ASGI transport does not)."""

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            json_headers = [(b"Content-Type", b"application/json"), *headers]
            return await http.post(path, content=json.dumps(body), headers=json_headers)

    return anyio.run(send)
