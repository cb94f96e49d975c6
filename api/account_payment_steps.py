"""Payment steps on accounts: debit, credit and refund, each idempotent by its step key.

The saga sends `Idempotency-Key: <payment_id>:<step>`; the key is stored with the
events, so the same step twice changes nothing and answers as the first time, even
across restarts. Only the saga's service identity may run a step (403 for anyone else).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import ORJSONResponse
from pydantic import BaseModel, ConfigDict

from api.accounts_commands import AccountAnswer, Service, command
from api.authentication import Authenticated
from api.body_fields import Amount, Currency, Reference, StepId
from api.commands import IDEMPOTENCY_HEADER
from api.openapi_errors import problem_responses
from api.openapi_headers import answer_headers, command_headers
from api.problem_types import (
    ACCOUNT_CLOSED,
    ACCOUNT_FROZEN,
    ACCOUNT_NOT_FOUND,
    BALANCE_LIMIT_EXCEEDED,
    COMMAND_PROBLEMS,
    CURRENCY_MISMATCH,
    FORBIDDEN,
    INSUFFICIENT_FUNDS,
    INVALID_AMOUNT,
    INVALID_PAYMENT_STEP,
    STEP_KEY_REQUIRED,
    UNSUPPORTED_CURRENCY,
)
from api.problems import Problem
from domains.accounts.application import AccountResult, AccountsService
from domains.accounts.movements import PaymentMovement
from identity.roles import SERVICE

# The service clients that may run payment steps: the saga's.
PAYMENT_STEP_CLIENTS = frozenset({"saga"})


async def saga_only(caller: Authenticated) -> None:
    """Refuse (403) every caller but the saga's service identity (async: it does no I/O,
    so it runs on the event loop rather than in a worker thread)."""
    if SERVICE not in caller.roles or caller.client_id not in PAYMENT_STEP_CLIENTS:
        raise Problem(
            FORBIDDEN.status,
            FORBIDDEN.code,
            "payment steps are run by the payment saga's service identity only",
        )


router = APIRouter(prefix="/accounts", tags=["payment steps"], dependencies=[Depends(saga_only)])
STEP_PROBLEMS = (
    *COMMAND_PROBLEMS,
    FORBIDDEN,
    STEP_KEY_REQUIRED,
    INVALID_PAYMENT_STEP,
    INVALID_AMOUNT,
    UNSUPPORTED_CURRENCY,
    ACCOUNT_NOT_FOUND,
    CURRENCY_MISMATCH,
)
# Debits and credits refuse frozen and closed accounts; a refund does not (the money
# must come back).
MOVING_MONEY = (*STEP_PROBLEMS, ACCOUNT_FROZEN, ACCOUNT_CLOSED)


class PaymentStep(BaseModel):
    """Move `amount` for payment `payment_id`; `counterparty` is the other account."""

    model_config = ConfigDict(extra="forbid")
    amount: Amount
    currency: Currency
    payment_id: StepId
    counterparty: StepId
    reference: Reference = ""


def step_headers(name: str) -> dict[str, Any]:
    """A step needs its key, `<payment_id>:<step>`, which makes it idempotent."""
    return command_headers(key_required=True, key_format=f"`<payment_id>:{name}` (required).")


def step(
    request: Request,
    service: AccountsService,
    name: str,
    account_id: UUID,
    body: PaymentStep,
    action: Callable[[UUID, PaymentMovement], AccountResult],
) -> ORJSONResponse:
    """Check the step key, then run the step once."""
    expected = f"{body.payment_id}:{name}"
    if request.headers.get(IDEMPOTENCY_HEADER) != expected:
        raise Problem(
            400, "step-key-required", f"a {name} needs the header {IDEMPOTENCY_HEADER}: {expected}"
        )

    def execute() -> AccountResult:
        movement = PaymentMovement.of(
            body.amount, body.currency, body.payment_id, body.counterparty, body.reference
        )
        return action(account_id, movement)

    return command(request, service, name, str(account_id), body.model_dump(), execute)


@router.post(
    "/{account_id}/debits",
    response_model=AccountAnswer,
    openapi_extra=step_headers("debit"),
    responses=problem_responses(*MOVING_MONEY, INSUFFICIENT_FUNDS) | answer_headers(200),
)
def debit(
    request: Request, service: Service, account_id: UUID, body: PaymentStep
) -> ORJSONResponse:
    """Take a payment's amount from its source account."""
    return step(request, service, "debit", account_id, body, service.debit)


@router.post(
    "/{account_id}/credits",
    response_model=AccountAnswer,
    openapi_extra=step_headers("credit"),
    responses=problem_responses(*MOVING_MONEY, BALANCE_LIMIT_EXCEEDED) | answer_headers(200),
)
def credit(
    request: Request, service: Service, account_id: UUID, body: PaymentStep
) -> ORJSONResponse:
    """Give a payment's amount to its destination account."""
    return step(request, service, "credit", account_id, body, service.credit)


@router.post(
    "/{account_id}/refunds",
    response_model=AccountAnswer,
    openapi_extra=step_headers("refund"),
    responses=problem_responses(*STEP_PROBLEMS) | answer_headers(200),
)
def refund(
    request: Request, service: Service, account_id: UUID, body: PaymentStep
) -> ORJSONResponse:
    """Return a failed payment's debit to its source account."""
    return step(request, service, "refund", account_id, body, service.refund_debit)
