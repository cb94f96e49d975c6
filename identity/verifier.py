"""Verify a bearer token against the trusted issuer's keys: who is calling, or why not.

Only the pinned asymmetric algorithms verify. Each refusal has its own reason, so a
401 says exactly what was wrong with the token (never what the right answer would be).
"""

from __future__ import annotations

from typing import Any, Protocol

import httpx
import jwt

from identity.jwks_cache import PINNED_ALGORITHMS, JwksCache
from identity.principal import Principal as Principal
from identity.roles import ROLES_CLAIM
from identity.settings import OidcSettings
from identity.verified_tokens import Verified, VerifiedTokens

LEEWAY_SECONDS = 10  # clock skew tolerated on exp, nbf and iat
REQUIRED_CLAIMS = ("iss", "sub", "aud", "exp", "iat")


class TokenRefused(Exception):
    """A token that does not authenticate; `reason` is a stable code, the message says why."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


# jwt.decode's errors, most specific first, as reasons.
DECODE_REFUSALS: tuple[tuple[type[jwt.PyJWTError], str, str], ...] = (
    (jwt.InvalidSignatureError, "bad-signature", "the token's signature does not verify"),
    (jwt.ExpiredSignatureError, "expired", "the token has expired"),
    (jwt.ImmatureSignatureError, "not-yet-valid", "the token is not valid yet"),
    (jwt.InvalidIssuerError, "wrong-issuer", "the token is from another issuer"),
    (jwt.InvalidAudienceError, "wrong-audience", "the token is for another audience"),
    (jwt.MissingRequiredClaimError, "missing-claim", "the token lacks a required claim"),
    (jwt.DecodeError, "malformed", "the token is not a well-formed JWT"),
)


def header_of(token: str) -> tuple[str, str | None]:
    """The token's `alg` and `kid`, refused unless `alg` is one of the pinned ones."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise TokenRefused("malformed", "the token is not a well-formed JWT") from None
    alg, kid = header.get("alg"), header.get("kid")
    if not isinstance(alg, str) or (kid is not None and not isinstance(kid, str)):
        raise TokenRefused("malformed", "the token's header is not well formed")
    if alg.lower() == "none":
        raise TokenRefused("unsigned", "the token is unsigned (alg none)")
    if alg.upper().startswith("HS"):
        raise TokenRefused("symmetric-algorithm", "the token is signed with a shared key (HS*)")
    if alg not in PINNED_ALGORITHMS:
        shown = alg[:20]  # the caller's own text: shortened, and quoted safely by the api
        raise TokenRefused("algorithm-not-allowed", f"the token's algorithm {shown} is not allowed")
    return alg, kid


def principal_of(claims: dict[str, Any]) -> Principal:
    """The caller the verified claims name."""
    subject, roles = claims.get("sub"), claims.get(ROLES_CLAIM, [])
    if not isinstance(subject, str) or not subject:
        raise TokenRefused("missing-claim", "the token names no subject")
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise TokenRefused("malformed", f"the token's {ROLES_CLAIM} claim is not a list of names")
    client_id = claims.get("client_id") or claims.get("azp")
    return Principal(subject, frozenset(roles), str(client_id) if client_id else None)


class KeySource(Protocol):
    """An issuer's identifier and its signing keys by key id (JwksCache fetches them)."""

    @property
    def issuer(self) -> str: ...

    def key(self, kid: str) -> jwt.PyJWK | None: ...

    def key_at_hand(self, kid: str) -> jwt.PyJWK | None:
        """Key `kid` if it is known without fetching or waiting; None otherwise."""
        ...


class TokenVerifier:
    """Verifies tokens from `keys.issuer` meant for `audience`; a token verified before is
    not checked again until it expires or its key changes (identity/verified_tokens.py)."""

    def __init__(
        self, keys: KeySource, audience: str, verified: VerifiedTokens | None = None
    ) -> None:
        self.keys = keys
        self.audience = audience
        self.verified = VerifiedTokens() if verified is None else verified

    @classmethod
    def from_settings(
        cls, settings: OidcSettings | None = None, http: httpx.Client | None = None
    ) -> TokenVerifier:
        """The verifier of OIDC_ISSUER's tokens for OIDC_AUDIENCE."""
        settings = settings or OidcSettings()
        keys = JwksCache(
            settings.issuer(), http or httpx.Client(), discovery_url=settings.discovery_url()
        )
        return cls(keys, settings.oidc_audience)

    def verify(self, token: str | None) -> Principal:
        """The caller `token` authenticates; TokenRefused, with its reason, otherwise.
        IssuerUnavailable when the issuer's keys cannot be had at all."""
        if not token:
            raise TokenRefused("missing-token", "no bearer token was given")
        entry = self.verified.get(token)
        if entry is not None:
            principal = self._reused(token, entry, self.keys.key(entry.kid))
            return principal or self.verify(token)
        alg, kid = header_of(token)
        key = self.keys.key(kid) if kid else None
        if kid is None or key is None:
            raise TokenRefused("unknown-key", "the token's key id (kid) is not the issuer's")
        if key.algorithm_name != alg:
            raise TokenRefused("algorithm-not-allowed", f"the token's key is not for {alg}")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.keys.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.PyJWTError as error:
            raise refusal(error) from None
        principal = principal_of(claims)
        expires = int(claims["exp"]) + LEEWAY_SECONDS
        self.verified.put(token, Verified(principal, kid, key, expires))
        return principal

    def verified_before(self, token: str | None) -> Principal | None:
        """Without blocking: the caller of a token verified before, when that settles it
        (TokenRefused when it has expired since); None when `verify` must run (it may
        fetch the issuer's keys, so in a thread)."""
        entry = self.verified.get(token) if token else None
        key = self.keys.key_at_hand(entry.kid) if token and entry else None
        if not token or entry is None or key is None:
            return None
        return self._reused(token, entry, key)

    def _reused(self, token: str, entry: Verified, key: jwt.PyJWK | None) -> Principal | None:
        """The entry's caller while its token is unexpired and `key` is the one that
        verified it; None (the entry dropped) when the key is another or unknown."""
        if self.verified.expired(entry):
            self.verified.drop(token)
            raise TokenRefused("expired", "the token has expired")
        if key is not entry.key:
            self.verified.drop(token)
            return None
        return entry.principal


def refusal(error: jwt.PyJWTError) -> TokenRefused:
    """The refusal a decoding error stands for."""
    for kind, reason, detail in DECODE_REFUSALS:
        if isinstance(error, kind):
            return TokenRefused(reason, detail)
    return TokenRefused("invalid-claims", f"the token's claims are not valid: {error}")
