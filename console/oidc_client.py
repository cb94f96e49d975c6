"""The console as an OIDC client of the trusted issuer: where to send a browser to sign in
(authorization code with PKCE, S256), and the code exchanged for an access token."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from identity.authorization_codes import CHALLENGE_METHOD, s256
from identity.browser_clients import CONSOLE_CLIENT
from identity.discovery import DiscoveryRefused, endpoint_of

TIMEOUT_SECONDS = 5.0


class SignInFailed(Exception):
    """The issuer could not be reached or refused the code; the message says why."""


@dataclass(frozen=True)
class SignInStart:
    """Where to send the browser, and what the callback must be given back."""

    url: str
    state: str
    verifier: str


class OidcClient:
    """The console's client of `issuer` (its discovery document read at `discovery_url`)."""

    def __init__(self, issuer: str, discovery_url: str, redirect_uri: str) -> None:
        self.issuer = issuer
        self.discovery_url = discovery_url
        self.redirect_uri = redirect_uri
        self._endpoints: dict[str, str] = {}

    def _endpoint(self, name: str) -> str:
        if name not in self._endpoints:
            try:
                document = httpx.get(self.discovery_url, timeout=TIMEOUT_SECONDS).json()
                self._endpoints[name] = endpoint_of(document, self.issuer, name)
            except (httpx.HTTPError, ValueError, DiscoveryRefused) as error:
                raise SignInFailed(f"the identity provider cannot be used: {error}") from None
        return self._endpoints[name]

    def start(self) -> SignInStart:
        """A new sign-in: a fresh state and PKCE verifier, and the authorization URL."""
        state, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        query = urlencode(
            {
                "response_type": "code",
                "client_id": CONSOLE_CLIENT,
                "redirect_uri": self.redirect_uri,
                "code_challenge": s256(verifier),
                "code_challenge_method": CHALLENGE_METHOD,
                "state": state,
                "scope": "openid",
            }
        )
        return SignInStart(f"{self._endpoint('authorization_endpoint')}?{query}", state, verifier)

    def access_token(self, code: str, verifier: str) -> str:
        """The access token `code` stands for, redeemed with its PKCE verifier."""
        form = {
            "grant_type": "authorization_code",
            "client_id": CONSOLE_CLIENT,
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": verifier,
        }
        try:
            answer = httpx.post(
                self._endpoint("token_endpoint"), data=form, timeout=TIMEOUT_SECONDS
            )
            body = answer.json()
        except (httpx.HTTPError, ValueError) as error:
            raise SignInFailed(f"the identity provider did not answer: {error}") from None
        if not isinstance(body, dict):
            raise SignInFailed("the identity provider answered something that is not a token")
        if answer.status_code != 200 or not isinstance(body.get("access_token"), str):
            reason = body.get("error_description") or body.get("error") or answer.status_code
            raise SignInFailed(f"the identity provider refused the sign-in: {reason}")
        return str(body["access_token"])
