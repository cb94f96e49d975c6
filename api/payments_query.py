"""The payments query API: one payment by id, or payments by account and/or status."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.openapi_errors import problem_responses
from api.pages import DEFAULT_LIMIT, Cursor, Limit, decode_position, encode_cursor, split_page
from api.problem_types import FILTER_REQUIRED, INVALID_CURSOR, PAYMENT_NOT_FOUND, QUERY_PROBLEMS
from api.problems import Problem
from api.query_app import Consistent, Pool, QueryApi
from domains.payments.aggregates import PaymentStatus
from projections.payments import PaymentsProjection
from projections.payments_queries import payment, payments_page

router = APIRouter(prefix="/payments", tags=["payments"])


class PaymentView(BaseModel):
    """A payment as the payments read model has it."""

    payment_id: UUID
    source: UUID
    destination: UUID
    amount: int
    currency: str
    reference: str
    status: PaymentStatus
    failure_reason: str | None
    refunded: bool
    created_at: datetime
    updated_at: datetime
    version: int


class PaymentPage(BaseModel):
    """One page of payments, newest first; `next_cursor` is null on the last page."""

    payments: list[PaymentView]
    next_cursor: str | None


@router.get(
    "/{payment_id}",
    response_model=PaymentView,
    responses=problem_responses(*QUERY_PROBLEMS, PAYMENT_NOT_FOUND),
)
async def get_payment(pool: Pool, payment_id: UUID, _: Consistent) -> dict[str, Any]:
    """One payment: its parties, amount, status and failure reason."""
    async with pool.connection() as conn:
        row = await payment(conn, payment_id)
    if row is None:
        raise Problem(404, "payment-not-found", f"payment {payment_id} does not exist")
    return row


@router.get(
    "",
    response_model=PaymentPage,
    responses=problem_responses(*QUERY_PROBLEMS, FILTER_REQUIRED, INVALID_CURSOR),
)
async def list_payments(
    pool: Pool,
    _: Consistent,
    account: Annotated[UUID | None, Query(description="Paid from or to this account.")] = None,
    status: PaymentStatus | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Payments from or to an account, in a status, or both; newest first."""
    if account is None and status is None:
        raise Problem(422, "filter-required", "give an account, a status, or both")
    before = decode_position(cursor)
    async with pool.connection() as conn:
        rows = await payments_page(conn, account, status, before, limit + 1)
    payments, last = split_page(rows, limit)
    return {
        "payments": payments,
        "next_cursor": encode_cursor(last["created_position"]) if last else None,
    }


PAYMENTS_API = QueryApi(
    name="payments",
    projections=(PaymentsProjection,),
    router=router,
    title="Paystream payments",
)
