"""The account overview API (`paystream serve overview-api`): no read model, no database;
it composes the query APIs' answers (api/account_overview.py).

Ready as soon as it is started: answering in part when an upstream is missing is its
design, so an upstream's outage shows in its answers' `unavailable`, not in /readyz
(the gateway then keeps routing to it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any
from uuid import UUID

import httpx
from fastapi import APIRouter, FastAPI, Header, Request

from api.account_overview import AccountOverview, Composer
from api.authentication import include_authenticated, install_token_verifier
from api.consistency import HEADER as TOKEN_HEADER
from api.consistency import ConsistencyToken
from api.health import install_health
from api.openapi_errors import problem_responses
from api.openapi_headers import constrain_header, token_schema
from api.overview_parts import CONTEXTS, PARTS
from api.problem_types import (
    ACCOUNT_NOT_FOUND,
    AUTHENTICATION_PROBLEMS,
    INVALID_CONSISTENCY_TOKEN,
    REQUEST_PROBLEMS,
    UNKNOWN_CONSISTENCY_CONTEXT,
)
from api.problems import Problem
from api.request_logging import correlation_header
from api.service_app import service_app
from identity.verifier import TokenVerifier

DEFAULT_DEADLINE_SECONDS = 1.5
# The caller's headers each query API is sent (the consistency token only where it
# applies), and the request's correlation id.
FORWARDED = ("Authorization", "X-Request-Id")

router = APIRouter(prefix="/accounts", tags=["account overview"])


@router.get(
    "/{account_id}/overview",
    response_model=AccountOverview,
    responses=problem_responses(
        *REQUEST_PROBLEMS,
        *AUTHENTICATION_PROBLEMS,
        INVALID_CONSISTENCY_TOKEN,
        UNKNOWN_CONSISTENCY_CONTEXT,
        ACCOUNT_NOT_FOUND,
    ),
)
async def get_overview(
    request: Request,
    account_id: UUID,
    token: Annotated[str | None, Header(alias=TOKEN_HEADER)] = None,
) -> dict[str, Any]:
    """An account's summary, last statement entries, payments in flight and recent
    notifications; a part its query API did not give in time is null, named in
    `unavailable`."""
    parsed = ConsistencyToken.parse(token) if token is not None else None
    if parsed is not None and not any(part.follows(parsed.context) for part in PARTS):
        raise Problem(
            400,
            "unknown-consistency-context",
            f"this API follows {CONTEXTS}, not {parsed.context!r}",
        )
    headers = {name: request.headers[name] for name in FORWARDED if name in request.headers}
    headers |= correlation_header()
    composer: Composer = request.app.state.composer
    return await composer.overview(account_id, headers, parsed)


async def always_ready() -> list[str]:
    return []


def create_overview_app(
    urls: Mapping[str, str],
    verifier: TokenVerifier,
    deadline: float = DEFAULT_DEADLINE_SECONDS,
    mounts: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    """The overview API reading each query API at `urls` (by query API name) within
    `deadline` seconds, for callers whose token `verifier` accepts; `mounts` route some
    URLs to other transports (tests' in-process upstreams)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=deadline, mounts=dict(mounts or {})) as http:
            app.state.composer = Composer(http, urls, deadline)
            yield

    app = service_app("Paystream account overview", lifespan)
    install_token_verifier(app, verifier)
    include_authenticated(app, router)
    install_health(app, always_ready)
    constrain_header(app, TOKEN_HEADER, token_schema(CONTEXTS))
    return app
