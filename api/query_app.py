"""What every query API shares: a read-only pool, consistency-token waits, health.

A query API reads one or more read models (projections) with a role that may only
SELECT their schemas. Given X-Consistency-Token `<context>:<position>`, a request
waits until every read model it serves that follows that context has reached the
position (bounded; then 503 with Retry-After), woken by its projectors' notifications
(api/reached_signal.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

import psycopg
from fastapi import APIRouter, Depends, FastAPI, Header, Request
from psycopg_pool import AsyncConnectionPool
from starlette.responses import Response

from api import consistency_metrics
from api.authentication import include_authenticated, install_token_verifier
from api.consistency import HEADER as TOKEN_HEADER
from api.consistency import ConsistencyToken
from api.health import install_health
from api.openapi_headers import constrain_header, token_schema
from api.problems import Problem, problem_response
from api.reached_signal import ReachedSignal
from api.service_app import service_app
from eventstore.outages import reason
from eventstore.probes import database_missing
from eventstore.reconnect import POOL_RECONNECT_GIVE_UP_SECONDS
from identity.verifier import TokenVerifier
from projections.projection import Projection
from projections.reached import reached_position

DEFAULT_CONSISTENCY_WAIT_SECONDS = 5.0
POOL_WAIT_SECONDS = 5.0


@dataclass(frozen=True)
class QueryApi:
    """A query API: its name (`paystream serve query-api <name>`; its service is
    `<name>-query-api`), the read models it serves, its routes."""

    name: str
    projections: tuple[type[Projection], ...]
    router: APIRouter
    title: str

    @property
    def role(self) -> str:
        """Its database role, which may only SELECT its read models' `read_<name>` schemas."""
        return f"paystream_{self.name.replace('-', '_')}_query"


async def get_pool(request: Request) -> AsyncConnectionPool:
    """The app's read pool (async: no worker thread is taken to look it up)."""
    pool: AsyncConnectionPool = request.app.state.pool
    return pool


Pool = Annotated[AsyncConnectionPool, Depends(get_pool)]


async def projected_position(
    pool: AsyncConnectionPool, projection: type[Projection], source: str
) -> int:
    """How far `projection` has applied `source`'s log."""
    async with pool.connection() as conn:
        return await reached_position(conn, projection, source)


async def consistent(
    request: Request,
    pool: Pool,
    token: Annotated[str | None, Header(alias=TOKEN_HEADER)] = None,
) -> None:
    """Dependency: return once the read models have reached the token, or answer 503."""
    if token is None:
        return
    parsed = ConsistencyToken.parse(token)
    api: QueryApi = request.app.state.query_api
    followers = [p for p in api.projections if parsed.context in {s.name for s in p.sources}]
    if not followers:
        sources = sorted({s.name for p in api.projections for s in p.sources})
        raise Problem(
            400,
            "unknown-consistency-context",
            f"this API follows {sources}, not {parsed.context!r}",
        )
    started = time.monotonic()
    deadline = started + request.app.state.consistency_wait
    signal: ReachedSignal = request.app.state.reached_signal
    for projection in followers:
        while True:
            pulse = signal.pulse(projection.name)
            if await projected_position(pool, projection, parsed.context) >= parsed.position:
                break
            if time.monotonic() >= deadline:
                consistency_metrics.waited(api.name, deadline - started, timed_out=True)
                raise Problem(
                    503,
                    "consistency-timeout",
                    f"the read model has not reached {parsed} yet; retry shortly",
                    headers={"Retry-After": "1"},
                )
            await signal.wait(pulse, deadline - time.monotonic())
    consistency_metrics.waited(api.name, time.monotonic() - started, timed_out=False)


Consistent = Annotated[None, Depends(consistent)]


async def _on_store_unavailable(request: Request, error: Exception) -> Response:
    """The read models' database is unreachable right now (a restart, a failover)."""
    problem = Problem(
        503,
        "store-unavailable",
        f"the read models are unavailable: {reason(error)}",
        headers={"Retry-After": "2"},
    )
    return problem_response(problem, request.url.path)


def create_query_app(
    api: QueryApi,
    conninfo: str,
    verifier: TokenVerifier,
    consistency_wait: float = DEFAULT_CONSISTENCY_WAIT_SECONDS,
) -> FastAPI:
    """A read-only FastAPI app serving `api.router` from its read models, to callers
    whose token `verifier` accepts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = AsyncConnectionPool(
            conninfo,
            min_size=2,
            max_size=20,
            open=False,
            check=AsyncConnectionPool.check_connection,
            timeout=POOL_WAIT_SECONDS,
            reconnect_timeout=POOL_RECONNECT_GIVE_UP_SECONDS,
        )
        await app.state.pool.open()
        stop = asyncio.Event()
        listening = asyncio.create_task(app.state.reached_signal.listen(conninfo, stop))
        yield
        stop.set()
        await listening
        await app.state.pool.close()

    app = service_app(api.title, lifespan)
    app.state.query_api = api
    app.state.consistency_wait = consistency_wait
    app.state.reached_signal = ReachedSignal(p.name for p in api.projections)
    app.add_exception_handler(psycopg.OperationalError, _on_store_unavailable)
    install_token_verifier(app, verifier)
    include_authenticated(app, api.router)

    async def positions() -> None:
        for projection in api.projections:
            await projected_position(app.state.pool, projection, projection.sources[0].name)

    async def ready() -> list[str]:
        return await database_missing(positions)

    install_health(app, ready)
    contexts = {source.name for projection in api.projections for source in projection.sources}
    constrain_header(app, TOKEN_HEADER, token_schema(contexts))
    return app
