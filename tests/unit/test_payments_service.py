"""The payments application service on the in-memory store."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID, uuid4

import pytest

from domains.errors import DomainError
from domains.money import InvalidAmount
from domains.payments.aggregates import (
    COMPLETED,
    CREDIT_REFUSED,
    CREDITED,
    DEBITED,
    FAILED,
    REQUESTED,
)
from domains.payments.application import PaymentResult, PaymentsService
from domains.payments.errors import InvalidTransition, PaymentNotFound, SameAccount

SOURCE = "11111111-1111-4111-8111-111111111111"
DESTINATION = "22222222-2222-4222-8222-222222222222"

Command = Callable[[PaymentsService, UUID], PaymentResult]

COMMANDS: list[Command] = [
    PaymentsService.record_debit,
    lambda s, i: s.record_debit_refused(i, "insufficient-funds"),
    PaymentsService.record_credit,
    lambda s, i: s.record_credit_refused(i, "account-frozen"),
    PaymentsService.record_refund,
    PaymentsService.complete,
]


@pytest.fixture
def service() -> PaymentsService:
    """A fresh service on the in-memory (POPO) store."""
    return PaymentsService(env={"PERSISTENCE_MODULE": "eventstore.memory_store"})


@pytest.fixture
def payment_id(service: PaymentsService) -> UUID:
    """A requested payment of 250 EUR from SOURCE to DESTINATION (event at position 1)."""
    return service.request_payment(SOURCE, DESTINATION, 250, "EUR", "invoice 42").payment_id


def test_when_requested_then_result_of_new_payment(service: PaymentsService) -> None:
    result = service.request_payment(SOURCE, DESTINATION, 250, "EUR", "invoice 42")

    assert isinstance(result.payment_id, UUID)
    assert (result.source, result.destination) == (SOURCE, DESTINATION)
    assert (result.amount, result.currency, result.reference) == (250, "EUR", "invoice 42")
    assert (result.status, result.failure_reason) == (REQUESTED, None)
    assert (result.version, result.position) == (1, 1)


def test_given_request_when_happy_path_then_result_after_each_command(
    service: PaymentsService, payment_id: UUID
) -> None:
    results = [
        service.record_debit(payment_id),
        service.record_credit(payment_id),
        service.complete(payment_id),
    ]

    assert [(s.status, s.failure_reason, s.version, s.position) for s in results] == [
        (DEBITED, None, 2, 2),
        (CREDITED, None, 3, 3),
        (COMPLETED, None, 4, 4),
    ]
    assert {s.payment_id for s in results} == {payment_id}


def test_given_request_when_debit_refused_then_failed_result(
    service: PaymentsService, payment_id: UUID
) -> None:
    result = service.record_debit_refused(payment_id, "insufficient-funds")

    assert (result.status, result.failure_reason) == (FAILED, "insufficient-funds")
    assert (result.version, result.position) == (2, 2)


def test_given_credit_refused_when_refunded_then_position_of_the_last_event(
    service: PaymentsService, payment_id: UUID
) -> None:
    service.record_debit(payment_id)
    refused = service.record_credit_refused(payment_id, "account-frozen")
    refunded = service.record_refund(payment_id)

    assert (refused.status, refused.version, refused.position) == (CREDIT_REFUSED, 3, 3)
    assert (refunded.status, refunded.failure_reason) == (FAILED, "account-frozen")
    assert (refunded.version, refunded.position) == (5, 5)
    assert service.recorder.max_notification_id() == 5


def test_given_two_payments_then_positions_are_global(service: PaymentsService) -> None:
    first = service.request_payment(SOURCE, DESTINATION, 1, "EUR", "")
    second = service.request_payment(DESTINATION, SOURCE, 2, "EUR", "")

    debited = service.record_debit(first.payment_id)

    assert [(s.version, s.position) for s in (first, second, debited)] == [(1, 1), (1, 2), (2, 3)]


def test_given_history_when_read_at_version_then_state_as_it_was(
    service: PaymentsService, payment_id: UUID
) -> None:
    service.record_debit(payment_id)
    service.record_credit(payment_id)

    states = [service.get_payment(payment_id, version=v) for v in (1, 2, 3)]

    assert [(p.version, p.status) for p in states] == [
        (1, REQUESTED),
        (2, DEBITED),
        (3, CREDITED),
    ]
    assert service.get_payment(payment_id).version == 3


@pytest.mark.parametrize("command", COMMANDS)
def test_given_unknown_id_when_commanded_then_not_found(
    service: PaymentsService, command: Command
) -> None:
    with pytest.raises(PaymentNotFound):
        command(service, uuid4())
    assert service.recorder.max_notification_id() is None


def test_given_unknown_id_when_read_then_not_found(service: PaymentsService) -> None:
    with pytest.raises(PaymentNotFound):
        service.get_payment(uuid4())


def assert_refused_without_event(
    service: PaymentsService, payment_id: UUID, command: Command, error: type[DomainError]
) -> None:
    """Runs `command`, expects `error`, and checks the store and the payment are unchanged."""
    before = service.recorder.max_notification_id()
    version = service.get_payment(payment_id).version
    with pytest.raises(error):
        command(service, payment_id)
    assert service.recorder.max_notification_id() == before
    assert service.get_payment(payment_id).version == version


@pytest.mark.parametrize(
    "command",
    [
        PaymentsService.record_credit,
        lambda s, i: s.record_credit_refused(i, "account-frozen"),
        PaymentsService.record_refund,
        PaymentsService.complete,
    ],
)
def test_given_requested_when_illegal_command_then_no_event_stored(
    service: PaymentsService, payment_id: UUID, command: Command
) -> None:
    assert_refused_without_event(service, payment_id, command, InvalidTransition)


@pytest.mark.parametrize("command", COMMANDS)
def test_given_completed_when_commanded_then_no_event_stored(
    service: PaymentsService, payment_id: UUID, command: Command
) -> None:
    service.record_debit(payment_id)
    service.record_credit(payment_id)
    service.complete(payment_id)

    assert_refused_without_event(service, payment_id, command, InvalidTransition)
    assert service.get_payment(payment_id).status == COMPLETED


@pytest.mark.parametrize("command", COMMANDS)
def test_given_failed_when_commanded_then_no_event_stored(
    service: PaymentsService, payment_id: UUID, command: Command
) -> None:
    service.record_debit_refused(payment_id, "insufficient-funds")

    assert_refused_without_event(service, payment_id, command, InvalidTransition)
    assert service.get_payment(payment_id).status == FAILED


@pytest.mark.parametrize(
    ("request_args", "error"),
    [
        ((SOURCE, SOURCE, 250, "EUR", ""), SameAccount),
        ((SOURCE, DESTINATION, 0, "EUR", ""), InvalidAmount),
    ],
)
def test_when_request_refused_then_no_event_stored(
    service: PaymentsService, request_args: tuple[object, ...], error: type[DomainError]
) -> None:
    with pytest.raises(error):
        service.request_payment(*request_args)

    assert service.recorder.max_notification_id() is None
