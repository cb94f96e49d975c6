"""What the services of a development stack are told about its development issuer.

Every service trusts the issuer (OIDC_ISSUER); the issuer keeps its keys and clients in
its directory (PAYSTREAM_ISSUER_DIR); a service that calls others gets its own client's
secret (PAYSTREAM_CLIENT_ID, PAYSTREAM_CLIENT_SECRET) and no other's.
"""

from __future__ import annotations

from pathlib import Path

from identity.clients import Client
from identity.issuer_directory import IssuerDirectory


def prepare_issuer(directory: Path, issuer_url: str) -> dict[str, Client]:
    """The issuer's keys and clients, created when missing, before any service starts (so
    each can be given its secret); the clients by id."""
    return IssuerDirectory(directory).prepare(issuer_url)


def identity_env(
    name: str, directory: Path, issuer_url: str, clients: dict[str, Client]
) -> dict[str, str]:
    """The identity settings of service `name` (a client of its own when it has one)."""
    env = {"OIDC_ISSUER": issuer_url, "PAYSTREAM_ISSUER_DIR": str(directory)}
    if client := clients.get(name):
        env |= {"PAYSTREAM_CLIENT_ID": client.client_id, "PAYSTREAM_CLIENT_SECRET": client.secret}
    return env
