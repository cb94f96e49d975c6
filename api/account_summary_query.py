"""The account summary query API: one account's balance, status and version."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel

from api.account_reads import check_readable
from api.authentication import Authenticated
from api.openapi_errors import problem_responses
from api.problem_types import ACCOUNT_NOT_FOUND, QUERY_PROBLEMS
from api.query_app import Consistent, Pool, QueryApi
from domains.accounts.aggregates import AccountStatus
from projections.account_summary import AccountSummaryProjection
from projections.account_summary_queries import account_summary

router = APIRouter(prefix="/accounts", tags=["account summary"])


class AccountSummary(BaseModel):
    """An account as the summary read model has it."""

    account_id: UUID
    owner: str
    holder: str  # the subject who holds it ("" for accounts opened before holders)
    currency: str
    balance: int
    status: AccountStatus
    version: int
    updated_at: datetime


@router.get(
    "/{account_id}",
    response_model=AccountSummary,
    responses=problem_responses(*QUERY_PROBLEMS, ACCOUNT_NOT_FOUND),
)
async def get_account(
    pool: Pool, account_id: UUID, _: Consistent, caller: Authenticated
) -> dict[str, Any]:
    """One account's balance, currency, status and version; only its holder and the
    staff (and services) may read it: to anyone else it does not exist."""
    async with pool.connection() as conn:
        row = await account_summary(conn, account_id)
    check_readable(caller, account_id, row["holder"] if row else None)
    assert row is not None
    return row


ACCOUNT_SUMMARY_API = QueryApi(
    name="account-summary",
    projections=(AccountSummaryProjection,),
    router=router,
    title="Paystream account summary",
)
