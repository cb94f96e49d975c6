"""Tokens signed by the development issuer's current key."""

from __future__ import annotations

import time
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import jwt

from identity.keys import SIGNING_ALGORITHM, KeyRing
from identity.roles import ROLES, ROLES_CLAIM

MAX_TTL_SECONDS = 24 * 3600


class InvalidTokenRequest(ValueError):
    """A token that must not be minted: the message says why."""


def check_subject(subject: str) -> None:
    if not subject.strip():
        raise InvalidTokenRequest("the subject must not be empty")
    if any(unicodedata.category(char).startswith("C") for char in subject):
        raise InvalidTokenRequest(f"the subject {subject!r} contains control characters")


def check_ttl(ttl: int) -> None:
    if not 0 < ttl <= MAX_TTL_SECONDS:
        raise InvalidTokenRequest(
            f"the ttl must be between 1 and {MAX_TTL_SECONDS} seconds (a day), not {ttl}"
        )


def check_audience(audience: str) -> None:
    if not audience.strip():
        raise InvalidTokenRequest("the audience must not be empty")


def check_roles(roles: Sequence[str]) -> None:
    unknown = [role for role in roles if role not in ROLES]
    if unknown:
        raise InvalidTokenRequest(f"unknown role {unknown[0]!r}; known: {', '.join(ROLES)}")


@dataclass(frozen=True)
class TokenMinter:
    """Mints JWTs for `issuer`, signed by the newest key of `keyring`."""

    keyring: KeyRing
    issuer: str

    def mint(
        self,
        subject: str,
        roles: Sequence[str],
        ttl: int,
        audience: str,
        *,
        client_id: str | None = None,
        now: float | None = None,
    ) -> str:
        """A signed token for `subject` with `roles`, valid `ttl` seconds from `now`;
        a service's token names its client in `azp` and `client_id`."""
        check_subject(subject)
        check_ttl(ttl)
        check_roles(roles)
        check_audience(audience)
        issued = int(time.time() if now is None else now)
        claims: dict[str, object] = {
            "iss": self.issuer,
            "sub": subject,
            "aud": audience,
            "iat": issued,
            "nbf": issued,
            "exp": issued + ttl,
            "jti": uuid.uuid4().hex,
            ROLES_CLAIM: list(roles),
        }
        if client_id is not None:
            claims |= {"azp": client_id, "client_id": client_id}
        key = self.keyring.current()
        return jwt.encode(
            claims, key.private_key, algorithm=SIGNING_ALGORITHM, headers={"kid": key.kid}
        )
