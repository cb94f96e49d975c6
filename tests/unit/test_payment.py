"""The Payment aggregate: each legal path's events, and each refused request or transition."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID, uuid4

import pytest
from eventsourcing.utils import get_topic

from domains.errors import DomainError
from domains.money import MAX_AMOUNT, InvalidAmount, UnsupportedCurrency
from domains.payments.aggregates import (
    COMPLETED,
    CREDIT_REFUSED,
    CREDITED,
    DEBITED,
    FAILED,
    REQUESTED,
    Payment,
)
from domains.payments.errors import InvalidPaymentRequest, InvalidTransition, SameAccount
from domains.text import MAX_REFERENCE_LENGTH

SOURCE = "11111111-1111-4111-8111-111111111111"
DESTINATION = "22222222-2222-4222-8222-222222222222"

Command = Callable[[Payment], None]

COMMANDS: dict[str, Command] = {
    "record_debit": Payment.record_debit,
    "record_debit_refused": lambda p: p.record_debit_refused("insufficient-funds"),
    "record_credit": Payment.record_credit,
    "record_credit_refused": lambda p: p.record_credit_refused("account-frozen"),
    "record_refund": Payment.record_refund,
    "complete": Payment.complete,
}

# The steps that lead from a new payment to each state it can rest in.
PATHS: dict[str, list[str]] = {
    REQUESTED: [],
    DEBITED: ["record_debit"],
    CREDITED: ["record_debit", "record_credit"],
    CREDIT_REFUSED: ["record_debit", "record_credit_refused"],
    COMPLETED: ["record_debit", "record_credit", "complete"],
    "failed-unrefunded": ["record_debit_refused"],
    "failed-refunded": ["record_debit", "record_credit_refused", "record_refund"],
}

LEGAL: dict[str, set[str]] = {
    REQUESTED: {"record_debit", "record_debit_refused"},
    DEBITED: {"record_credit", "record_credit_refused"},
    CREDIT_REFUSED: {"record_refund"},
    CREDITED: {"complete"},
}

ILLEGAL = [
    (state, name) for state in PATHS for name in COMMANDS if name not in LEGAL.get(state, set())
]


def new_payment(reference: str = "invoice 42") -> Payment:
    """A requested payment of 250 EUR from SOURCE to DESTINATION."""
    return Payment.request(SOURCE, DESTINATION, 250, "EUR", reference)


def payment_at(state: str) -> Payment:
    """A payment taken along PATHS[state], with no pending events."""
    payment = new_payment()
    for name in PATHS[state]:
        COMMANDS[name](payment)
    payment.collect_events()
    return payment


def assert_request_refused(error: type[DomainError], **changes: object) -> None:
    """Requesting with `changes` to a valid request raises `error`."""
    request: dict[str, object] = {
        "source": SOURCE,
        "destination": DESTINATION,
        "amount": 250,
        "currency": "EUR",
        "reference": "invoice 42",
    }
    with pytest.raises(error):
        Payment.request(**(request | changes))


def test_given_valid_request_when_requested_then_one_requested_event() -> None:
    payment = new_payment()

    events = payment.collect_events()
    assert [type(e) for e in events] == [Payment.Requested]
    requested = events[0]
    assert isinstance(requested, Payment.Requested)
    assert (requested.source, requested.destination) == (SOURCE, DESTINATION)
    assert (requested.amount, requested.currency, requested.reference) == (250, "EUR", "invoice 42")
    assert (requested.originator_id, requested.originator_version) == (payment.id, 1)
    assert (payment.status, payment.failure_reason, payment.is_finished) == (REQUESTED, None, False)


def test_given_uuid_objects_or_other_spellings_when_requested_then_canonical_ids() -> None:
    payment = Payment.request(UUID(SOURCE), DESTINATION.replace("-", "").upper(), 1, "EUR", "")

    assert (payment.source, payment.destination) == (SOURCE, DESTINATION)


@pytest.mark.parametrize(
    "destination", [SOURCE, UUID(SOURCE), SOURCE.upper(), SOURCE.replace("-", "")]
)
def test_given_same_account_when_requested_then_refused(destination: object) -> None:
    assert_request_refused(SameAccount, destination=destination)


@pytest.mark.parametrize("field", ["source", "destination"])
@pytest.mark.parametrize("value", ["", "acc-1", "42", None, 42, "11111111-1111-4111-8111"])
def test_given_non_uuid_account_when_requested_then_refused(field: str, value: object) -> None:
    assert_request_refused(InvalidPaymentRequest, **{field: value})


@pytest.mark.parametrize("amount", [0, -1, 1.5, 10.0, True, False, "5", None, MAX_AMOUNT + 1])
def test_given_bad_amount_when_requested_then_refused(amount: object) -> None:
    assert_request_refused(InvalidAmount, amount=amount)


def test_given_largest_amount_when_requested_then_accepted() -> None:
    assert Payment.request(SOURCE, DESTINATION, MAX_AMOUNT, "EUR", "").amount == MAX_AMOUNT


@pytest.mark.parametrize("currency", ["eur", "XXX", "EURO", "", None, 978, b"EUR"])
def test_given_bad_currency_when_requested_then_refused(currency: object) -> None:
    assert_request_refused(UnsupportedCurrency, currency=currency)


@pytest.mark.parametrize("reference", ["x" * (MAX_REFERENCE_LENGTH + 1), None, 42, b"ref"])
def test_given_bad_reference_when_requested_then_refused(reference: object) -> None:
    assert_request_refused(InvalidPaymentRequest, reference=reference)


@pytest.mark.parametrize("reference", ["", "x" * MAX_REFERENCE_LENGTH])
def test_given_reference_within_limit_when_requested_then_accepted(reference: str) -> None:
    assert new_payment(reference).reference == reference


def test_given_request_when_debited_credited_completed_then_events_in_order() -> None:
    payment = payment_at(REQUESTED)

    payment.record_debit()
    payment.record_credit()
    payment.complete()

    events = payment.collect_events()
    assert [type(e) for e in events] == [
        Payment.SourceDebited,
        Payment.DestinationCredited,
        Payment.Completed,
    ]
    assert [e.originator_version for e in events] == [2, 3, 4]
    completed = events[-1]
    assert isinstance(completed, Payment.Completed)
    assert (completed.source, completed.destination) == (SOURCE, DESTINATION)
    assert (completed.amount, completed.currency) == (250, "EUR")
    assert (payment.status, payment.failure_reason, payment.is_finished) == (COMPLETED, None, True)


def test_given_request_when_debit_refused_then_failed_unrefunded() -> None:
    payment = payment_at(REQUESTED)

    payment.record_debit_refused("insufficient-funds")

    events = payment.collect_events()
    assert [type(e) for e in events] == [Payment.Failed]
    failed = events[0]
    assert isinstance(failed, Payment.Failed)
    assert (failed.reason, failed.refunded) == ("insufficient-funds", False)
    assert (failed.source, failed.destination) == (SOURCE, DESTINATION)
    assert (failed.amount, failed.currency, failed.originator_version) == (250, "EUR", 2)
    assert (payment.status, payment.failure_reason) == (FAILED, "insufficient-funds")


def test_given_debited_when_credit_refused_then_waits_for_refund() -> None:
    payment = payment_at(DEBITED)

    payment.record_credit_refused("account-frozen")

    events = payment.collect_events()
    assert [type(e) for e in events] == [Payment.CreditRefused]
    refused = events[0]
    assert isinstance(refused, Payment.CreditRefused)
    assert (refused.reason, refused.originator_version) == ("account-frozen", 3)
    assert (payment.status, payment.failure_reason, payment.is_finished) == (
        CREDIT_REFUSED,
        "account-frozen",
        False,
    )


def test_given_credit_refused_when_refunded_then_failed_refunded_with_credit_reason() -> None:
    payment = payment_at(CREDIT_REFUSED)

    payment.record_refund()

    events = payment.collect_events()
    assert [type(e) for e in events] == [Payment.SourceRefunded, Payment.Failed]
    assert [e.originator_version for e in events] == [4, 5]
    failed = events[-1]
    assert isinstance(failed, Payment.Failed)
    assert (failed.reason, failed.refunded) == ("account-frozen", True)
    assert (failed.source, failed.destination) == (SOURCE, DESTINATION)
    assert (failed.amount, failed.currency) == (250, "EUR")
    assert (payment.status, payment.failure_reason, payment.is_finished) == (
        FAILED,
        "account-frozen",
        True,
    )


@pytest.mark.parametrize(("state", "name"), ILLEGAL)
def test_given_state_when_illegal_command_then_invalid_transition_and_no_event(
    state: str, name: str
) -> None:
    payment = payment_at(state)
    before = (payment.version, payment.status, payment.failure_reason)

    with pytest.raises(InvalidTransition):
        COMMANDS[name](payment)

    assert payment.collect_events() == []
    assert (payment.version, payment.status, payment.failure_reason) == before


def test_every_command_is_illegal_once_finished() -> None:
    finished = {state for state, _ in ILLEGAL if state not in LEGAL}

    assert finished == {COMPLETED, "failed-unrefunded", "failed-refunded"}
    assert {name for state, name in ILLEGAL if state == COMPLETED} == set(COMMANDS)


@pytest.mark.parametrize(
    ("cls", "topic"),
    [
        (Payment.Requested, "PaymentRequested.v1"),
        (Payment.SourceDebited, "PaymentSourceDebited.v1"),
        (Payment.DestinationCredited, "PaymentDestinationCredited.v1"),
        (Payment.CreditRefused, "PaymentCreditRefused.v1"),
        (Payment.SourceRefunded, "PaymentSourceRefunded.v1"),
        (Payment.Completed, "PaymentCompleted.v1"),
        (Payment.Failed, "PaymentFailed.v1"),
    ],
)
def test_given_event_class_then_wire_name_is_stable(cls: type, topic: str) -> None:
    assert get_topic(cls) == topic


def test_given_distinct_requests_then_distinct_payment_ids() -> None:
    assert new_payment().id != new_payment().id


@pytest.mark.parametrize("reason", ["", "   ", None, 42, "x" * 201], ids=repr)
def test_given_requested_payment_when_refusal_has_no_reason_then_refused(reason: object) -> None:
    payment = Payment.request(str(uuid4()), str(uuid4()), 100, "EUR", "")
    payment.collect_events()
    with pytest.raises(InvalidPaymentRequest):
        payment.record_debit_refused(reason)  # type: ignore[arg-type]
    assert payment.collect_events() == []
