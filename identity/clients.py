"""The development issuer's service clients and their secrets, in `<issuer dir>/clients.json`
(0600, generated on first start, never in the repository)."""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from identity.private_files import write_private
from identity.roles import SERVICE

CLIENTS_FILE = "clients.json"
# The clients generated on first start: client id -> roles.
DEFAULT_CLIENTS: dict[str, tuple[str, ...]] = {"saga": (SERVICE,)}


@dataclass(frozen=True)
class Client:
    """A service that gets tokens by client credentials."""

    client_id: str
    secret: str
    roles: tuple[str, ...]


def load_clients(directory: Path) -> dict[str, Client]:
    """The clients configured in `directory`, by client id."""
    entries = json.loads((directory / CLIENTS_FILE).read_text(encoding="utf-8"))
    return {
        client_id: Client(client_id, str(entry["secret"]), tuple(entry["roles"]))
        for client_id, entry in entries.items()
    }


def ensure_clients(directory: Path) -> dict[str, Client]:
    """The configured clients; the default ones, with new secrets, when none are."""
    if not (directory / CLIENTS_FILE).exists():
        entries = {
            client_id: {"secret": secrets.token_urlsafe(32), "roles": list(roles)}
            for client_id, roles in DEFAULT_CLIENTS.items()
        }
        write_private(directory / CLIENTS_FILE, json.dumps(entries, indent=2).encode())
    return load_clients(directory)


def authenticate(clients: dict[str, Client], client_id: str, secret: str) -> Client | None:
    """The client whose id and secret these are, or None; compared in constant time."""
    client = clients.get(client_id)
    expected = client.secret if client else secrets.token_urlsafe(32)
    matches = hmac.compare_digest(expected.encode(), secret.encode())
    return client if client and matches else None
