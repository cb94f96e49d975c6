"""A payment's step on one account, checked before it reaches the account."""

from __future__ import annotations

from dataclasses import dataclass

from domains.accounts.errors import InvalidPaymentStep
from domains.money import check_amount, check_currency
from domains.text import MAX_REFERENCE_LENGTH, check_text

MAX_ID_LENGTH = 100


@dataclass(frozen=True)
class PaymentMovement:
    """One step of a payment on one account: how much, which payment, with whom."""

    amount: int
    currency: str
    payment_id: str
    counterparty: str
    reference: str

    @classmethod
    def of(
        cls,
        amount: object,
        currency: object,
        payment_id: object,
        counterparty: object,
        reference: object,
    ) -> PaymentMovement:
        """Check every part of a movement before it reaches an account."""
        return cls(
            check_amount(amount),
            check_currency(currency),
            check_text("payment_id", payment_id, MAX_ID_LENGTH, InvalidPaymentStep),
            check_text("counterparty", counterparty, MAX_ID_LENGTH, InvalidPaymentStep),
            check_text(
                "reference", reference, MAX_REFERENCE_LENGTH, InvalidPaymentStep, required=False
            ),
        )

    def event_args(self) -> tuple[int, str, str, str]:
        """What the account's payment events record: amount, payment, counterparty, reference."""
        return self.amount, self.payment_id, self.counterparty, self.reference
