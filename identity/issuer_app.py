"""The development OIDC issuer: discovery, the key set, and client credentials.

For the embedded default only (`paystream serve issuer`); compose.yaml runs a real
identity provider. Keys and clients are read from the issuer directory on every
request, so `paystream token rotate` takes effect at once.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import ORJSONResponse

from api.health import install_health
from api.problems import install_problem_handlers
from identity.client_credentials import (
    MAX_FORM_BYTES,
    NO_STORE,
    OAuthError,
    authenticated_client,
    check_grant,
    parse_form,
)
from identity.clients import load_clients
from identity.issuer_directory import IssuerDirectory
from identity.keys import SIGNING_ALGORITHM
from identity.minting import TokenMinter
from identity.token_answers import TOKEN_REQUEST, TOKEN_RESPONSES, TokenAnswer

SERVICE_TOKEN_TTL_SECONDS = 900


def discovery_document(issuer: str) -> dict[str, Any]:
    """The OpenID Provider metadata this issuer supports."""
    return {
        "issuer": issuer,
        "jwks_uri": f"{issuer}/jwks.json",
        "token_endpoint": f"{issuer}/token",
        "id_token_signing_alg_values_supported": [SIGNING_ALGORITHM],
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "subject_types_supported": ["public"],
    }


async def read_form(request: Request) -> dict[str, str]:
    """The request's form, read no further than MAX_FORM_BYTES + 1 bytes."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            break
    return parse_form(request.headers.get("content-type", ""), body)


def create_issuer_app(directory: IssuerDirectory, issuer: str, audience: str) -> FastAPI:
    """The issuer app for `issuer`, minting service tokens for `audience`."""
    app = FastAPI(title="issuer", default_response_class=ORJSONResponse)
    install_problem_handlers(app)
    minter = TokenMinter(directory.keyring, issuer)

    async def ready() -> list[str]:
        return [] if directory.keyring.kids() else [f"no signing key in {directory.path}"]

    install_health(app, ready)

    @app.get("/.well-known/openid-configuration")
    def openid_configuration() -> dict[str, Any]:
        """The issuer's discovery document."""
        return discovery_document(issuer)

    @app.get("/jwks.json")
    def jwks() -> dict[str, Any]:
        """The public keys: the signing key and the ones before it."""
        return directory.keyring.jwks()

    @app.post(
        "/token",
        response_model=TokenAnswer,
        responses=TOKEN_RESPONSES,
        openapi_extra=TOKEN_REQUEST,
    )
    async def token(request: Request) -> ORJSONResponse:
        """Client credentials (RFC 6749 section 4.4): a service's access token."""
        try:
            form = await read_form(request)
            client = authenticated_client(request.headers, form, load_clients(directory.path))
            check_grant(form)
        except OAuthError as error:
            body = {"error": error.error, "error_description": error.description}
            return ORJSONResponse(body, status_code=error.status, headers=error.headers())
        access_token = minter.mint(
            client.client_id,
            client.roles,
            SERVICE_TOKEN_TTL_SECONDS,
            audience,
            client_id=client.client_id,
        )
        answer = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": SERVICE_TOKEN_TTL_SECONDS,
        }
        return ORJSONResponse(answer, headers=NO_STORE)

    return app
