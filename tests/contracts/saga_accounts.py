"""The saga's contract with the accounts command API, written from the saga's side
(consumer-driven): each call it makes, in a given state of the account, and what it
relies on in the answer. tests/api/test_saga_accounts_contract.py checks it from both
sides: the saga's own client against the real accounts app, and the accounts API's
OpenAPI document against every interaction.

What the saga relies on (saga/accounts_client.py):
- a done step answers 2xx with `X-Consistency-Token: accounts:<position>` (the event it
  stored, which becomes the cause of the payment's next event);
- the same step again (same `Idempotency-Key`) answers as the first time, token included;
- a refusal is a 4xx problem+json whose `type` ends in the reason code the payment records;
- `409 /problems/concurrent-modification` and 5xx are worth retrying.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from domains.payments.saga import Action


class Given(Enum):
    """The state of the account the call is made on."""

    FUNDED = "open, holding 10000"
    EMPTY = "open, holding nothing"
    FROZEN = "frozen, holding 10000"
    CLOSED = "closed"
    UNKNOWN = "never opened"
    DEBITED = "open, already debited by this payment"
    DEBITED_THEN_FROZEN = "debited by this payment, then frozen"
    FULL = "open, holding the most an account may hold"


@dataclass(frozen=True)
class Interaction:
    """One call of the saga and the answer it relies on (`reason` empty: done)."""

    name: str
    given: Given
    action: Action
    status: int
    reason: str = ""
    amount: int = 100
    currency: str = "EUR"

    @property
    def done(self) -> bool:
        return not self.reason


DEBIT, CREDIT, REFUND = Action.DEBIT_SOURCE, Action.CREDIT_DESTINATION, Action.REFUND_SOURCE

CONTRACT: tuple[Interaction, ...] = (
    Interaction("debit a funded account", Given.FUNDED, DEBIT, 200),
    Interaction("the same debit again answers as the first", Given.DEBITED, DEBIT, 200),
    Interaction("debit more than the balance", Given.EMPTY, DEBIT, 409, "insufficient-funds"),
    Interaction("debit a frozen account", Given.FROZEN, DEBIT, 409, "account-frozen"),
    Interaction("debit a closed account", Given.CLOSED, DEBIT, 409, "account-closed"),
    Interaction("debit an unknown account", Given.UNKNOWN, DEBIT, 404, "account-not-found"),
    Interaction(
        "debit in another currency", Given.FUNDED, DEBIT, 409, "currency-mismatch", currency="USD"
    ),
    Interaction("credit a funded account", Given.FUNDED, CREDIT, 200),
    Interaction("credit a frozen account", Given.FROZEN, CREDIT, 409, "account-frozen"),
    Interaction("credit a closed account", Given.CLOSED, CREDIT, 409, "account-closed"),
    Interaction("credit an unknown account", Given.UNKNOWN, CREDIT, 404, "account-not-found"),
    Interaction(
        "credit in another currency", Given.FUNDED, CREDIT, 409, "currency-mismatch", currency="USD"
    ),
    Interaction("credit past the balance limit", Given.FULL, CREDIT, 409, "balance-limit-exceeded"),
    Interaction("refund a debit", Given.DEBITED, REFUND, 200),
    Interaction("refund a debit of a frozen account", Given.DEBITED_THEN_FROZEN, REFUND, 200),
    Interaction("refund on an unknown account", Given.UNKNOWN, REFUND, 404, "account-not-found"),
    Interaction(
        "refund in another currency", Given.FUNDED, REFUND, 409, "currency-mismatch", currency="USD"
    ),
)

# Problems that mean the saga's request was wrong, not a refusal it can record: none of
# them may ever answer a call of the contract.
CLIENT_MISTAKES = frozenset(
    {
        "validation-error",
        "malformed-json",
        "step-key-required",
        "invalid-payment-step",
        "invalid-amount",
        "unsupported-currency",
        "invalid-idempotency-key",
        "idempotency-key-reused",
        "invalid-header",
        "body-too-large",
        "unsupported-media-type",
    }
)
