"""Reading what an in-process app (the real app under TestClient, on the in-memory
store) has stored, and sending headers byte for byte."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
import orjson
from fastapi.testclient import TestClient

from domains.service import CommandService


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
    re-encodes non-ASCII header bytes, httpx's ASGI transport does not); the client's
    own headers (its token) are sent too, unless `headers` replace them."""

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://api", headers=client.headers
        ) as http:
            json_headers = [(b"Content-Type", b"application/json"), *headers]
            return await http.post(path, content=json.dumps(body), headers=json_headers)

    return anyio.run(send)
