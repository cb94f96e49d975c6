"""The token verifier against the real development issuer app: every refusal has its
own reason, rotation keeps old tokens valid, an unknown kid refetches once."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jwt.algorithms import ECAlgorithm

from identity.jwks_cache import REFETCH_INTERVAL_SECONDS, IssuerUnavailable, JwksCache
from identity.minting import TokenMinter
from identity.verifier import Principal, TokenRefused, TokenVerifier
from tests.support.issuer import (
    ISSUER,
    DevIssuer,
    claims,
    counting_fetches,
    dev_issuer,
    hmac_with_public_key,
    signed_by_stranger,
    unsigned,
)

EC_ISSUER = "https://idp.example"


@pytest.fixture
def issuer(tmp_path: Path) -> DevIssuer:
    return dev_issuer(tmp_path)


def assert_refused(verifier: TokenVerifier, token: str | None, reason: str) -> None:
    with pytest.raises(TokenRefused) as refused:
        verifier.verify(token)
    assert refused.value.reason == reason, refused.value.detail


def test_a_minted_token_names_its_subject_and_roles(issuer: DevIssuer) -> None:
    token = issuer.mint("alice", roles=["teller", "auditor"])

    assert issuer.verifier().verify(token) == Principal(
        "alice", frozenset({"teller", "auditor"}), None
    )


def test_a_service_token_names_its_client(issuer: DevIssuer) -> None:
    token = issuer.mint("saga", roles=["service"], client_id="saga")

    assert issuer.verifier().verify(token) == Principal("saga", frozenset({"service"}), "saga")


def current_kid(issuer: DevIssuer) -> str:
    return issuer.directory.keyring.current().kid


BAD_TOKENS: dict[str, tuple[Callable[[DevIssuer], str | None], str]] = {
    "no token": (lambda i: None, "missing-token"),
    "empty token": (lambda i: "", "missing-token"),
    "not a JWT": (lambda i: "not-a-token", "malformed"),
    "three bad parts": (lambda i: "a.b.c", "malformed"),
    "alg none": (lambda i: unsigned(current_kid(i)), "unsigned"),
    "HS256 keyed with the public key": (
        lambda i: hmac_with_public_key(i.directory.keyring.current().public_pem(), current_kid(i)),
        "symmetric-algorithm",
    ),
    "unknown kid": (lambda i: signed_by_stranger("no-such-key"), "unknown-key"),
    "bad signature": (lambda i: signed_by_stranger(current_kid(i)), "bad-signature"),
    "wrong issuer": (
        lambda i: TokenMinter(i.directory.keyring, "https://evil.example").mint(
            "alice", ["customer"], 300, "paystream"
        ),
        "wrong-issuer",
    ),
    "wrong audience": (lambda i: i.mint(audience="another-api"), "wrong-audience"),
    "expired": (lambda i: i.mint(ttl=60, now=time.time() - 3600), "expired"),
    "not yet valid": (lambda i: i.mint(now=time.time() + 3600), "not-yet-valid"),
}


@pytest.mark.parametrize("case", BAD_TOKENS)
def test_a_bad_token_is_refused_with_its_own_reason(issuer: DevIssuer, case: str) -> None:
    make, reason = BAD_TOKENS[case]

    assert_refused(issuer.verifier(), make(issuer), reason)


def test_every_refusal_reason_is_distinct() -> None:
    reasons = [reason for _, reason in BAD_TOKENS.values() if reason != "missing-token"]

    assert len(set(reasons)) == len(reasons) - 1  # two malformed cases, one reason


def test_an_algorithm_outside_the_pinned_ones_is_refused(issuer: DevIssuer) -> None:
    key = issuer.directory.keyring.current()
    token = jwt.encode({"sub": "alice"}, key.private_key, "PS256", headers={"kid": key.kid})

    assert_refused(issuer.verifier(), token, "algorithm-not-allowed")


def test_a_token_without_kid_is_refused(issuer: DevIssuer) -> None:
    key = issuer.directory.keyring.current()
    token = jwt.encode({"sub": "alice"}, key.private_key, "RS256")

    assert_refused(issuer.verifier(), token, "unknown-key")


def test_a_token_without_expiry_is_refused(issuer: DevIssuer) -> None:
    key = issuer.directory.keyring.current()
    claims = {"iss": ISSUER, "sub": "alice", "aud": "paystream", "iat": int(time.time())}
    token = jwt.encode(claims, key.private_key, "RS256", headers={"kid": key.kid})

    assert_refused(issuer.verifier(), token, "missing-claim")


def test_an_issued_at_that_is_not_a_time_is_refused(issuer: DevIssuer) -> None:
    key = issuer.directory.keyring.current()
    token = jwt.encode(claims(iat="yesterday"), key.private_key, "RS256", headers={"kid": key.kid})

    assert_refused(issuer.verifier(), token, "invalid-claims")


def test_roles_that_are_not_a_list_of_names_are_refused(issuer: DevIssuer) -> None:
    key = issuer.directory.keyring.current()
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "al", "aud": "paystream", "iat": now, "exp": now + 60}
    token = jwt.encode(
        {**claims, "roles": "operator"}, key.private_key, "RS256", headers={"kid": key.kid}
    )

    assert_refused(issuer.verifier(), token, "malformed")


def test_a_token_signed_before_a_rotation_still_verifies(issuer: DevIssuer) -> None:
    verifier = issuer.verifier()
    before = issuer.mint("alice")
    verifier.verify(before)

    issuer.directory.keyring.rotate()
    issuer.clock.now += REFETCH_INTERVAL_SECONDS
    after = issuer.mint("bob")

    assert verifier.verify(before).subject == "alice"
    assert verifier.verify(after).subject == "bob"
    assert issuer.verifier().verify(before).subject == "alice"  # a verifier started after
    assert jwt.get_unverified_header(after)["kid"] != jwt.get_unverified_header(before)["kid"]


def test_an_unknown_kid_fetches_the_keys_again_once(issuer: DevIssuer) -> None:
    verifier = issuer.verifier()
    verifier.verify(issuer.mint())
    fetched = counting_fetches(issuer.http)
    issuer.clock.now += REFETCH_INTERVAL_SECONDS

    issuer.directory.keyring.rotate()
    assert verifier.verify(issuer.mint("bob")).subject == "bob"
    assert fetched == ["/jwks.json"]


def test_unknown_kids_refetch_at_most_once_per_interval(issuer: DevIssuer) -> None:
    verifier = issuer.verifier()
    verifier.verify(issuer.mint())
    fetched = counting_fetches(issuer.http)
    issuer.clock.now += REFETCH_INTERVAL_SECONDS

    for attempt in range(5):
        assert_refused(verifier, signed_by_stranger(f"made-up-{attempt}"), "unknown-key")

    assert fetched == ["/jwks.json"]
    issuer.clock.now += REFETCH_INTERVAL_SECONDS
    assert_refused(verifier, signed_by_stranger("made-up-again"), "unknown-key")
    assert fetched == ["/jwks.json", "/jwks.json"]


def test_keys_are_fetched_once_by_discovery_then_cached(issuer: DevIssuer) -> None:
    fetched = counting_fetches(issuer.http)
    verifier = issuer.verifier()

    for _ in range(3):
        verifier.verify(issuer.mint())

    assert fetched == ["/.well-known/openid-configuration", "/jwks.json"]


def test_an_unreachable_issuer_with_nothing_cached_is_unavailable(tmp_path: Path) -> None:
    issuer = dev_issuer(tmp_path)
    verifier = TokenVerifier(JwksCache("http://127.0.0.1:9/none", issuer.http), "paystream")

    with pytest.raises(IssuerUnavailable):
        verifier.verify(issuer.mint())


def test_a_discovery_document_naming_another_issuer_is_not_trusted(tmp_path: Path) -> None:
    issuer = dev_issuer(tmp_path)
    verifier = TokenVerifier(JwksCache("http://localhost:8090", issuer.http), "paystream")

    with pytest.raises(IssuerUnavailable, match="discovery"):
        verifier.verify(issuer.mint())


def ec_issuer() -> tuple[TokenVerifier, ec.EllipticCurvePrivateKey]:
    """An issuer publishing one P-256 key (as Keycloak can), served in process."""
    private_key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(ECAlgorithm.to_jwk(private_key.public_key()))
    app = FastAPI()

    @app.get("/.well-known/openid-configuration")
    def discovery() -> dict[str, str]:
        return {"issuer": EC_ISSUER, "jwks_uri": f"{EC_ISSUER}/certs"}

    @app.get("/certs")
    def certs() -> dict[str, object]:
        return {"keys": [{**jwk, "kid": "ec-1", "alg": "ES256", "use": "sig"}]}

    keys = JwksCache(EC_ISSUER, TestClient(app, base_url=EC_ISSUER))
    return TokenVerifier(keys, "paystream"), private_key


def test_an_es256_token_from_an_ec_issuer_verifies() -> None:
    verifier, private_key = ec_issuer()
    token = jwt.encode(claims(iss=EC_ISSUER), private_key, "ES256", headers={"kid": "ec-1"})

    assert verifier.verify(token).subject == "alice"


def test_a_token_whose_alg_is_not_its_key_s_is_refused() -> None:
    verifier, _ = ec_issuer()
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims(iss=EC_ISSUER), stranger, "RS256", headers={"kid": "ec-1"})

    assert_refused(verifier, token, "algorithm-not-allowed")
