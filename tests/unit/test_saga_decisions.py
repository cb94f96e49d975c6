"""The saga's decisions: given a payment's history of events, the step that moves it on."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from uuid import UUID

import pytest
from eventsourcing.domain import CanMutateAggregate

from domains.payments.aggregates import (
    COMPLETED,
    CREDIT_REFUSED,
    CREDITED,
    DEBITED,
    FAILED,
    REQUESTED,
    Payment,
)
from domains.payments.saga import Action, Step, next_step

SOURCE = "11111111-1111-4111-8111-111111111111"
DESTINATION = "22222222-2222-4222-8222-222222222222"

Command = Callable[[Payment], None]

STEPS: dict[str, Command] = {
    "debit": Payment.record_debit,
    "debit refused": lambda p: p.record_debit_refused("insufficient-funds"),
    "credit": Payment.record_credit,
    "credit refused": lambda p: p.record_credit_refused("account-frozen"),
    "refund": Payment.record_refund,
    "complete": Payment.complete,
}


def history(*steps: str) -> list[CanMutateAggregate[UUID]]:
    """The events of a payment of 250 EUR from SOURCE to DESTINATION taken through `steps`."""
    payment = Payment.request(SOURCE, DESTINATION, 250, "EUR", "invoice 42")
    for step in steps:
        STEPS[step](payment)
    return list(payment.collect_events())


def replay(events: Sequence[CanMutateAggregate[UUID]]) -> Payment:
    """The payment as its stored events rebuild it."""
    payment: Payment | None = None
    for domain_event in events:
        payment = domain_event.mutate(payment)
    assert isinstance(payment, Payment)
    return payment


@pytest.mark.parametrize(
    ("steps", "status", "action", "account", "counterparty", "suffix"),
    [
        ((), REQUESTED, Action.DEBIT_SOURCE, SOURCE, DESTINATION, "debit"),
        (("debit",), DEBITED, Action.CREDIT_DESTINATION, DESTINATION, SOURCE, "credit"),
        (("debit", "credit"), CREDITED, Action.COMPLETE, DESTINATION, SOURCE, "complete"),
        (
            ("debit", "credit refused"),
            CREDIT_REFUSED,
            Action.REFUND_SOURCE,
            SOURCE,
            DESTINATION,
            "refund",
        ),
    ],
)
def test_given_unfinished_payment_when_decided_then_next_step(
    steps: tuple[str, ...],
    status: str,
    action: Action,
    account: str,
    counterparty: str,
    suffix: str,
) -> None:
    events = history(*steps)
    payment = replay(events)

    step = next_step(payment)

    assert payment.status == status
    assert step == Step(action, account, counterparty, f"{events[0].originator_id}:{suffix}")


@pytest.mark.parametrize(
    "steps",
    [
        ("debit", "credit", "complete"),
        ("debit refused",),
        ("debit", "credit refused", "refund"),
    ],
)
def test_given_finished_payment_when_decided_then_nothing_to_do(steps: tuple[str, ...]) -> None:
    payment = replay(history(*steps))

    assert payment.status in {COMPLETED, FAILED}
    assert next_step(payment) is None


def test_given_each_step_carried_out_then_decisions_follow_the_happy_path() -> None:
    events = history()
    decisions = [next_step(replay(events))]
    for step in ("debit", "credit", "complete"):
        payment = replay(events)
        STEPS[step](payment)
        events = events + list(payment.collect_events())
        decisions.append(next_step(replay(events)))

    assert [d.action if d else None for d in decisions] == [
        Action.DEBIT_SOURCE,
        Action.CREDIT_DESTINATION,
        Action.COMPLETE,
        None,
    ]


def test_given_two_payments_then_their_keys_differ() -> None:
    first, second = next_step(replay(history())), next_step(replay(history()))

    assert first is not None
    assert second is not None
    assert first.key != second.key


@pytest.mark.parametrize(
    ("action", "value"),
    [
        (Action.DEBIT_SOURCE, "debit"),
        (Action.CREDIT_DESTINATION, "credit"),
        (Action.REFUND_SOURCE, "refund"),
        (Action.COMPLETE, "complete"),
    ],
)
def test_given_action_then_its_value_names_the_key_suffix(action: Action, value: str) -> None:
    assert action.value == value
