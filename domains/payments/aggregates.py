"""The Payment aggregate: one transfer between two accounts, and its saga's progress.

requested -> debited -> credited -> completed
requested -> failed                              (the debit was refused)
debited -> credit_refused -> refunded -> failed  (the credit was refused)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domains.erasure import ERASED_TEXT, check_erasure_reason
from domains.money import check_amount, check_currency
from domains.payments.errors import InvalidPaymentRequest, InvalidTransition, SameAccount
from domains.text import MAX_REFERENCE_LENGTH, check_text

PaymentStatus = Literal[
    "requested", "debited", "credited", "credit_refused", "refunded", "completed", "failed"
]
REQUESTED: PaymentStatus = "requested"
DEBITED: PaymentStatus = "debited"
CREDITED: PaymentStatus = "credited"
CREDIT_REFUSED: PaymentStatus = "credit_refused"
REFUNDED: PaymentStatus = "refunded"
COMPLETED: PaymentStatus = "completed"
FAILED: PaymentStatus = "failed"
TERMINAL = frozenset({COMPLETED, FAILED})
MAX_REASON_LENGTH = 200


def check_account_id(name: str, value: object) -> str:
    """Account ids are UUIDs, kept in their canonical text form."""
    try:
        return str(UUID(str(value)))
    except ValueError:
        raise InvalidPaymentRequest(f"{name} must be an account id (a UUID)", field=name) from None


def check_reason(reason: object) -> str:
    """A refusal's reason is a short, non-empty code such as `account-frozen`."""
    return check_text("reason", reason, MAX_REASON_LENGTH, InvalidPaymentRequest)


@dataclass(frozen=True)
class PaymentTerms:
    """What a payment moves, checked: two different accounts, an amount, a currency."""

    source: str
    destination: str
    amount: int
    currency: str
    reference: str

    @classmethod
    def of(
        cls,
        source: object,
        destination: object,
        amount: object,
        currency: object,
        reference: object,
    ) -> PaymentTerms:
        source_id = check_account_id("source", source)
        destination_id = check_account_id("destination", destination)
        if source_id == destination_id:
            raise SameAccount(
                "source and destination must be different accounts", field="destination"
            )
        return cls(
            source_id,
            destination_id,
            check_amount(amount),
            check_currency(currency),
            check_text(
                "reference", reference, MAX_REFERENCE_LENGTH, InvalidPaymentRequest, required=False
            ),
        )


class Payment(Aggregate):
    """A transfer of `amount` minor units from `source` to `destination`."""

    TOPIC = "payments.Payment"

    class Created(Aggregate.Created):
        """Required by explicit topics; payments are always created by Requested."""

        TOPIC = "PaymentCreated.v0"

    class Requested(Aggregate.Created):
        TOPIC = "PaymentRequested.v1"
        source: str
        destination: str
        amount: int
        currency: str
        reference: str

    class SourceDebited(Aggregate.Event):
        TOPIC = "PaymentSourceDebited.v1"

    class DestinationCredited(Aggregate.Event):
        TOPIC = "PaymentDestinationCredited.v1"

    class CreditRefused(Aggregate.Event):
        TOPIC = "PaymentCreditRefused.v1"
        reason: str

    class SourceRefunded(Aggregate.Event):
        TOPIC = "PaymentSourceRefunded.v1"

    class Completed(Aggregate.Event):
        TOPIC = "PaymentCompleted.v1"
        source: str
        destination: str
        amount: int
        currency: str

    class Failed(Aggregate.Event):
        TOPIC = "PaymentFailed.v1"
        reason: str
        refunded: bool
        source: str
        destination: str
        amount: int
        currency: str

    class PersonalDataErased(Aggregate.Event):
        """The payer's data key was destroyed (domains/erasure.py): the reference reads
        as `[erased]` from now on."""

        TOPIC = "PaymentPersonalDataErased.v1"
        key_id: str
        reason: str
        erased_by: str

    @event(Requested)
    def __init__(
        self, source: str, destination: str, amount: int, currency: str, reference: str
    ) -> None:
        self.source = source
        self.destination = destination
        self.amount = amount
        self.currency = currency
        self.reference = reference
        self.status = REQUESTED
        self.failure_reason: str | None = None

    @classmethod
    def request(
        cls,
        source: object,
        destination: object,
        amount: object,
        currency: object,
        reference: object,
    ) -> Payment:
        """Check the request and start the payment."""
        return cls.start(PaymentTerms.of(source, destination, amount, currency, reference))

    @classmethod
    def start(cls, terms: PaymentTerms) -> Payment:
        """Start a payment on terms already checked."""
        return cls(terms.source, terms.destination, terms.amount, terms.currency, terms.reference)

    @property
    def is_finished(self) -> bool:
        return self.status in TERMINAL

    def record_debit(self) -> None:
        self._expect(REQUESTED)
        self._source_debited()

    def record_debit_refused(self, reason: str) -> None:
        self._expect(REQUESTED)
        check_reason(reason)
        self._fail(reason, refunded=False)

    def record_credit(self) -> None:
        self._expect(DEBITED)
        self._destination_credited()

    def record_credit_refused(self, reason: str) -> None:
        self._expect(DEBITED)
        check_reason(reason)
        self._credit_refused(reason)

    def record_refund(self) -> None:
        self._expect(CREDIT_REFUSED)
        self._source_refunded()
        self._fail(str(self.failure_reason), refunded=True)

    def complete(self) -> None:
        self._expect(CREDITED)
        self._completed(self.source, self.destination, self.amount, self.currency)

    def erase_personal_data(self, key_id: str, reason: object, erased_by: str) -> None:
        """Record that the payer's data key `key_id` is destroyed, by whom and why; in any
        status (the saga goes on: it never needs the reference)."""
        self._personal_data_erased(key_id, check_erasure_reason(reason), erased_by)

    def _expect(self, status: str) -> None:
        if self.status != status:
            raise InvalidTransition(f"payment is {self.status}, not {status}")

    def _fail(self, reason: str, refunded: bool) -> None:
        self._failed(reason, refunded, self.source, self.destination, self.amount, self.currency)

    @event(PersonalDataErased)
    def _personal_data_erased(self, key_id: str, reason: str, erased_by: str) -> None:
        self.reference = ERASED_TEXT

    @event(SourceDebited)
    def _source_debited(self) -> None:
        self.status = DEBITED

    @event(DestinationCredited)
    def _destination_credited(self) -> None:
        self.status = CREDITED

    @event(CreditRefused)
    def _credit_refused(self, reason: str) -> None:
        self.status = CREDIT_REFUSED
        self.failure_reason = reason

    @event(SourceRefunded)
    def _source_refunded(self) -> None:
        self.status = REFUNDED

    @event(Completed)
    def _completed(self, source: str, destination: str, amount: int, currency: str) -> None:
        self.status = COMPLETED

    @event(Failed)
    def _failed(
        self,
        reason: str,
        refunded: bool,
        source: str,
        destination: str,
        amount: int,
        currency: str,
    ) -> None:
        self.status = FAILED
        self.failure_reason = reason
