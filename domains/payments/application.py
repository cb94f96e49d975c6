"""The payments application service: request a payment, record the saga's outcomes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domains.payments.aggregates import Payment, PaymentTerms
from domains.payments.errors import PaymentNotFound
from domains.service import CommandService


@dataclass(frozen=True)
class PaymentSnapshot:
    """What a payment command answers: the payment as it stands after it."""

    payment_id: UUID
    source: str
    destination: str
    amount: int
    currency: str
    reference: str
    status: str
    failure_reason: str | None
    version: int
    position: int | None

    @classmethod
    def of(cls, payment: Payment, position: int | None) -> PaymentSnapshot:
        return cls(
            payment_id=payment.id,
            source=payment.source,
            destination=payment.destination,
            amount=payment.amount,
            currency=payment.currency,
            reference=payment.reference,
            status=payment.status,
            failure_reason=payment.failure_reason,
            version=payment.version,
            position=position,
        )


class PaymentsService(CommandService):
    """Commands of the payments context."""

    name = "payments"
    aggregate_class = Payment

    def request_payment(
        self,
        source: object,
        destination: object,
        amount: object,
        currency: object,
        reference: object,
    ) -> PaymentSnapshot:
        return self.start_payment(PaymentTerms.of(source, destination, amount, currency, reference))

    def start_payment(self, terms: PaymentTerms) -> PaymentSnapshot:
        """Request a payment on terms the caller has checked already (the API checks them
        before it looks the accounts up)."""
        payment = Payment.start(terms)
        return PaymentSnapshot.of(payment, self.record(payment))

    def record_debit(self, payment_id: UUID) -> PaymentSnapshot:
        return self._change(payment_id, Payment.record_debit)

    def record_debit_refused(self, payment_id: UUID, reason: str) -> PaymentSnapshot:
        return self._change(payment_id, lambda p: p.record_debit_refused(reason))

    def record_credit(self, payment_id: UUID) -> PaymentSnapshot:
        return self._change(payment_id, Payment.record_credit)

    def record_credit_refused(self, payment_id: UUID, reason: str) -> PaymentSnapshot:
        return self._change(payment_id, lambda p: p.record_credit_refused(reason))

    def record_refund(self, payment_id: UUID) -> PaymentSnapshot:
        return self._change(payment_id, Payment.record_refund)

    def complete(self, payment_id: UUID) -> PaymentSnapshot:
        return self._change(payment_id, Payment.complete)

    def get_payment(self, payment_id: UUID, version: int | None = None) -> Payment:
        try:
            payment: Payment = self.repository.get(payment_id, version=version)
        except AggregateNotFoundError:
            raise PaymentNotFound(f"payment {payment_id} does not exist") from None
        return payment

    def _change(self, payment_id: UUID, action: Callable[[Payment], None]) -> PaymentSnapshot:
        payment, position = self.change(payment_id, self.get_payment, action)
        return PaymentSnapshot.of(payment, position)
