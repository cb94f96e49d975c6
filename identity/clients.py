"""The development issuer's service clients and their secrets, in `<issuer dir>/clients.json`
(0600, generated on first start, never in the repository)."""

from __future__ import annotations

import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from identity.private_files import write_private
from identity.roles import SERVICE

CLIENTS_FILE = "clients.json"
# The clients generated on first start: client id -> roles.
# The saga runs payment steps; the payments API looks up the accounts a payment names.
DEFAULT_CLIENTS: dict[str, tuple[str, ...]] = {"saga": (SERVICE,), "payments-api": (SERVICE,)}


@dataclass(frozen=True)
class Client:
    """A service that gets tokens by client credentials."""

    client_id: str
    secret: str
    roles: tuple[str, ...]


def secret_variable(client_id: str) -> str:
    """The variable that, when set, gives a client its secret (compose.yaml sets them from
    .env, so the issuer and the service share one): PAYSTREAM_CLIENT_SECRET_<ID>."""
    return "PAYSTREAM_CLIENT_SECRET_" + client_id.upper().replace("-", "_")


def load_clients(directory: Path) -> dict[str, Client]:
    """The clients configured in `directory`, by client id; a secret given by its
    variable (`secret_variable`) replaces the stored one."""
    entries = json.loads((directory / CLIENTS_FILE).read_text(encoding="utf-8"))
    return {
        client_id: Client(
            client_id,
            os.environ.get(secret_variable(client_id)) or str(entry["secret"]),
            tuple(entry["roles"]),
        )
        for client_id, entry in entries.items()
    }


def ensure_clients(directory: Path) -> dict[str, Client]:
    """The configured clients, each default one that is missing added with a new secret."""
    path = directory / CLIENTS_FILE
    entries = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    missing = {
        client_id: {"secret": secrets.token_urlsafe(32), "roles": list(roles)}
        for client_id, roles in DEFAULT_CLIENTS.items()
        if client_id not in entries
    }
    if missing:
        write_private(path, json.dumps(entries | missing, indent=2).encode())
    return load_clients(directory)


def authenticate(clients: dict[str, Client], client_id: str, secret: str) -> Client | None:
    """The client whose id and secret these are, or None; compared in constant time."""
    client = clients.get(client_id)
    expected = client.secret if client else secrets.token_urlsafe(32)
    matches = hmac.compare_digest(expected.encode(), secret.encode())
    return client if client and matches else None
