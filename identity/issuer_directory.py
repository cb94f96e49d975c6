"""What the development issuer keeps in its directory: keys, clients, its identifier."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from identity.clients import Client, ensure_clients
from identity.keys import KeyRing, NoSigningKey
from identity.private_files import private_dir, write_private

IDENTIFIER_FILE = "issuer.json"


@dataclass(frozen=True)
class IssuerDirectory:
    """`<path>/keys/*.pem`, `<path>/clients.json` and `<path>/issuer.json`, all 0600."""

    path: Path

    @property
    def keyring(self) -> KeyRing:
        return KeyRing(self.path)

    def prepare(self, issuer: str) -> dict[str, Client]:
        """Everything the issuer needs, created when missing; records its identifier."""
        private_dir(self.path)
        self.keyring.ensure()
        write_private(self.path / IDENTIFIER_FILE, json.dumps({"issuer": issuer}).encode())
        return ensure_clients(self.path)

    def issuer(self) -> str:
        """The identifier of the issuer that last started on this directory."""
        try:
            recorded = json.loads((self.path / IDENTIFIER_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NoSigningKey(f"no development issuer has started on {self.path}") from None
        return str(recorded["issuer"])
