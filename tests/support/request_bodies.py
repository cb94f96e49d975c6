"""A refusal table's request body, sent as the case holds it: none at all, raw bytes
(sent as JSON), or a value encoded as JSON."""

from __future__ import annotations

from typing import Any

import httpx

NO_BODY = object()


def post_body(
    client: httpx.Client, path: str, body: Any, headers: dict[bytes, bytes]
) -> httpx.Response:
    if body is NO_BODY:
        return client.post(path, headers=headers)
    if isinstance(body, bytes):
        return client.post(
            path, content=body, headers={b"Content-Type": b"application/json", **headers}
        )
    return client.post(path, json=body, headers=headers)
