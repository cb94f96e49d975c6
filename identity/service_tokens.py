"""A service's own bearer tokens: fetched from the issuer's token endpoint by client
credentials (RFC 6749 section 4.4), kept until shortly before they expire, and fetched
again once when an API answers 401 (a rotated key, a restarted issuer).

`ServiceTokens` is an httpx `Auth`: give it to a client (sync or async) and every request
carries a valid token. When no token can be had, the request fails with `TokenUnavailable`,
an httpx transport error, so callers that retry on transport errors retry it too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator

import httpx
from pydantic_settings import BaseSettings, SettingsConfigDict

from eventstore.settings import MissingSetting
from identity.discovery import DiscoveryRefused, discovery_url_of, endpoint_of
from identity.settings import OidcSettings

RENEW_BEFORE_SECONDS = 30.0


class TokenUnavailable(httpx.TransportError):
    """No token could be had from the issuer."""


class ServiceClientSettings(BaseSettings):
    """This service's client at the issuer: PAYSTREAM_CLIENT_ID, PAYSTREAM_CLIENT_SECRET."""

    model_config = SettingsConfigDict(env_prefix="paystream_", extra="ignore")

    client_id: str = ""
    client_secret: str = ""


class ServiceTokens(httpx.Auth):
    """Bearer tokens for client `client_id` from `issuer`, whose token endpoint is named by
    the discovery document at `discovery_url` (by default the standard place under it)."""

    requires_response_body = True

    def __init__(
        self,
        issuer: str,
        client_id: str,
        secret: str,
        clock: Callable[[], float] = time.monotonic,
        discovery_url: str | None = None,
    ) -> None:
        self.issuer, self.client_id, self._secret = issuer, client_id, secret
        self.discovery_url = discovery_url or discovery_url_of(issuer)
        self._clock = clock
        self._token_endpoint: str | None = None
        self._token: str | None = None
        self._renew_at = 0.0

    @classmethod
    def from_settings(cls, default_client_id: str) -> ServiceTokens:
        """The tokens of this service's client (PAYSTREAM_CLIENT_ID, else
        `default_client_id`) from the trusted issuer (OIDC_ISSUER, OIDC_DISCOVERY_URL)."""
        client = ServiceClientSettings()
        if not client.client_secret:
            raise MissingSetting(
                "PAYSTREAM_CLIENT_SECRET is not set: this service needs its client secret"
                " at the issuer to call other services"
            )
        client_id = client.client_id or default_client_id
        oidc = OidcSettings()
        return cls(
            oidc.issuer(), client_id, client.client_secret, discovery_url=oidc.discovery_url()
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._token is None or self._clock() >= self._renew_at:
            yield from self._fetch_token(request)
        request.headers["Authorization"] = f"Bearer {self._token}"
        response = yield request
        if response.status_code == 401:
            yield from self._fetch_token(request)
            request.headers["Authorization"] = f"Bearer {self._token}"
            yield request

    def _fetch_token(self, cause: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._token_endpoint is None:
            found = yield httpx.Request("GET", self.discovery_url)
            try:
                self._token_endpoint = endpoint_of(
                    self._json(found, cause), self.issuer, "token_endpoint"
                )
            except DiscoveryRefused as refused:
                raise TokenUnavailable(str(refused), request=cause) from None
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._secret,
        }
        answer = yield httpx.Request("POST", self._token_endpoint, data=form)
        token = self._json(answer, cause)
        access, lifetime = token.get("access_token"), token.get("expires_in", 60)
        if not isinstance(access, str) or not isinstance(lifetime, int):
            raise TokenUnavailable("the issuer's token answer has no access token", request=cause)
        self._token = access
        self._renew_at = self._clock() + max(lifetime - RENEW_BEFORE_SECONDS, lifetime / 2)

    def _json(self, response: httpx.Response, cause: httpx.Request) -> dict[str, object]:
        if not response.is_success:
            self._token_endpoint = None  # the issuer may have moved: discover it again
            raise TokenUnavailable(
                f"the issuer answered {response.status_code} at {response.request.url}",
                request=cause,
            )
        body = response.json()
        if not isinstance(body, dict):
            raise TokenUnavailable("the issuer's answer is not a JSON object", request=cause)
        return body
