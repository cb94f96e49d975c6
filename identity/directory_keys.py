"""The development issuer's keys read from its directory: tokens it signed verify
without it running (the operator CLI uses this when OIDC_ISSUER is not set)."""

from __future__ import annotations

import jwt

from identity.issuer_directory import IssuerDirectory
from identity.jwks_cache import usable_keys


class DirectoryKeys:
    """The published keys of the development issuer whose directory is `directory`."""

    def __init__(self, directory: IssuerDirectory) -> None:
        self.issuer = directory.issuer()  # NoSigningKey when no issuer ever started there
        self._keys = usable_keys(directory.keyring.jwks())

    def key(self, kid: str) -> jwt.PyJWK | None:
        return self._keys.get(kid)

    def key_at_hand(self, kid: str) -> jwt.PyJWK | None:
        return self._keys.get(kid)
