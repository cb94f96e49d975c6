"""The payments application service: request a payment, record the saga's outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from domains.command_result import CommandResult
from domains.payments.aggregates import Payment, PaymentTerms
from domains.payments.errors import PaymentNotFound
from domains.service import CommandService


@dataclass(frozen=True)
class PaymentResult(CommandResult):
    """What a payments command answers: the payment as it stands after it."""

    ID_FIELD = "payment_id"

    payment_id: UUID
    source: str
    destination: str
    amount: int
    currency: str
    reference: str
    status: str
    failure_reason: str | None
    version: int


class PaymentsService(CommandService[Payment, PaymentResult]):
    """Commands of the payments context."""

    name = "payments"
    aggregate_class = Payment
    result_class = PaymentResult
    not_found = PaymentNotFound

    def request_payment(
        self,
        source: object,
        destination: object,
        amount: object,
        currency: object,
        reference: object,
    ) -> PaymentResult:
        return self.start_payment(PaymentTerms.of(source, destination, amount, currency, reference))

    def start_payment(self, terms: PaymentTerms) -> PaymentResult:
        """Request a payment on terms the caller has checked already (the API checks them
        before it looks the accounts up)."""
        return self.create(Payment.start(terms))

    def record_debit(self, payment_id: UUID) -> PaymentResult:
        return self.command(payment_id, Payment.record_debit)

    def record_debit_refused(self, payment_id: UUID, reason: str) -> PaymentResult:
        return self.command(payment_id, lambda p: p.record_debit_refused(reason))

    def record_credit(self, payment_id: UUID) -> PaymentResult:
        return self.command(payment_id, Payment.record_credit)

    def record_credit_refused(self, payment_id: UUID, reason: str) -> PaymentResult:
        return self.command(payment_id, lambda p: p.record_credit_refused(reason))

    def record_refund(self, payment_id: UUID) -> PaymentResult:
        return self.command(payment_id, Payment.record_refund)

    def complete(self, payment_id: UUID) -> PaymentResult:
        return self.command(payment_id, Payment.complete)

    def erase_personal_data(
        self, payment_id: UUID, key_id: str, reason: object, erased_by: str
    ) -> PaymentResult:
        """Record the erasure of the payer's data (an operator's, never an API's)."""
        return self.command(payment_id, lambda p: p.erase_personal_data(key_id, reason, erased_by))

    def get_payment(self, payment_id: UUID, version: int | None = None) -> Payment:
        """The payment now, or as it was at `version`."""
        return self.load(payment_id, version)
