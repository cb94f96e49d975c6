"""The accounts application service on the in-memory store."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import StoredEvent

from domains.accounts.aggregates import CLOSED, FROZEN, OPEN, Account
from domains.accounts.application import AccountResult, AccountsService
from domains.accounts.errors import (
    AccountError,
    AccountFrozen,
    AccountNotFound,
    InsufficientFunds,
    InvalidAmount,
    InvalidPaymentStep,
    UnsupportedCurrency,
)
from domains.accounts.movements import PaymentMovement
from domains.command_records import IdempotentOutcome
from domains.service import HISTORY_PAGE
from eventstore.idempotency import IdempotencyKeyTaken
from eventstore.metadata import CommandMetadata, command_metadata

Command = Callable[[AccountsService, UUID], AccountResult]


@pytest.fixture
def service() -> AccountsService:
    """A fresh service on the in-memory (POPO) store."""
    return AccountsService(env={"PERSISTENCE_MODULE": "eventstore.memory_store"})


@pytest.fixture
def account_id(service: AccountsService) -> UUID:
    """An open EUR account holding 100 (events at positions 1 and 2)."""
    account_id = service.open_account("Alice", "EUR").account_id
    service.deposit(account_id, 100)
    return account_id


def test_when_opened_then_result_of_new_account(service: AccountsService) -> None:
    result = service.open_account("Alice", "EUR")

    assert isinstance(result.account_id, UUID)
    assert (result.owner, result.currency) == ("Alice", "EUR")
    assert (result.balance, result.status) == (0, OPEN)
    assert (result.version, result.position) == (1, 1)


def test_given_account_when_each_command_then_result_after_it(
    service: AccountsService, account_id: UUID
) -> None:
    results = [
        service.deposit(account_id, 20),
        service.withdraw(account_id, 50),
        service.freeze_account(account_id),
        service.unfreeze_account(account_id),
        service.withdraw(account_id, 70),
        service.close_account(account_id),
    ]

    assert [(s.balance, s.status, s.version, s.position) for s in results] == [
        (120, OPEN, 3, 3),
        (70, OPEN, 4, 4),
        (70, FROZEN, 5, 5),
        (70, OPEN, 6, 6),
        (0, OPEN, 7, 7),
        (0, CLOSED, 8, 8),
    ]
    assert {s.account_id for s in results} == {account_id}


@pytest.mark.parametrize(
    "command",
    [
        lambda s, i: s.deposit(i, 1),
        lambda s, i: s.withdraw(i, 1),
        AccountsService.freeze_account,
        AccountsService.unfreeze_account,
        AccountsService.close_account,
    ],
)
def test_given_unknown_id_when_commanded_then_not_found(
    service: AccountsService, command: Command
) -> None:
    with pytest.raises(AccountNotFound):
        command(service, uuid4())


def test_given_unknown_id_when_read_then_not_found(service: AccountsService) -> None:
    with pytest.raises(AccountNotFound):
        service.get_account(uuid4())


def test_given_history_when_read_at_version_then_state_as_it_was(
    service: AccountsService, account_id: UUID
) -> None:
    service.withdraw(account_id, 40)
    service.freeze_account(account_id)

    states = [service.get_account(account_id, version=v) for v in (1, 2, 3, 4)]

    assert [(a.version, a.balance, a.status) for a in states] == [
        (1, 0, OPEN),
        (2, 100, OPEN),
        (3, 60, OPEN),
        (4, 60, FROZEN),
    ]
    assert service.get_account(account_id).version == 4


def assert_refused_without_event(
    service: AccountsService, account_id: UUID, command: Command, error: type[AccountError]
) -> None:
    """Runs `command`, expects `error`, and checks the store gained no event."""
    before = service.recorder.max_notification_id()
    with pytest.raises(error):
        command(service, account_id)
    assert service.recorder.max_notification_id() == before
    assert len(list(service.notification_log.select(1, 10))) == before


@pytest.mark.parametrize(
    ("command", "error"),
    [
        (lambda s, i: s.withdraw(i, 101), InsufficientFunds),
        (lambda s, i: s.deposit(i, 0), InvalidAmount),
        (lambda s, i: s.deposit(i, 1.5), InvalidAmount),
    ],
)
def test_given_account_when_command_refused_then_no_event_stored(
    service: AccountsService, account_id: UUID, command: Command, error: type[AccountError]
) -> None:
    assert_refused_without_event(service, account_id, command, error)
    assert service.get_account(account_id).balance == 100


def test_given_frozen_account_when_frozen_again_then_no_event_stored(
    service: AccountsService, account_id: UUID
) -> None:
    service.freeze_account(account_id)

    assert_refused_without_event(service, account_id, AccountsService.freeze_account, AccountFrozen)


def test_when_open_refused_then_no_event_stored(service: AccountsService) -> None:
    with pytest.raises(UnsupportedCurrency):
        service.open_account("Alice", "eur")

    assert service.recorder.max_notification_id() is None


def test_given_unknown_id_when_read_then_refusal_names_it(service: AccountsService) -> None:
    unknown = uuid4()
    with pytest.raises(AccountNotFound, match=f"^account {unknown} does not exist$"):
        service.get_account(unknown)


def test_given_in_memory_store_when_a_keyed_command_ran_then_it_answers_as_postgres_does() -> None:
    """The in-memory store keeps idempotency keys and event positions as the PostgreSQL
    recorder does, so a retried command is answered as the first time in memory too."""
    env = {"PERSISTENCE_MODULE": "eventstore.memory_store"}
    service = AccountsService(env={**env, "MAPPER_TOPIC": "eventstore.mapper:MetadataMapper"})
    account_id = service.open_account("Alice", "EUR").account_id
    service.deposit(account_id, 100)
    metadata = CommandMetadata(actor="ada", idempotency_key="k-1", request_fingerprint="fp")
    with command_metadata(metadata):
        service.deposit(account_id, 5)

    service.ping()
    outcome = service.find_outcome("k-1")
    assert outcome is not None
    assert (outcome.request_fingerprint, outcome.aggregate_id) == ("fp", account_id)
    assert (outcome.aggregate_version, outcome.position) == (3, 3)
    assert service.find_outcome("any-other-key") is None
    origin = service.event_origin(account_id, 3)
    assert origin is not None and origin.position == 3
    assert (origin.metadata["actor"], origin.metadata["idempotency_key"]) == ("ada", "k-1")
    assert service.event_origin(account_id, 4) is None


def test_given_a_key_already_used_when_another_command_runs_with_it_then_nothing_is_stored(
    service: AccountsService, account_id: UUID
) -> None:
    with command_metadata(CommandMetadata(idempotency_key="k-2", request_fingerprint="fp")):
        service.deposit(account_id, 5)
    with (
        pytest.raises(IdempotencyKeyTaken),
        command_metadata(CommandMetadata(idempotency_key="k-2", request_fingerprint="fp")),
    ):
        service.deposit(account_id, 5)
    assert service.get_account(account_id).balance == 105


def test_given_recorded_outcome_when_replayed_then_result_as_it_was_then(
    service: AccountsService, account_id: UUID
) -> None:
    service.withdraw(account_id, 40)
    outcome = IdempotentOutcome("k", "digest", account_id, 2, 2, datetime.now(UTC))
    replayed = service.replay(outcome)
    assert (replayed.account_id, replayed.balance) == (account_id, 100)
    assert (replayed.version, replayed.position) == (2, 2)


def step(payment_id: str, amount: int = 40) -> PaymentMovement:
    return PaymentMovement.of(amount, "EUR", payment_id, str(uuid4()), "")


def pay_out(service: AccountsService, account_id: UUID, payments: int) -> None:
    """`payments` completed payments of 1 each from the account (funded first), saved at once."""
    service.deposit(account_id, payments)
    account = service.get_account(account_id)
    for n in range(payments):
        account.debit(step(f"completed-{n}", 1))
    service.save(account)


def test_given_many_payments_since_a_debit_when_refunded_then_found_and_refunded_once(
    service: AccountsService, account_id: UUID
) -> None:
    service.debit(account_id, step("failed"))
    pay_out(service, account_id, 2 * HISTORY_PAGE + 50)

    refunded = service.refund_debit(account_id, step("failed"))

    assert refunded.balance == 100
    stored = service.recorder.max_notification_id()
    with pytest.raises(InvalidPaymentStep, match="has no debit to refund"):
        service.refund_debit(account_id, step("failed"))
    assert service.recorder.max_notification_id() == stored


@pytest.mark.parametrize(
    ("payment_id", "amount", "says"),
    [("never-debited", 40, "has no debit to refund"), ("debited", 90, "debited 40, not 90")],
)
def test_given_long_history_when_refund_matches_no_debit_then_refused_without_event(
    service: AccountsService, account_id: UUID, payment_id: str, amount: int, says: str
) -> None:
    service.debit(account_id, step("debited"))
    pay_out(service, account_id, 2 * HISTORY_PAGE + 50)

    stored = service.recorder.max_notification_id()

    with pytest.raises(InvalidPaymentStep, match=says):
        service.refund_debit(account_id, step(payment_id, amount))
    assert service.recorder.max_notification_id() == stored
    assert service.get_account(account_id).balance == 60


def test_given_long_history_when_refund_follows_its_debit_then_one_page_is_read(
    service: AccountsService, account_id: UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    pay_out(service, account_id, 10 * HISTORY_PAGE)
    service.debit(account_id, step("failed"))
    service.credit(account_id, step("arrived"))
    pages: list[int] = []
    recorder = service.events.recorder
    select = recorder.select_events

    def select_events(*args: Any, **kwargs: Any) -> Sequence[StoredEvent]:
        rows = select(*args, **kwargs)
        if kwargs.get("desc"):
            pages.append(len(rows))
        return rows

    monkeypatch.setattr(recorder, "select_events", select_events)

    service.refund_debit(account_id, step("failed"))

    assert pages == [HISTORY_PAGE]


def test_given_a_debit_under_its_step_key_when_the_step_runs_again_then_nothing_is_debited(
    service: AccountsService, account_id: UUID
) -> None:
    """The account keeps no list of the payments it paid: a payment's debit is taken once
    by its step key, stored with the event; even a retry that loaded the account before
    the first debit was stored (and so cannot see it) stores nothing."""
    key = CommandMetadata(idempotency_key="saga p-1:debit", request_fingerprint="fp")
    stale = service.get_account(account_id)
    with command_metadata(key):
        service.debit(account_id, step("p-1"))

    def debit_again(account: Account) -> None:
        account.debit(step("p-1"))

    loads = iter([stale])
    with pytest.raises(IdempotencyKeyTaken), command_metadata(key):
        service.change(
            account_id, lambda i: next(loads, None) or service.get_account(i), debit_again
        )
    assert service.get_account(account_id).balance == 60
