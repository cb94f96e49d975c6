"""A development issuer for tests: a real issuer directory and the real issuer app in
process, with a verifier that fetches its keys from that app (fetches counted)."""

from __future__ import annotations

import base64
import hmac
import json
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from identity.clients import Client
from identity.issuer_app import create_issuer_app
from identity.issuer_directory import IssuerDirectory
from identity.jwks_cache import JwksCache
from identity.minting import TokenMinter
from identity.settings import DEFAULT_AUDIENCE
from identity.verifier import TokenVerifier

ISSUER = "http://127.0.0.1:8090"
AUDIENCE = "paystream"


class FakeClock:
    """A monotonic clock the test moves by hand (no sleeping to let time pass)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class DevIssuer:
    """The issuer directory, the app serving it, and what tests mint and verify with."""

    directory: IssuerDirectory
    clients: dict[str, Client]
    http: TestClient
    clock: FakeClock

    @property
    def minter(self) -> TokenMinter:
        return TokenMinter(self.directory.keyring, ISSUER)

    def mint(self, subject: str = "alice", **claims: Any) -> str:
        """A token for `subject` signed by the current key (`now` to move it in time)."""
        roles = claims.pop("roles", ["customer"])
        ttl = claims.pop("ttl", 300)
        audience = claims.pop("audience", AUDIENCE)
        return self.minter.mint(subject, roles, ttl, audience, **claims)

    def verifier(self, audience: str = AUDIENCE) -> TokenVerifier:
        """A fresh verifier of this issuer's tokens (its own, empty key cache)."""
        return TokenVerifier(JwksCache(ISSUER, self.http, clock=self.clock), audience)


def dev_issuer(path: Path) -> DevIssuer:
    directory = IssuerDirectory(path / "issuer")
    clients = directory.prepare(ISSUER)
    app = create_issuer_app(directory, ISSUER, AUDIENCE)
    return DevIssuer(directory, clients, TestClient(app, base_url=ISSUER), FakeClock())


def counting_fetches(http: httpx.Client) -> list[str]:
    """The URLs `http` fetches from now on, appended as they are requested."""
    fetched: list[str] = []
    http.event_hooks = {"request": [lambda request: fetched.append(request.url.path)]}
    return fetched


def claims(**overrides: Any) -> dict[str, Any]:
    """Valid claims for the test issuer and audience, `overrides` applied."""
    now = int(time.time())
    valid = {"iss": ISSUER, "sub": "alice", "aud": AUDIENCE, "iat": now, "exp": now + 300}
    return {**valid, **overrides}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signing_input(alg: str, kid: object) -> str:
    """A token's header and payload, encoded, for hand-made (forged) signatures."""
    header = _b64(json.dumps({"alg": alg, "typ": "JWT", "kid": kid}).encode())
    return f"{header}.{_b64(json.dumps(claims()).encode())}"


def unsigned(kid: str) -> str:
    """A token with `alg: none` and an empty signature."""
    return f"{signing_input('none', kid)}."


def hmac_with_public_key(public_pem: bytes, kid: str) -> str:
    """The algorithm-confusion attack: HS256 keyed with the issuer's public key PEM
    (built by hand: PyJWT itself refuses to use a PEM as an HMAC secret)."""
    signed = signing_input("HS256", kid)
    signature = hmac.new(public_pem, signed.encode(), "sha256").digest()
    return f"{signed}.{_b64(signature)}"


def signed_by_stranger(kid: str) -> str:
    """A token naming the issuer's key id, signed by another RSA key."""
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims(), stranger, algorithm="RS256", headers={"kid": kid})


class Bearer(httpx.Auth):
    """A fixed bearer token on every request (a client holding one token)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


def saga_token(issuer_dir: Path, issuer_url: str) -> str:
    """The saga's service identity from a real issuer directory, as it gets it by client
    credentials, for an hour."""
    minter = TokenMinter(IssuerDirectory(issuer_dir).keyring, issuer_url)
    return minter.mint("saga", ["service"], 3600, DEFAULT_AUDIENCE, client_id="saga")
