"""RFC 6749 client credentials at the token endpoint: the form, the client's
authentication (HTTP Basic or the form's client_id/client_secret), and the errors."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from urllib.parse import parse_qs, unquote_plus

from identity.clients import Client, authenticate

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 4096
GRANT_TYPE = "client_credentials"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(Exception):
    """An RFC 6749 error answer: `{"error": ..., "error_description": ...}` with `status`."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def headers(self) -> dict[str, str]:
        challenge = {"WWW-Authenticate": 'Basic realm="paystream-issuer"'}
        return {**NO_STORE, **(challenge if self.status == 401 else {})}


def parse_form(content_type: str, body: bytes) -> dict[str, str]:
    """The request's parameters; each at most once, as RFC 6749 section 3.2 requires."""
    if content_type.split(";")[0].strip().lower() != FORM_MEDIA_TYPE:
        raise OAuthError("invalid_request", f"the request body must be {FORM_MEDIA_TYPE}")
    if len(body) > MAX_FORM_BYTES:
        raise OAuthError(
            "invalid_request", f"the request body must be at most {MAX_FORM_BYTES} bytes"
        )
    try:
        fields = parse_qs(body.decode(), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "the request body is not a valid form") from None
    repeated = sorted(name for name, values in fields.items() if len(values) > 1)
    if repeated:
        raise OAuthError("invalid_request", f"parameter {repeated[0]} is repeated")
    return {name: values[0] for name, values in fields.items()}


def basic_credentials(authorization: str) -> tuple[str, str]:
    """The client id and secret of an `Authorization: Basic` header (each form-encoded)."""
    try:
        decoded = base64.b64decode(authorization.split(" ", 1)[1], validate=True).decode()
        client_id, secret = decoded.split(":", 1)
    except (IndexError, ValueError, binascii.Error, UnicodeDecodeError):
        raise OAuthError("invalid_client", "the Basic credentials are malformed", 401) from None
    return unquote_plus(client_id), unquote_plus(secret)


def authenticated_client(
    headers: Mapping[str, str], form: dict[str, str], clients: dict[str, Client]
) -> Client:
    """The client the request authenticates as, by exactly one method."""
    authorization = headers.get("authorization", "")
    in_header = authorization.lower().startswith("basic ")
    in_form = "client_id" in form or "client_secret" in form
    if in_header and in_form:
        raise OAuthError("invalid_request", "authenticate the client one way, not two")
    if in_header:
        client_id, secret = basic_credentials(authorization)
    elif in_form:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    else:
        raise OAuthError("invalid_client", "no client authentication was given", 401)
    client = authenticate(clients, client_id, secret)
    if client is None:
        raise OAuthError("invalid_client", "unknown client or wrong secret", 401)
    return client


def check_grant(form: dict[str, str], supported: tuple[str, ...] = (GRANT_TYPE,)) -> str:
    """The request's grant type, one of `supported`."""
    grant_type = form.get("grant_type")
    if not grant_type:
        raise OAuthError("invalid_request", "grant_type is missing")
    if grant_type not in supported:
        raise OAuthError("unsupported_grant_type", f"only {' and '.join(supported)} supported")
    return grant_type
