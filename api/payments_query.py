"""The payments query API: one payment by id, or payments by account and/or status."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.authentication import Authenticated
from api.openapi_errors import problem_responses
from api.pages import DEFAULT_LIMIT, Cursor, Limit, decode_position, encode_cursor, split_page
from api.problem_types import FILTER_REQUIRED, INVALID_CURSOR, PAYMENT_NOT_FOUND, QUERY_PROBLEMS
from api.problems import Problem
from api.query_app import Consistent, Pool, QueryApi
from domains.accounts.access import READERS_OF_EVERY_ACCOUNT
from domains.payments.aggregates import PaymentStatus
from identity.verifier import Principal
from projections.payments import PaymentsProjection
from projections.payments_queries import payment, payments_page

router = APIRouter(prefix="/payments", tags=["payments"])


class PaymentView(BaseModel):
    """A payment as the payments read model has it."""

    payment_id: UUID
    payer: str  # who requested it (the source's holder); "" for payments before tokens
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
async def get_payment(
    pool: Pool, payment_id: UUID, _: Consistent, caller: Authenticated
) -> dict[str, Any]:
    """One payment: its parties, amount, status and failure reason; to its payer, the
    staff and services only (to anyone else it does not exist)."""
    async with pool.connection() as conn:
        row = await payment(conn, payment_id)
    if row is None or (not reads_every_payment(caller) and row["payer"] != caller.subject):
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
    caller: Authenticated,
    account: Annotated[UUID | None, Query(description="Paid from or to this account.")] = None,
    status: PaymentStatus | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Payments from or to an account, in a status, or both; newest first. A customer
    sees only the payments they made."""
    if account is None and status is None:
        raise Problem(422, "filter-required", "give an account, a status, or both")
    before = decode_position(cursor)
    async with pool.connection() as conn:
        payer = None if reads_every_payment(caller) else caller.subject
        rows = await payments_page(conn, account, status, before, limit + 1, payer)
    payments, last = split_page(rows, limit)
    return {
        "payments": payments,
        "next_cursor": encode_cursor(last["created_position"]) if last else None,
    }


def reads_every_payment(caller: Principal) -> bool:
    """The staff and services read every payment; a customer, the ones they made."""
    return bool(caller.roles & READERS_OF_EVERY_ACCOUNT)


PAYMENTS_API = QueryApi(
    name="payments",
    projections=(PaymentsProjection,),
    router=router,
    title="Paystream payments",
)
