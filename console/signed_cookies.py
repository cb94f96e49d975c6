"""Cookies whose content the browser keeps and cannot change: JSON, base64url, an expiry
and an HMAC-SHA256 of both under the console's key. Nothing is kept on the server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CookieSigner:
    """Signs and reads back cookie values under one key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def sign(self, content: dict[str, Any], ttl_seconds: int) -> str:
        """The cookie value for `content`, good for `ttl_seconds`."""
        body = {"content": content, "expires": int(time.time()) + ttl_seconds}
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        return f"{payload}.{self._mac(payload)}"

    def read(self, value: str | None) -> dict[str, Any] | None:
        """The content of a cookie this signer made and that has not expired, else None."""
        if not value or "." not in value:
            return None
        payload, mac = value.rsplit(".", 1)
        if not hmac.compare_digest(mac, self._mac(payload)):
            return None
        try:
            body = json.loads(_unb64(payload))
        except ValueError:
            return None
        if not isinstance(body, dict) or body.get("expires", 0) <= time.time():
            return None
        content = body.get("content")
        return content if isinstance(content, dict) else None
