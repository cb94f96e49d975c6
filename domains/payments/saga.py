"""The payment saga's decisions: given a payment, what must happen next.

Pure: the worker (saga/) carries a step out against the accounts API and records
the outcome on the payment, which produces the next event and the next decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from domains.payments.aggregates import (
    CREDIT_REFUSED,
    CREDITED,
    DEBITED,
    REQUESTED,
    Payment,
)


class Action(Enum):
    DEBIT_SOURCE = "debit"
    CREDIT_DESTINATION = "credit"
    REFUND_SOURCE = "refund"
    COMPLETE = "complete"


@dataclass(frozen=True)
class Step:
    """One thing to do for one payment; `key` makes it idempotent at the accounts API."""

    action: Action
    account_id: str
    counterparty: str
    key: str


def next_step(payment: Payment) -> Step | None:
    """The step that moves `payment` on, or None when it is finished."""
    payment_id = str(payment.id)
    if payment.status == REQUESTED:
        return Step(Action.DEBIT_SOURCE, payment.source, payment.destination, f"{payment_id}:debit")
    if payment.status == DEBITED:
        return Step(
            Action.CREDIT_DESTINATION, payment.destination, payment.source, f"{payment_id}:credit"
        )
    if payment.status == CREDIT_REFUSED:
        return Step(
            Action.REFUND_SOURCE, payment.source, payment.destination, f"{payment_id}:refund"
        )
    if payment.status == CREDITED:
        return Step(Action.COMPLETE, payment.destination, payment.source, f"{payment_id}:complete")
    return None
