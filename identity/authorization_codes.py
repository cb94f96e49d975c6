"""One-time authorization codes (RFC 6749 section 4.1) bound to their client, redirect
URI and PKCE challenge (RFC 7636, S256 only), kept in the issuer's memory for a minute."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

CODE_TTL_SECONDS = 60
CHALLENGE_METHOD = "S256"


class InvalidGrant(ValueError):
    """A code that cannot be redeemed; the message says why."""


def s256(verifier: str) -> str:
    """The S256 challenge of a code verifier: base64url(sha256(verifier)), unpadded."""
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass(frozen=True)
class Grant:
    """What a code was issued for: who signed in, for which client and where to."""

    client_id: str
    redirect_uri: str
    code_challenge: str
    subject: str
    role: str
    expires_at: float


class AuthorizationCodes:
    """Codes issued and not yet redeemed; each redeems once, whatever the outcome."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._grants: dict[str, Grant] = {}
        self._lock = threading.Lock()

    def issue(
        self, client_id: str, redirect_uri: str, code_challenge: str, subject: str, role: str
    ) -> str:
        """A new code for this sign-in."""
        code = secrets.token_urlsafe(32)
        expires_at = self._clock() + CODE_TTL_SECONDS
        grant = Grant(client_id, redirect_uri, code_challenge, subject, role, expires_at)
        with self._lock:
            self._drop_expired()
            self._grants[code] = grant
        return code

    def redeem(self, code: str, client_id: str, redirect_uri: str, verifier: str) -> Grant:
        """The grant of `code`, spent, when the client, redirect URI and verifier match it."""
        with self._lock:
            grant = self._grants.pop(code, None)
        if grant is None or grant.expires_at <= self._clock():
            raise InvalidGrant("the code is unknown, expired or already used")
        if grant.client_id != client_id:
            raise InvalidGrant("the code was issued to another client")
        if grant.redirect_uri != redirect_uri:
            raise InvalidGrant("redirect_uri is not the one the code was issued for")
        if not hmac.compare_digest(s256(verifier), grant.code_challenge):
            raise InvalidGrant("code_verifier does not match the code_challenge")
        return grant

    def _drop_expired(self) -> None:
        now = self._clock()
        for code in [code for code, grant in self._grants.items() if grant.expires_at <= now]:
            del self._grants[code]
