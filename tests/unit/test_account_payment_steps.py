"""An account's payment steps: debit, credit and refund_debit, and the movements they take.

A refund is given what the account's history says of the payment (`refundable_debit` over
the events it recorded, newest first), as AccountsService gives it from the store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from itertools import chain

import pytest
from eventsourcing.utils import get_topic

from domains.accounts.aggregates import (
    CLOSED,
    FROZEN,
    MAX_AMOUNT,
    MAX_BALANCE,
    Account,
    refundable_debit,
)
from domains.accounts.errors import (
    AccountClosed,
    AccountFrozen,
    BalanceLimitExceeded,
    CurrencyMismatch,
    InsufficientFunds,
    InvalidAmount,
    InvalidPaymentStep,
    UnsupportedCurrency,
)
from domains.accounts.movements import MAX_ID_LENGTH, PaymentMovement
from domains.errors import DomainError
from domains.text import MAX_REFERENCE_LENGTH
from eventstore.transcoder import default_transcoder

PAYMENT = "payment-1"
COUNTERPARTY = "22222222-2222-4222-8222-222222222222"

Command = Callable[[Account], None]


def movement(
    amount: object = 40, currency: object = "EUR", payment_id: object = PAYMENT
) -> PaymentMovement:
    """A checked movement of `amount` for `payment_id` with COUNTERPARTY."""
    return PaymentMovement.of(amount, currency, payment_id, COUNTERPARTY, "invoice 42")


@pytest.fixture
def history() -> list[object]:
    """Every event the account under test recorded, oldest first (what the store holds)."""
    return []


@pytest.fixture
def account(history: list[object]) -> Account:
    """An open EUR account with a balance of 100 and no pending events."""
    account = Account.open("Alice", "EUR")
    account.deposit(100)
    history.extend(account.collect_events())
    return account


@pytest.fixture
def debited(account: Account, history: list[object]) -> Account:
    """The account after PAYMENT took 40 from it: a balance of 60."""
    account.debit(movement())
    history.extend(account.collect_events())
    return account


def refund(account: Account, history: list[object], made: PaymentMovement) -> None:
    """Refund as AccountsService does: with what the account's history says of the payment."""
    account.refund_debit(made, refundable_debit(reversed(history), made.payment_id))


def freeze(account: Account) -> Account:
    """The account, frozen, with no pending events."""
    account.freeze()
    account.collect_events()
    return account


def empty_and_close(account: Account) -> Account:
    """The account, emptied and closed, with no pending events."""
    account.withdraw(account.balance)
    account.close()
    account.collect_events()
    return account


def iter_raising(why: str) -> Iterator[object]:
    """Events that fail the test when read."""
    raise AssertionError(why)
    yield  # a generator: the body runs only when read


def assert_refused(account: Account, command: Command, error: type[DomainError]) -> None:
    """Runs `command` on `account`, expects `error`, and checks that nothing changed."""
    before = dict(vars(account))
    with pytest.raises(error):
        command(account)
    assert account.collect_events() == []
    assert vars(account) == before


def assert_payment_event(event: object, cls: type, amount: int) -> None:
    """`event` is a `cls` recording `amount` for PAYMENT with COUNTERPARTY."""
    assert type(event) is cls
    assert isinstance(event, Account.Debited | Account.Credited | Account.DebitRefunded)
    assert (event.amount, event.payment_id) == (amount, PAYMENT)
    assert (event.counterparty, event.reference) == (COUNTERPARTY, "invoice 42")


def test_given_funds_when_debited_then_debited_event(account: Account) -> None:
    account.debit(movement(40))

    events = account.collect_events()
    assert len(events) == 1
    assert_payment_event(events[0], Account.Debited, 40)
    assert events[0].originator_version == 3
    assert account.balance == 60


def test_given_funds_when_whole_balance_debited_then_accepted(account: Account) -> None:
    account.debit(movement(100))

    assert account.balance == 0


@pytest.mark.parametrize(
    ("command", "error"),
    [
        (lambda a: a.debit(movement(101)), InsufficientFunds),
        (lambda a: a.debit(movement(40, "USD")), CurrencyMismatch),
    ],
)
def test_given_open_account_when_debit_refused_then_no_event(
    account: Account, command: Command, error: type[DomainError]
) -> None:
    assert_refused(account, command, error)


def test_given_frozen_account_when_debited_then_refused(account: Account) -> None:
    assert_refused(freeze(account), lambda a: a.debit(movement()), AccountFrozen)


def test_given_closed_account_when_debited_then_refused(account: Account) -> None:
    assert_refused(empty_and_close(account), lambda a: a.debit(movement()), AccountClosed)


def test_given_open_account_when_credited_then_credited_event(account: Account) -> None:
    account.credit(movement(40))

    events = account.collect_events()
    assert len(events) == 1
    assert_payment_event(events[0], Account.Credited, 40)
    assert events[0].originator_version == 3
    assert account.balance == 140


@pytest.mark.parametrize(
    ("prepare", "error"),
    [
        (freeze, AccountFrozen),
        (empty_and_close, AccountClosed),
    ],
)
def test_given_frozen_or_closed_account_when_credited_then_refused(
    account: Account, prepare: Callable[[Account], Account], error: type[DomainError]
) -> None:
    assert_refused(prepare(account), lambda a: a.credit(movement()), error)


def test_given_other_currency_when_credited_then_refused(account: Account) -> None:
    assert_refused(account, lambda a: a.credit(movement(40, "USD")), CurrencyMismatch)


def test_given_balance_near_limit_when_credited_beyond_it_then_refused(account: Account) -> None:
    for _ in range(MAX_BALANCE // MAX_AMOUNT - 1):
        account.deposit(MAX_AMOUNT)
    account.credit(movement(MAX_AMOUNT - 100))
    account.collect_events()

    assert account.balance == MAX_BALANCE
    assert_refused(account, lambda a: a.credit(movement(1)), BalanceLimitExceeded)


def test_given_debit_when_refunded_then_refunded_event(
    debited: Account, history: list[object]
) -> None:
    refund(debited, history, movement(40))

    events = debited.collect_events()
    assert len(events) == 1
    assert_payment_event(events[0], Account.DebitRefunded, 40)
    assert events[0].originator_version == 4
    assert debited.balance == 100


def test_given_debit_then_frozen_when_refunded_then_accepted(
    debited: Account, history: list[object]
) -> None:
    refund(freeze(debited), history, movement(40))

    assert [type(e) for e in debited.collect_events()] == [Account.DebitRefunded]
    assert (debited.status, debited.balance) == (FROZEN, 100)


def test_given_debit_of_whole_balance_then_closed_when_refunded_then_accepted(
    account: Account, history: list[object]
) -> None:
    account.debit(movement(100))
    account.close()
    history.extend(account.collect_events())

    refund(account, history, movement(100))

    assert [type(e) for e in account.collect_events()] == [Account.DebitRefunded]
    assert (account.status, account.balance) == (CLOSED, 100)


def test_given_debit_when_refunded_twice_then_second_refused(
    debited: Account, history: list[object]
) -> None:
    refund(debited, history, movement(40))
    history.extend(debited.collect_events())

    assert_refused(debited, lambda a: refund(a, history, movement(40)), InvalidPaymentStep)
    assert debited.balance == 100


@pytest.mark.parametrize(
    ("made", "error"),
    [
        (movement(40, payment_id="payment-2"), InvalidPaymentStep),
        (movement(40, "USD"), CurrencyMismatch),
    ],
)
def test_given_debit_when_refund_for_other_payment_or_currency_then_refused(
    debited: Account, history: list[object], made: PaymentMovement, error: type[DomainError]
) -> None:
    assert_refused(debited, lambda a: refund(a, history, made), error)


def test_given_no_debit_when_refunded_then_refused(account: Account, history: list[object]) -> None:
    assert_refused(account, lambda a: refund(a, history, movement()), InvalidPaymentStep)


def test_given_payment_credited_this_account_when_refunded_then_refused(
    account: Account, history: list[object]
) -> None:
    account.credit(movement(40))
    history.extend(account.collect_events())

    assert_refused(account, lambda a: refund(a, history, movement(40)), InvalidPaymentStep)


def test_given_history_of_events_when_replayed_then_refund_still_knows_the_debit() -> None:
    original = Account.open("Alice", "EUR")
    original.deposit(100)
    original.debit(movement(40))
    history: list[object] = list(original.collect_events())
    rebuilt: Account | None = None
    for domain_event in history:
        assert isinstance(domain_event, Account.Event)
        rebuilt = domain_event.mutate(rebuilt)
    assert isinstance(rebuilt, Account)

    refund(rebuilt, history, movement(40))

    assert [type(e) for e in rebuilt.collect_events()] == [Account.DebitRefunded]
    assert (rebuilt.version, rebuilt.balance) == (4, 100)


@pytest.mark.parametrize("payment_id", ["", "   ", None, 42, "p" * (MAX_ID_LENGTH + 1)])
def test_given_bad_payment_id_when_movement_made_then_refused(payment_id: object) -> None:
    with pytest.raises(InvalidPaymentStep):
        PaymentMovement.of(40, "EUR", payment_id, COUNTERPARTY, "")


@pytest.mark.parametrize("counterparty", ["", "   ", None, 42, b"acc", "c" * (MAX_ID_LENGTH + 1)])
def test_given_bad_counterparty_when_movement_made_then_refused(counterparty: object) -> None:
    with pytest.raises(InvalidPaymentStep):
        PaymentMovement.of(40, "EUR", PAYMENT, counterparty, "")


@pytest.mark.parametrize("reference", ["r" * (MAX_REFERENCE_LENGTH + 1), None, 42])
def test_given_bad_reference_when_movement_made_then_refused(reference: object) -> None:
    with pytest.raises(InvalidPaymentStep):
        PaymentMovement.of(40, "EUR", PAYMENT, COUNTERPARTY, reference)


@pytest.mark.parametrize("amount", [0, -1, 1.5, True, "5", None, MAX_AMOUNT + 1])
def test_given_bad_amount_when_movement_made_then_refused(amount: object) -> None:
    with pytest.raises(InvalidAmount):
        movement(amount)


@pytest.mark.parametrize("currency", ["eur", "XXX", "", None, 978])
def test_given_bad_currency_when_movement_made_then_refused(currency: object) -> None:
    with pytest.raises(UnsupportedCurrency):
        movement(40, currency)


def test_given_longest_parts_when_movement_made_then_accepted() -> None:
    made = PaymentMovement.of(
        MAX_AMOUNT, "EUR", "p" * MAX_ID_LENGTH, "c" * MAX_ID_LENGTH, "r" * MAX_REFERENCE_LENGTH
    )

    assert made.event_args() == (
        MAX_AMOUNT,
        "p" * MAX_ID_LENGTH,
        "c" * MAX_ID_LENGTH,
        "r" * MAX_REFERENCE_LENGTH,
    )


@pytest.mark.parametrize(
    ("cls", "topic"),
    [
        (Account.Debited, "AccountDebited.v1"),
        (Account.Credited, "AccountCredited.v1"),
        (Account.DebitRefunded, "AccountDebitRefunded.v1"),
    ],
)
def test_given_payment_event_class_then_wire_name_is_stable(cls: type, topic: str) -> None:
    assert get_topic(cls) == topic


def test_given_debit_when_refund_of_another_amount_then_refused(
    debited: Account, history: list[object]
) -> None:
    with pytest.raises(InvalidPaymentStep, match="debited 40, not 90"):
        refund(debited, history, movement(amount=90))
    assert_refused(debited, lambda a: refund(a, history, movement(amount=90)), InvalidPaymentStep)


def test_given_later_events_when_debit_looked_up_then_read_back_only_to_it(
    debited: Account, history: list[object]
) -> None:
    debited.debit(movement(7, payment_id="later"))
    debited.deposit(5)
    newest_first = list(reversed(debited.collect_events()))
    older = iter_raising("read past the payment's debit")

    assert refundable_debit(chain(newest_first, reversed(history), older), PAYMENT) == 40
    assert refundable_debit(chain(newest_first, reversed(history)), "never") is None


def test_given_a_refund_newer_than_the_debit_when_looked_up_then_nothing_to_refund(
    debited: Account, history: list[object]
) -> None:
    refund(debited, history, movement(40))
    history.extend(debited.collect_events())

    assert isinstance(history[-1], Account.DebitRefunded)
    assert refundable_debit(reversed(history), PAYMENT) is None


def payer(payments: int) -> Account:
    """An account funded for `payments` payments of 1, each debited: a balance of 0."""
    account = Account.open("Alice", "EUR")
    account.deposit(payments)
    for n in range(payments):
        account.debit(movement(1, payment_id=f"payment-{n}"))
    account.collect_events()
    return account


def snapshot_state(account: Account) -> dict[str, object]:
    """The state a snapshot of `account` stores, its two timestamps set to one instant."""
    state = dict(Account.Snapshot.take(account).state)
    state["_created_on"] = state["_modified_on"] = datetime(2026, 1, 1, tzinfo=UTC)
    return state


def test_given_many_completed_payments_then_state_and_snapshot_as_after_a_few() -> None:
    few, many = payer(10), payer(10_000)

    assert vars(few).keys() == vars(many).keys()
    assert default_transcoder().encode(snapshot_state(many)) == default_transcoder().encode(
        snapshot_state(few)
    )


def test_given_a_snapshot_of_the_old_shape_when_loaded_then_its_payments_are_dropped() -> None:
    account = payer(3)
    old_state = {k: v for k, v in Account.Snapshot.take(account).state.items()}
    assert old_state.pop("class_version") == 2
    old_state["debited_payments"] = {f"payment-{n}": 1 for n in range(3)}
    old = Account.Snapshot(
        originator_id=account.id,
        originator_version=account.version,
        timestamp=Account.Snapshot.create_timestamp(),
        topic=get_topic(Account),
        state=old_state,
    )

    loaded = old.mutate(None)

    assert isinstance(loaded, Account)
    assert vars(loaded) == vars(account)
    assert "debited_payments" not in Account.Snapshot.take(loaded).state


def test_given_a_snapshot_from_before_holders_when_loaded_then_held_by_no_one() -> None:
    account = payer(1)
    old_state = {k: v for k, v in Account.Snapshot.take(account).state.items()}
    del old_state["class_version"], old_state["holder"]
    old = Account.Snapshot(
        originator_id=account.id,
        originator_version=account.version,
        timestamp=Account.Snapshot.create_timestamp(),
        topic=get_topic(Account),
        state=old_state,
    )

    loaded = old.mutate(None)

    assert isinstance(loaded, Account)
    assert loaded.holder == ""
    assert vars(loaded) == vars(account)
