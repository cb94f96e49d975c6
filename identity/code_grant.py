"""The authorization code grant at the token endpoint (RFC 6749 section 4.1.3) for the
browser clients, which have no secret: PKCE's code_verifier stands in for one."""

from __future__ import annotations

import re

from identity.authorization_codes import AuthorizationCodes, Grant, InvalidGrant
from identity.browser_clients import BrowserClient
from identity.client_credentials import OAuthError

AUTHORIZATION_CODE = "authorization_code"
# RFC 7636 section 4.1: 43 to 128 unreserved characters.
VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
PERSON_TOKEN_TTL_SECONDS = 3600


def redeemed_grant(
    form: dict[str, str], clients: dict[str, BrowserClient], codes: AuthorizationCodes
) -> Grant:
    """The sign-in a code stands for, spent; OAuthError when anything does not match."""
    if "client_secret" in form:
        raise OAuthError("invalid_request", "a browser client has no secret")
    client_id = form.get("client_id", "")
    if client_id not in clients:
        raise OAuthError("invalid_client", "unknown client", 401)
    missing = [name for name in ("code", "redirect_uri", "code_verifier") if not form.get(name)]
    if missing:
        raise OAuthError("invalid_request", f"{missing[0]} is missing")
    if not VERIFIER.match(form["code_verifier"]):
        raise OAuthError("invalid_request", "code_verifier must be 43-128 unreserved characters")
    try:
        return codes.redeem(form["code"], client_id, form["redirect_uri"], form["code_verifier"])
    except InvalidGrant as error:
        raise OAuthError("invalid_grant", str(error)) from None
