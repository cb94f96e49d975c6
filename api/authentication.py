"""Who is calling: the bearer token verified by the service itself (defence in depth
behind the gateway), refused as 401 problem+json with an RFC 6750 challenge.

A service installs its verifier once (`install_token_verifier`) and includes its
routers with `include_authenticated`: every route of theirs then refuses a request
without a valid token, and `caller(request)` (or a parameter typed `Authenticated`) is
who sent it. Health and readiness stay open (probes carry no token).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.problem_types import (
    AUTHENTICATION_REQUIRED,
    FORBIDDEN,
    INVALID_TOKEN,
    ISSUER_UNAVAILABLE,
)
from api.problems import Problem
from identity.jwks_cache import IssuerUnavailable
from identity.verifier import Principal, TokenRefused, TokenVerifier

REALM = "paystream"
ISSUER_RETRY_AFTER_SECONDS = 5

bearer_scheme = HTTPBearer(
    auto_error=False, description="An access token from the OIDC issuer (OIDC_ISSUER)."
)


def install_token_verifier(app: FastAPI, verifier: TokenVerifier) -> None:
    """Make `verifier` the one that checks every `Authenticated` route of `app`."""
    app.state.token_verifier = verifier


def quoted_safe(text: str) -> str:
    """`text` with only the characters RFC 6750 allows in a quoted error_description."""
    return "".join(char for char in text if " " <= char <= "~" and char not in '"\\')


def refusal_problem(refused: TokenRefused) -> Problem:
    """A refused token as 401 problem+json with its `WWW-Authenticate` challenge; with no
    token at all, the challenge carries no error code (RFC 6750 section 3.1)."""
    challenge = f'Bearer realm="{REALM}"'
    if refused.reason == "missing-token":
        kind = AUTHENTICATION_REQUIRED
    else:
        kind = INVALID_TOKEN
        description = quoted_safe(refused.detail)
        challenge += f', error="invalid_token", error_description="{description}"'
    return Problem(
        kind.status,
        kind.code,
        refused.detail,
        headers={"WWW-Authenticate": challenge},
        extra={"reason": refused.reason},
    )


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    """The verified caller of this request. A token verified before is settled on the
    event loop; any other is verified in a worker thread (its signature check costs CPU,
    and it may fetch the issuer's keys: never on the loop)."""
    verifier: TokenVerifier = request.app.state.token_verifier
    token = credentials.credentials if credentials else None
    try:
        principal = verifier.verified_before(token)
        if principal is None:
            principal = await run_in_threadpool(verifier.verify, token)
    except TokenRefused as refused:
        raise refusal_problem(refused) from None
    except IssuerUnavailable as error:
        raise Problem(
            ISSUER_UNAVAILABLE.status,
            ISSUER_UNAVAILABLE.code,
            f"the identity provider cannot be reached: {error}",
            headers={"Retry-After": str(ISSUER_RETRY_AFTER_SECONDS)},
        ) from None
    request.state.principal = principal
    return principal


Authenticated = Annotated[Principal, Depends(current_principal)]


def role_required(*roles: str) -> Callable[[Principal], Awaitable[None]]:
    """A dependency refusing (403) every caller without one of `roles`."""
    needed = frozenset(roles)

    async def check(caller: Authenticated) -> None:
        if not caller.roles & needed:
            raise Problem(
                FORBIDDEN.status, FORBIDDEN.code, f"this needs the role {' or '.join(roles)}"
            )

    return check


def include_authenticated(app: FastAPI, router: APIRouter) -> None:
    """Include `router` in `app`, each of its routes for callers with a valid token only."""
    app.include_router(router, dependencies=[Depends(current_principal)])


def caller(request: Request) -> Principal:
    """Who sent this request to an authenticated route (its token, verified)."""
    principal: Principal = request.state.principal
    return principal
