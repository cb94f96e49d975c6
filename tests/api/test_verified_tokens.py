"""Verified tokens kept until they expire: a repeat skips the signature check, and never
verifies a token that a full check would refuse (expired, key withdrawn or replaced)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jwt.algorithms import ECAlgorithm

from api import accounts_app
from domains.accounts.application import AccountsService
from identity.jwks_cache import LIFESPAN_SECONDS, JwksCache
from identity.verified_tokens import VerifiedTokens
from identity.verifier import LEEWAY_SECONDS, TokenRefused, TokenVerifier
from tests.api.conftest import IN_MEMORY
from tests.support.issuer import AUDIENCE, FakeClock, claims, dev_issuer
from tests.support.issuer import ISSUER as DEV_ISSUER

ISSUER = "https://idp.example"


class RotatingIssuer:
    """An issuer whose published keys the test sets (`publish`), with a key cache on a
    clock the test moves, and a verifier whose verified tokens are on a wall clock the
    test moves too."""

    def __init__(self) -> None:
        self.published: dict[str, ec.EllipticCurvePrivateKey] = {}
        self.clock = FakeClock()
        self.wall = FakeClock()
        self.wall.now = time.time()
        self.signature_checks = 0
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        def discovery() -> dict[str, Any]:
            return {"issuer": ISSUER, "jwks_uri": f"{ISSUER}/certs"}

        @app.get("/certs")
        def certs() -> dict[str, Any]:
            return {"keys": [jwk(kid, key) for kid, key in self.published.items()]}

        self.keys = JwksCache(ISSUER, TestClient(app, base_url=ISSUER), clock=self.clock)
        self.tokens = VerifiedTokens(max_entries=2, clock=lambda: self.wall.now)
        self.verifier = TokenVerifier(self.keys, "paystream", self.tokens)

    def publish(self, *kids: str) -> dict[str, ec.EllipticCurvePrivateKey]:
        """Publish a new key under each of `kids` (and only those)."""
        self.published = {kid: ec.generate_private_key(ec.SECP256R1()) for kid in kids}
        return self.published

    def token(self, kid: str = "k1", **overrides: Any) -> str:
        payload = claims(iss=ISSUER, **overrides)
        return jwt.encode(payload, self.published[kid], "ES256", headers={"kid": kid})

    def next_key_set(self) -> None:
        """Let the key cache's lifespan pass: the next `key` fetches the key set again."""
        self.clock.now += LIFESPAN_SECONDS


def jwk(kid: str, key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    public = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    return {**public, "kid": kid, "alg": "ES256", "use": "sig"}


@pytest.fixture
def issuer(monkeypatch: pytest.MonkeyPatch) -> RotatingIssuer:
    made = RotatingIssuer()
    made.publish("k1")
    decode = jwt.decode

    def counted(*args: Any, **kwargs: Any) -> Any:
        made.signature_checks += 1
        return decode(*args, **kwargs)

    monkeypatch.setattr("identity.verifier.jwt.decode", counted)
    return made


def refusal_of(issuer: RotatingIssuer, token: str) -> str:
    with pytest.raises(TokenRefused) as refused:
        issuer.verifier.verify(token)
    return refused.value.reason


def test_a_token_verified_before_is_not_checked_again(issuer: RotatingIssuer) -> None:
    token = issuer.token()

    first = issuer.verifier.verify(token)

    assert issuer.verifier.verify(token) == first
    assert issuer.verifier.verified_before(token) == first
    assert issuer.signature_checks == 1


def test_a_token_one_byte_away_from_a_verified_one_is_checked(issuer: RotatingIssuer) -> None:
    token = issuer.token()
    issuer.verifier.verify(token)
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]

    assert issuer.verifier.verified_before(tampered) is None
    assert refusal_of(issuer, tampered) == "bad-signature"


def test_a_verified_token_expires_exactly_when_a_full_check_would_refuse_it(
    issuer: RotatingIssuer,
) -> None:
    exp = int(issuer.wall.now) + 60
    token = issuer.token(exp=exp)
    issuer.verifier.verify(token)

    issuer.wall.now = exp + LEEWAY_SECONDS - 0.001  # jwt.decode: refused when exp <= now - leeway
    assert issuer.verifier.verified_before(token) is not None
    assert issuer.verifier.verify(token).subject == "alice"

    issuer.wall.now = exp + LEEWAY_SECONDS
    with pytest.raises(TokenRefused) as refused:
        issuer.verifier.verified_before(token)
    assert refused.value.reason == "expired"
    assert len(issuer.tokens) == 0
    assert issuer.signature_checks == 1


def test_a_token_whose_key_is_withdrawn_is_refused_once_the_keys_are_fetched_again(
    issuer: RotatingIssuer,
) -> None:
    token = issuer.token()
    issuer.verifier.verify(token)
    issuer.publish("k2")

    issuer.next_key_set()

    assert issuer.verifier.verified_before(token) is None  # a fetch is due: not on the loop
    assert refusal_of(issuer, token) == "unknown-key"
    assert len(issuer.tokens) == 0


def test_a_token_whose_key_id_now_names_another_key_is_checked_again(
    issuer: RotatingIssuer,
) -> None:
    token = issuer.token()
    issuer.verifier.verify(token)
    issuer.publish("k1")  # the same kid, another key

    issuer.next_key_set()

    assert refusal_of(issuer, token) == "bad-signature"
    assert issuer.signature_checks == 2


def test_a_token_whose_key_is_still_published_after_a_fetch_verifies_again(
    issuer: RotatingIssuer,
) -> None:
    token = issuer.token()
    issuer.verifier.verify(token)

    issuer.next_key_set()

    assert issuer.verifier.verify(token).subject == "alice"
    assert issuer.verifier.verified_before(token) is not None
    assert issuer.signature_checks == 2  # once more against the key set fetched again


def test_at_most_max_entries_are_kept_the_oldest_dropped_first(issuer: RotatingIssuer) -> None:
    tokens = [issuer.token(sub=name) for name in ("ann", "bob", "cy")]

    for token in tokens:
        issuer.verifier.verify(token)

    assert len(issuer.tokens) == 2
    assert issuer.verifier.verified_before(tokens[0]) is None
    assert issuer.verifier.verified_before(tokens[2]) is not None


def test_a_refused_token_is_not_kept(issuer: RotatingIssuer) -> None:
    token = issuer.token(aud="another-api")

    assert refusal_of(issuer, token) == "wrong-audience"
    assert refusal_of(issuer, token) == "wrong-audience"
    assert issuer.verifier.verified_before(token) is None
    assert issuer.signature_checks == 2


def test_an_api_answers_401_for_a_remembered_token_once_it_has_expired(
    tmp_path: Path,
) -> None:
    issuer = dev_issuer(tmp_path)
    wall = FakeClock()
    wall.now = time.time()
    tokens = VerifiedTokens(clock=lambda: wall.now)
    verifier = TokenVerifier(
        JwksCache(DEV_ISSUER, issuer.http, clock=issuer.clock), AUDIENCE, tokens
    )
    app = accounts_app.create_app(lambda: AccountsService(env=IN_MEMORY), verifier)
    token = issuer.mint("ada", ttl=60)
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    opening = {"owner": "ada", "currency": "EUR"}

    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        assert client.post("/accounts", json=opening).status_code == 201
        wall.now = exp + LEEWAY_SECONDS - 0.001
        assert client.post("/accounts", json=opening).status_code == 201
        wall.now = exp + LEEWAY_SECONDS
        refused = client.post("/accounts", json=opening)

    assert refused.status_code == 401
    assert refused.json()["reason"] == "expired"
    assert len(tokens) == 0
