"""Payment steps on accounts: debit, credit and refund, each idempotent by its step key.

The saga sends `Idempotency-Key: <payment_id>:<step>`; the key is stored with the
events, so the same step twice changes nothing and answers as the first time, even
across restarts.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import ORJSONResponse
from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr

from api.accounts_commands import AccountAnswer, Service, command
from api.commands import IDEMPOTENCY_HEADER
from api.problems import Problem
from domains.accounts.application import AccountSnapshot, AccountsService
from domains.accounts.movements import PaymentMovement

router = APIRouter(prefix="/accounts", tags=["payment steps"])


class PaymentStep(BaseModel):
    """Move `amount` for payment `payment_id`; `counterparty` is the other account."""

    model_config = ConfigDict(extra="forbid")
    amount: StrictInt
    currency: StrictStr
    payment_id: StrictStr
    counterparty: StrictStr
    reference: StrictStr = ""


def step(
    request: Request,
    service: AccountsService,
    name: str,
    account_id: UUID,
    body: PaymentStep,
    action: Callable[[UUID, PaymentMovement], AccountSnapshot],
) -> ORJSONResponse:
    """Check the step key, then run the step once."""
    expected = f"{body.payment_id}:{name}"
    if request.headers.get(IDEMPOTENCY_HEADER) != expected:
        raise Problem(
            400, "step-key-required", f"a {name} needs the header {IDEMPOTENCY_HEADER}: {expected}"
        )

    def execute() -> AccountSnapshot:
        movement = PaymentMovement.of(
            body.amount, body.currency, body.payment_id, body.counterparty, body.reference
        )
        return action(account_id, movement)

    return command(request, service, name, str(account_id), body.model_dump(), execute)


@router.post("/{account_id}/debits", response_model=AccountAnswer)
def debit(
    request: Request, service: Service, account_id: UUID, body: PaymentStep
) -> ORJSONResponse:
    """Take a payment's amount from its source account."""
    return step(request, service, "debit", account_id, body, service.debit)


@router.post("/{account_id}/credits", response_model=AccountAnswer)
def credit(
    request: Request, service: Service, account_id: UUID, body: PaymentStep
) -> ORJSONResponse:
    """Give a payment's amount to its destination account."""
    return step(request, service, "credit", account_id, body, service.credit)


@router.post("/{account_id}/refunds", response_model=AccountAnswer)
def refund(
    request: Request, service: Service, account_id: UUID, body: PaymentStep
) -> ORJSONResponse:
    """Return a failed payment's debit to its source account."""
    return step(request, service, "refund", account_id, body, service.refund_debit)
