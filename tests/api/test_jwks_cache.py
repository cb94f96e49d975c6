"""The key cache against another issuer (served in process): ES256 keys, an issuer that
goes down after the first fetch, discovery documents that cannot be trusted."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI, Response
from fastapi.testclient import TestClient
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from identity.jwks_cache import LIFESPAN_SECONDS, IssuerUnavailable, JwksCache, usable_keys
from identity.verifier import TokenRefused, TokenVerifier
from tests.support.issuer import FakeClock, claims

ISSUER = "https://idp.example"


class OtherIssuer:
    """An issuer publishing one P-256 key (as Keycloak can); `down` makes it answer 503."""

    def __init__(self, discovery: dict[str, Any] | None = None) -> None:
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.down = False
        self.discovery = discovery or {"issuer": ISSUER, "jwks_uri": f"{ISSUER}/certs"}
        self.clock = FakeClock()
        jwk = json.loads(ECAlgorithm.to_jwk(self.private_key.public_key()))
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        def discovery_document() -> dict[str, Any]:
            return self.discovery

        @app.get("/certs", response_model=None)
        def certs() -> dict[str, Any] | Response:
            if self.down:
                return Response(status_code=503)
            return {"keys": [{**jwk, "kid": "ec-1", "alg": "ES256", "use": "sig"}]}

        self.keys = JwksCache(ISSUER, TestClient(app, base_url=ISSUER), clock=self.clock)
        self.verifier = TokenVerifier(self.keys, "paystream")

    def token(self, kid: str = "ec-1") -> str:
        return jwt.encode(claims(iss=ISSUER), self.private_key, "ES256", headers={"kid": kid})


def test_an_es256_token_from_an_ec_issuer_verifies() -> None:
    issuer = OtherIssuer()

    assert issuer.verifier.verify(issuer.token()).subject == "alice"


def test_a_token_whose_alg_is_not_its_key_s_is_refused() -> None:
    issuer = OtherIssuer()
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims(iss=ISSUER), stranger, "RS256", headers={"kid": "ec-1"})

    with pytest.raises(TokenRefused) as refused:
        issuer.verifier.verify(token)
    assert refused.value.reason == "algorithm-not-allowed"


def test_an_issuer_that_goes_down_leaves_the_cached_keys_in_use() -> None:
    issuer = OtherIssuer()
    issuer.verifier.verify(issuer.token())
    issuer.down = True

    issuer.clock.now += LIFESPAN_SECONDS  # the cache is due for a refresh, which fails

    assert issuer.verifier.verify(issuer.token()).subject == "alice"
    assert issuer.keys.fetches == 2


def test_an_issuer_that_is_down_from_the_start_is_unavailable() -> None:
    issuer = OtherIssuer()
    issuer.down = True

    with pytest.raises(IssuerUnavailable, match="503"):
        issuer.verifier.verify(issuer.token())


@pytest.mark.parametrize(
    ("discovery", "message"),
    [
        ({"issuer": "https://other.example", "jwks_uri": f"{ISSUER}/certs"}, "names issuer"),
        ({"issuer": ISSUER}, "no jwks_uri"),
    ],
)
def test_a_discovery_document_that_cannot_be_trusted(
    discovery: dict[str, Any], message: str
) -> None:
    issuer = OtherIssuer(discovery)

    with pytest.raises(IssuerUnavailable, match=message):
        issuer.verifier.verify(issuer.token())


def test_keys_without_a_kid_or_of_other_algorithms_are_not_used() -> None:
    public_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    rsa_key = json.loads(RSAAlgorithm.to_jwk(public_key))
    jwks = {
        "keys": [
            {**rsa_key, "alg": "RS256"},  # no kid
            {**rsa_key, "kid": "ps", "alg": "PS256"},
            {**rsa_key, "kid": "enc", "alg": "RS256", "use": "enc"},
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            "not a key",
            {**rsa_key, "kid": "good", "alg": "RS256"},
        ]
    }

    assert list(usable_keys(jwks)) == ["good"]
