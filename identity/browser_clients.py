"""The development issuer's browser clients (the console): public clients that sign a
person in by authorization code with PKCE, each allowed only its registered redirect
URIs. Kept in `<issuer dir>/browser_clients.json` (0600), read on every request."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from identity.private_files import write_private

BROWSER_CLIENTS_FILE = "browser_clients.json"
CONSOLE_CLIENT = "console"


@dataclass(frozen=True)
class BrowserClient:
    """A client with no secret: PKCE proves the code's redeemer is its requester."""

    client_id: str
    redirect_uris: tuple[str, ...]


def load_browser_clients(directory: Path) -> dict[str, BrowserClient]:
    """The registered browser clients, by client id (none when none was registered)."""
    path = directory / BROWSER_CLIENTS_FILE
    if not path.exists():
        return {}
    entries = json.loads(path.read_text(encoding="utf-8"))
    return {
        client_id: BrowserClient(client_id, tuple(entry["redirect_uris"]))
        for client_id, entry in entries.items()
    }


def register_browser_client(directory: Path, client_id: str, redirect_uris: list[str]) -> None:
    """Allow `client_id` to sign people in, redirecting only to `redirect_uris` (replacing
    what it was registered with before)."""
    path = directory / BROWSER_CLIENTS_FILE
    entries = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    entries[client_id] = {"redirect_uris": list(redirect_uris)}
    write_private(path, json.dumps(entries, indent=2).encode())
