"""Signing in to the console through the trusted issuer (authorization code with PKCE)
and signing out."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from console.oidc_client import OidcClient, SignInFailed
from console.pages import message
from console.sessions import Sessions
from console.settings import PATH_PREFIX
from identity.jwks_cache import IssuerUnavailable
from identity.verifier import TokenRefused

SIGN_IN_AGAIN = (f"{PATH_PREFIX}/sign-in", "Sign in again")


def sign_in_router(oidc: OidcClient, sessions: Sessions) -> APIRouter:
    router = APIRouter(prefix=PATH_PREFIX, include_in_schema=False)

    @router.get("/sign-in")
    def sign_in(request: Request) -> Response:
        """To the identity provider's login, a new PKCE verifier and state remembered."""
        try:
            started = oidc.start()
        except SignInFailed as error:
            return message(request, None, 503, "Sign-in unavailable", str(error))
        response = RedirectResponse(started.url, status_code=303)
        sessions.begin_sign_in(response, started.state, started.verifier)
        return response

    @router.get("/callback")
    def callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
        """Back from the identity provider: the code exchanged, the session opened."""
        under_way = sessions.sign_in_under_way(request)
        if error or not code:
            reason = error or "the identity provider sent no code"
            return message(request, None, 400, "Not signed in", reason, action=SIGN_IN_AGAIN)
        if under_way is None or under_way.get("state") != state:
            reason = "this sign-in was not started here, or took too long"
            return message(request, None, 400, "Not signed in", reason, action=SIGN_IN_AGAIN)
        try:
            token = oidc.access_token(code, under_way["verifier"])
            sessions.verifier.verify(token)
        except (SignInFailed, TokenRefused, IssuerUnavailable) as refused:
            return message(request, None, 400, "Not signed in", str(refused), action=SIGN_IN_AGAIN)
        response = RedirectResponse(f"{PATH_PREFIX}/", status_code=303)
        sessions.open(response, token)
        return response

    @router.post("/sign-out")
    def sign_out(request: Request) -> Response:
        """The session cookie dropped (the token itself expires on its own)."""
        response = message(
            request, None, 200, "Signed out", "You are signed out.", tone="ok", action=SIGN_IN_AGAIN
        )
        sessions.close(response)
        return response

    return router
