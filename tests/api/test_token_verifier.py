"""The token verifier against the real development issuer app: every refusal has its
own reason, rotation keeps old tokens valid, an unknown kid refetches once."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import jwt
import pytest

from identity.jwks_cache import REFETCH_INTERVAL_SECONDS, IssuerUnavailable, JwksCache
from identity.minting import TokenMinter
from identity.verifier import Principal, TokenRefused, TokenVerifier
from tests.support.issuer import (
    DevIssuer,
    claims,
    counting_fetches,
    dev_issuer,
    hmac_with_public_key,
    signed_by_stranger,
    signing_input,
    unsigned,
)


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


def signed(
    issuer: DevIssuer, payload: dict[str, object], alg: str = "RS256", kid: bool = True
) -> str:
    """A token with `payload`, signed by the issuer's current key."""
    key = issuer.directory.keyring.current()
    headers = {"kid": key.kid} if kid else None
    return jwt.encode(payload, key.private_key, alg, headers=headers)


def without_expiry() -> dict[str, object]:
    return {name: value for name, value in claims().items() if name != "exp"}


ODD_TOKENS: dict[str, tuple[Callable[[DevIssuer], str], str]] = {
    "an unpinned algorithm (PS256)": (
        lambda i: signed(i, claims(), "PS256"),
        "algorithm-not-allowed",
    ),
    "no kid": (lambda i: signed(i, claims(), kid=False), "unknown-key"),
    "a kid that is not a string": (lambda i: f"{signing_input('RS256', 5)}.c2ln", "malformed"),
    "no expiry": (lambda i: signed(i, without_expiry()), "missing-claim"),
    "an empty subject": (lambda i: signed(i, claims(sub="")), "missing-claim"),
    "an iat that is not a time": (lambda i: signed(i, claims(iat="yesterday")), "invalid-claims"),
    "roles not a list": (lambda i: signed(i, claims(roles="operator")), "malformed"),
}


@pytest.mark.parametrize("case", ODD_TOKENS)
def test_a_token_of_odd_shape_is_refused(issuer: DevIssuer, case: str) -> None:
    make, reason = ODD_TOKENS[case]

    assert_refused(issuer.verifier(), make(issuer), reason)


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
