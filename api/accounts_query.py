"""The account summary query API: read-only, honours X-Consistency-Token."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.responses import ORJSONResponse
from psycopg.rows import dict_row
from psycopg.sql import SQL, Identifier
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel

from api.consistency import HEADER as TOKEN_HEADER
from api.consistency import ConsistencyToken
from api.health import install_health
from api.problems import Problem, install_problem_handlers
from projections.account_summary import AccountSummaryProjection
from projections.projection import TRACKING_TABLE

PROJECTION = AccountSummaryProjection
POLL_SECONDS = 0.005
ROLE = "paystream_accounts_query"


class AccountSummary(BaseModel):
    """An account as the summary read model has it."""

    account_id: UUID
    owner: str
    currency: str
    balance: int
    status: str
    version: int
    updated_at: datetime


def get_pool(request: Request) -> AsyncConnectionPool:
    pool: AsyncConnectionPool = request.app.state.pool
    return pool


Pool = Annotated[AsyncConnectionPool, Depends(get_pool)]
router = APIRouter(prefix="/accounts", tags=["account summary"])


async def projected_position(pool: AsyncConnectionPool, source: str) -> int:
    """How far the read model has applied `source`'s log."""
    query = SQL("SELECT position FROM {}.{} WHERE source = %s").format(
        Identifier(PROJECTION.schema()), Identifier(TRACKING_TABLE)
    )
    async with pool.connection() as conn:
        row = await (await conn.execute(query, (source,))).fetchone()
    return int(row[0]) if row else 0


async def wait_for_token(request: Request, pool: AsyncConnectionPool, raw: str | None) -> None:
    """Return once the read model has reached the token, or answer 503 past the bound."""
    if raw is None:
        return
    token = ConsistencyToken.parse(raw)
    sources = {source.name for source in PROJECTION.sources}
    if token.context not in sources:
        raise Problem(
            400,
            "unknown-consistency-context",
            f"this read model follows {sorted(sources)}, not {token.context!r}",
        )
    deadline = time.monotonic() + request.app.state.consistency_wait
    while await projected_position(pool, token.context) < token.position:
        if time.monotonic() >= deadline:
            raise Problem(
                503,
                "consistency-timeout",
                f"the read model has not reached {token} yet; retry shortly",
                headers={"Retry-After": "1"},
            )
        await asyncio.sleep(POLL_SECONDS)


@router.get("/{account_id}", response_model=AccountSummary)
async def get_account(
    request: Request,
    pool: Pool,
    account_id: UUID,
    token: Annotated[str | None, Header(alias=TOKEN_HEADER)] = None,
) -> dict[str, Any]:
    """One account's balance, currency, status and version."""
    await wait_for_token(request, pool, token)
    query = SQL(
        "SELECT account_id, owner, currency, balance, status, version, updated_at"
        " FROM {}.accounts WHERE account_id = %s"
    ).format(Identifier(PROJECTION.schema()))
    async with pool.connection() as conn:
        cursor = conn.cursor(row_factory=dict_row)
        row = await (await cursor.execute(query, (account_id,))).fetchone()
    if row is None:
        raise Problem(404, "account-not-found", f"account {account_id} does not exist")
    return row


def create_app(conninfo: str, consistency_wait: float = 5.0) -> FastAPI:
    """The account summary query API, reading with a SELECT-only role."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = AsyncConnectionPool(conninfo, min_size=2, max_size=20, open=False)
        app.state.consistency_wait = consistency_wait
        await app.state.pool.open()
        yield
        await app.state.pool.close()

    app = FastAPI(
        title="Paystream account summary", default_response_class=ORJSONResponse, lifespan=lifespan
    )
    install_problem_handlers(app)
    app.include_router(router)

    async def ready() -> bool:
        await projected_position(app.state.pool, "accounts")
        return True

    install_health(app, ready)
    return app
