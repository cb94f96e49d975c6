"""The development OIDC issuer: discovery, the key set, client credentials, and the
authorization code grant with PKCE behind a login form (for the console).

For the embedded default only (`paystream serve issuer`); compose.yaml runs a real
identity provider. Keys and clients are read from the issuer directory on every
request, so `paystream token rotate` takes effect at once.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, ORJSONResponse, RedirectResponse

from api.health import install_health
from api.problems import install_problem_handlers
from identity.authorization_codes import CHALLENGE_METHOD, AuthorizationCodes
from identity.authorization_requests import (
    AuthorizationRefused,
    authorization_request,
    signed_in_person,
)
from identity.browser_clients import load_browser_clients
from identity.client_credentials import (
    GRANT_TYPE,
    MAX_FORM_BYTES,
    NO_STORE,
    OAuthError,
    authenticated_client,
    check_grant,
    parse_form,
)
from identity.clients import load_clients
from identity.code_grant import AUTHORIZATION_CODE, PERSON_TOKEN_TTL_SECONDS, redeemed_grant
from identity.issuer_directory import IssuerDirectory
from identity.keys import SIGNING_ALGORITHM
from identity.login_page import login_form, refusal_page
from identity.minting import TokenMinter
from identity.token_answers import TOKEN_REQUEST, TOKEN_RESPONSES, TokenAnswer

SERVICE_TOKEN_TTL_SECONDS = 900
AUTHORIZE_RESPONSES: dict[int | str, dict[str, Any]] = {
    303: {"description": "signed in: back to the client's redirect_uri with code and state"},
    400: {"description": "a readable HTML page saying why the request is refused"},
}


def discovery_document(issuer: str) -> dict[str, Any]:
    """The OpenID Provider metadata this issuer supports."""
    return {
        "issuer": issuer,
        "jwks_uri": f"{issuer}/jwks.json",
        "token_endpoint": f"{issuer}/token",
        "authorization_endpoint": f"{issuer}/authorize",
        "id_token_signing_alg_values_supported": [SIGNING_ALGORITHM],
        "grant_types_supported": [GRANT_TYPE, AUTHORIZATION_CODE],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": [CHALLENGE_METHOD],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
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
    codes = AuthorizationCodes()

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
        """Client credentials (RFC 6749 section 4.4): a service's access token; or an
        authorization code with its PKCE verifier (section 4.1.3): a person's."""
        try:
            form = await read_form(request)
            if check_grant(form, (GRANT_TYPE, AUTHORIZATION_CODE)) == AUTHORIZATION_CODE:
                grant = redeemed_grant(form, load_browser_clients(directory.path), codes)
                ttl = PERSON_TOKEN_TTL_SECONDS
                access_token = minter.mint(grant.subject, (grant.role,), ttl, audience)
            else:
                client = authenticated_client(request.headers, form, load_clients(directory.path))
                ttl = SERVICE_TOKEN_TTL_SECONDS
                access_token = minter.mint(
                    client.client_id, client.roles, ttl, audience, client_id=client.client_id
                )
        except OAuthError as error:
            body = {"error": error.error, "error_description": error.description}
            return ORJSONResponse(body, status_code=error.status, headers=error.headers())
        answer = {"access_token": access_token, "token_type": "Bearer", "expires_in": ttl}
        return ORJSONResponse(answer, headers=NO_STORE)

    @app.get("/authorize", response_class=HTMLResponse, responses=AUTHORIZE_RESPONSES)
    def authorize(request: Request) -> HTMLResponse:
        """The login form of the authorization code flow (RFC 6749 section 4.1.1)."""
        try:
            asked = authorization_request(
                request.query_params, load_browser_clients(directory.path)
            )
        except AuthorizationRefused as error:
            return HTMLResponse(refusal_page(str(error)), status_code=400, headers=NO_STORE)
        return HTMLResponse(login_form(asked), headers=NO_STORE)

    @app.post(
        "/authorize",
        response_class=HTMLResponse,
        response_model=None,
        responses=AUTHORIZE_RESPONSES,
    )
    async def sign_in(request: Request) -> HTMLResponse | RedirectResponse:
        """The login form's answer: back to the client's redirect URI with a code."""
        try:
            form = await read_form(request)
            asked = authorization_request(form, load_browser_clients(directory.path))
        except (OAuthError, AuthorizationRefused) as error:
            return HTMLResponse(refusal_page(str(error)), status_code=400, headers=NO_STORE)
        try:
            subject, role = signed_in_person(form)
        except AuthorizationRefused as error:
            page = login_form(asked, error=str(error))
            return HTMLResponse(page, status_code=400, headers=NO_STORE)
        code = codes.issue(asked.client_id, asked.redirect_uri, asked.code_challenge, subject, role)
        query = urlencode({"code": code, "state": asked.state})
        return RedirectResponse(f"{asked.redirect_uri}?{query}", 303, headers=NO_STORE)

    return app
