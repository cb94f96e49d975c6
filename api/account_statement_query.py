"""The account statement query API: an account's money movements, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel

from api.account_reads import check_readable
from api.authentication import Authenticated
from api.openapi_errors import problem_responses
from api.pages import DEFAULT_LIMIT, Cursor, Limit, decode_position, encode_cursor, split_page
from api.problem_types import ACCOUNT_NOT_FOUND, INVALID_CURSOR, QUERY_PROBLEMS
from api.query_app import Consistent, Pool, QueryApi
from projections.account_statement import AccountStatementProjection, EntryKind
from projections.account_statement_queries import statement_account, statement_entries

router = APIRouter(prefix="/accounts", tags=["account statement"])


class StatementEntry(BaseModel):
    """One money movement: signed amount (minor units) and the balance after it."""

    position: int
    time: datetime
    kind: EntryKind
    amount: int
    balance_after: int
    counterparty: str | None
    reference: str | None
    payment_id: str | None


class Statement(BaseModel):
    """One page of an account's statement; `next_cursor` is null on the last page."""

    account_id: UUID
    currency: str
    entries: list[StatementEntry]
    next_cursor: str | None


@router.get(
    "/{account_id}/statement",
    response_model=Statement,
    responses=problem_responses(*QUERY_PROBLEMS, ACCOUNT_NOT_FOUND, INVALID_CURSOR),
)
async def get_statement(
    pool: Pool,
    account_id: UUID,
    _: Consistent,
    caller: Authenticated,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """An account's deposits, withdrawals and payment steps, newest first."""
    before = decode_position(cursor)
    async with pool.connection() as conn:
        account = await statement_account(conn, account_id)
        check_readable(caller, account_id, account[1] if account else None)
        assert account is not None
        currency = account[0]
        rows = await statement_entries(conn, account_id, before, limit + 1)
    entries, last = split_page(rows, limit)
    return {
        "account_id": account_id,
        "currency": currency,
        "entries": entries,
        "next_cursor": encode_cursor(last["position"]) if last else None,
    }


ACCOUNT_STATEMENT_API = QueryApi(
    name="account-statement",
    projections=(AccountStatementProjection,),
    router=router,
    title="Paystream account statement",
)
