"""The issuer's RSA signing keys, one PEM file per key under `<issuer dir>/keys/`.

The newest key signs; the JWKS publishes the newest and the KEPT - 1 before it, so a
token signed before a rotation verifies until it expires. A key id sorts by creation
time, so the directory's order is the keys' age.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from identity.private_files import write_private

SIGNING_ALGORITHM = "RS256"
KEY_BITS = 2048
KEPT = 3  # the signing key and the two before it
KEY_SUFFIX = ".pem"


class NoSigningKey(LookupError):
    """The issuer directory holds no key yet (the issuer never started there)."""


@dataclass(frozen=True)
class SigningKey:
    """One RSA key pair and its key id (`kid`)."""

    kid: str
    private_key: rsa.RSAPrivateKey

    def public_jwk(self) -> dict[str, Any]:
        """The public half as a JWK, marked for RS256 signatures."""
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        return {**jwk, "kid": self.kid, "use": "sig", "alg": SIGNING_ALGORITHM}

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def new_kid(now: datetime | None = None) -> str:
    """A key id that sorts by creation time: `20261202T012233123456Z-1a2b3c4d`."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{secrets.token_hex(4)}"


class KeyRing:
    """The signing keys in `<directory>/keys`, newest last."""

    def __init__(self, directory: Path) -> None:
        self.keys_dir = directory / "keys"

    def kids(self) -> list[str]:
        """The key ids on disk, oldest first."""
        if not self.keys_dir.is_dir():
            return []
        return sorted(path.stem for path in self.keys_dir.glob(f"*{KEY_SUFFIX}"))

    def load(self, kid: str) -> SigningKey:
        pem = (self.keys_dir / f"{kid}{KEY_SUFFIX}").read_bytes()
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"signing key {kid} is not an RSA key")
        return SigningKey(kid, key)

    def current(self) -> SigningKey:
        """The key that signs now."""
        kids = self.kids()
        if not kids:
            raise NoSigningKey(f"no signing key in {self.keys_dir}")
        return self.load(kids[-1])

    def published(self) -> list[SigningKey]:
        """The keys the JWKS publishes: the signing key and the KEPT - 1 before it."""
        return [self.load(kid) for kid in self.kids()[-KEPT:]]

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set of the published keys, newest first."""
        return {"keys": [key.public_jwk() for key in reversed(self.published())]}

    def rotate(self) -> SigningKey:
        """Add a new signing key; keys older than the KEPT newest are deleted."""
        key = SigningKey(
            new_kid(), rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
        )
        pem = key.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_private(self.keys_dir / f"{key.kid}{KEY_SUFFIX}", pem)
        for old in self.kids()[:-KEPT]:
            (self.keys_dir / f"{old}{KEY_SUFFIX}").unlink(missing_ok=True)
        return key

    def ensure(self) -> SigningKey:
        """The signing key, created first when there is none."""
        try:
            return self.current()
        except NoSigningKey:
            return self.rotate()
