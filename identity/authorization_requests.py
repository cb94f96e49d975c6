"""The development issuer's authorization endpoint's parameters, checked: a known browser
client, one of its redirect URIs, response type `code`, and an S256 PKCE challenge."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from identity.authorization_codes import CHALLENGE_METHOD
from identity.browser_clients import BrowserClient
from identity.minting import InvalidTokenRequest, check_subject
from identity.roles import PERSON_ROLES

# RFC 7636 section 4.2: an S256 challenge is 43 base64url characters.
CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
MAX_STATE_LENGTH = 512
MAX_SUBJECT_LENGTH = 128


class AuthorizationRefused(ValueError):
    """An authorization request this issuer will not serve; the message says why."""


@dataclass(frozen=True)
class AuthorizationRequest:
    """A browser client's request to sign someone in."""

    client_id: str
    redirect_uri: str
    code_challenge: str
    state: str

    def hidden_fields(self) -> dict[str, str]:
        """The parameters the login form sends back with the person's answer."""
        return {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "code_challenge": self.code_challenge,
            "code_challenge_method": CHALLENGE_METHOD,
            "state": self.state,
        }


def authorization_request(
    params: Mapping[str, str], clients: Mapping[str, BrowserClient]
) -> AuthorizationRequest:
    """The request these parameters make, or AuthorizationRefused."""
    client = clients.get(params.get("client_id", ""))
    if client is None:
        raise AuthorizationRefused("unknown client_id")
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in client.redirect_uris:
        raise AuthorizationRefused("redirect_uri is not registered for this client")
    if params.get("response_type") != "code":
        raise AuthorizationRefused("response_type must be code")
    if params.get("code_challenge_method") != CHALLENGE_METHOD:
        raise AuthorizationRefused(f"code_challenge_method must be {CHALLENGE_METHOD}")
    challenge = params.get("code_challenge", "")
    if not CHALLENGE.match(challenge):
        raise AuthorizationRefused("code_challenge must be 43 base64url characters (S256)")
    state = params.get("state", "")
    if len(state) > MAX_STATE_LENGTH:
        raise AuthorizationRefused(f"state must be at most {MAX_STATE_LENGTH} characters")
    return AuthorizationRequest(client.client_id, redirect_uri, challenge, state)


def signed_in_person(params: Mapping[str, str]) -> tuple[str, str]:
    """The subject and role the login form names, or AuthorizationRefused."""
    subject = params.get("subject", "").strip()
    role = params.get("role", "")
    if len(subject) > MAX_SUBJECT_LENGTH:
        raise AuthorizationRefused(f"the name must be at most {MAX_SUBJECT_LENGTH} characters")
    try:
        check_subject(subject)
    except InvalidTokenRequest as error:
        raise AuthorizationRefused(str(error)) from None
    if role not in PERSON_ROLES:
        raise AuthorizationRefused(f"role must be one of {', '.join(PERSON_ROLES)}")
    return subject, role
