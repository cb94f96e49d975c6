"""The Account aggregate: each command's events, and each invariant's refusal."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from eventsourcing.utils import get_topic

from domains.accounts.aggregates import CLOSED, FROZEN, MAX_AMOUNT, MAX_BALANCE, OPEN, Account
from domains.accounts.errors import (
    AccountClosed,
    AccountFrozen,
    AccountNotFrozen,
    BalanceLimitExceeded,
    BalanceNotZero,
    InsufficientFunds,
    InvalidAmount,
    InvalidOwner,
    UnsupportedCurrency,
)
from domains.errors import DomainError

BAD_AMOUNTS = [0, -1, 1.5, 10.0, True, "5", MAX_AMOUNT + 1]


@pytest.fixture
def account() -> Account:
    """An open EUR account with a balance of 100 and no pending events."""
    account = Account.open("Alice", "EUR")
    account.deposit(100)
    account.collect_events()
    return account


@pytest.fixture
def frozen(account: Account) -> Account:
    """A frozen account with a balance of 100."""
    account.freeze()
    account.collect_events()
    return account


@pytest.fixture
def closed() -> Account:
    """A closed account."""
    account = Account.open("Alice", "EUR")
    account.close()
    account.collect_events()
    return account


Command = Callable[[Account], None]


def assert_refused(account: Account, command: Command, error: type[DomainError]) -> None:
    """Runs `command` on `account`, expects `error`, and checks that nothing changed."""
    version, balance, status = account.version, account.balance, account.status
    with pytest.raises(error):
        command(account)
    assert account.collect_events() == []
    assert (account.version, account.balance, account.status) == (version, balance, status)


def test_given_valid_owner_and_currency_when_opened_then_one_opened_event() -> None:
    account = Account.open("Alice", "EUR")

    events = account.collect_events()
    assert [type(e) for e in events] == [Account.Opened]
    assert events[0].originator_version == 1
    assert (account.owner, account.currency) == ("Alice", "EUR")
    assert (account.balance, account.status) == (0, OPEN)


@pytest.mark.parametrize("owner", ["", "   ", None, 42, "x" * 201])
def test_given_bad_owner_when_opened_then_refused(owner: object) -> None:
    with pytest.raises(InvalidOwner):
        Account.open(owner, "EUR")


@pytest.mark.parametrize("currency", ["eur", "XXX", "", None, 978, b"EUR"])
def test_given_bad_currency_when_opened_then_refused(currency: object) -> None:
    with pytest.raises(UnsupportedCurrency):
        Account.open("Alice", currency)


def test_given_open_account_when_money_moves_then_events_and_versions(account: Account) -> None:
    account.deposit(MAX_AMOUNT)
    account.withdraw(MAX_AMOUNT)
    account.withdraw(100)

    events = account.collect_events()
    assert [type(e) for e in events] == [Account.Deposited, Account.Withdrawn, Account.Withdrawn]
    assert [e.originator_version for e in events] == [3, 4, 5]
    assert account.balance == 0


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_given_bad_amount_when_deposited_then_refused(account: Account, amount: object) -> None:
    assert_refused(account, lambda a: a.deposit(amount), InvalidAmount)


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_given_bad_amount_when_withdrawn_then_refused(account: Account, amount: object) -> None:
    assert_refused(account, lambda a: a.withdraw(amount), InvalidAmount)


def test_given_balance_when_withdrawing_more_then_insufficient_funds(account: Account) -> None:
    assert_refused(account, lambda a: a.withdraw(101), InsufficientFunds)


def test_given_balance_at_limit_when_deposited_then_refused() -> None:
    account = Account.open("Alice", "EUR")
    for _ in range(MAX_BALANCE // MAX_AMOUNT):
        account.deposit(MAX_AMOUNT)
    account.collect_events()

    assert account.balance == MAX_BALANCE
    assert_refused(account, lambda a: a.deposit(1), BalanceLimitExceeded)


def test_given_open_account_when_frozen_then_frozen_event(account: Account) -> None:
    account.freeze()

    events = account.collect_events()
    assert [(type(e), e.originator_version) for e in events] == [(Account.Frozen, 3)]
    assert account.status == FROZEN


@pytest.mark.parametrize(
    ("command", "error"),
    [
        (lambda a: a.deposit(1), AccountFrozen),
        (lambda a: a.withdraw(1), AccountFrozen),
        (Account.freeze, AccountFrozen),
    ],
)
def test_given_frozen_account_when_commanded_then_refused(
    frozen: Account, command: Command, error: type[DomainError]
) -> None:
    assert_refused(frozen, command, error)


def test_given_open_account_when_unfrozen_then_refused(account: Account) -> None:
    assert_refused(account, Account.unfreeze, AccountNotFrozen)


def test_given_frozen_account_when_unfrozen_then_money_moves_again(frozen: Account) -> None:
    frozen.unfreeze()
    frozen.withdraw(40)
    frozen.deposit(5)

    events = frozen.collect_events()
    assert [type(e) for e in events] == [Account.Unfrozen, Account.Withdrawn, Account.Deposited]
    assert [e.originator_version for e in events] == [4, 5, 6]
    assert (frozen.status, frozen.balance) == (OPEN, 65)


def test_given_emptied_account_when_closed_then_closed_event(account: Account) -> None:
    account.withdraw(100)
    account.close()

    events = account.collect_events()
    assert [(type(e), e.originator_version) for e in events] == [
        (Account.Withdrawn, 3),
        (Account.Closed, 4),
    ]
    assert account.status == CLOSED


def test_given_balance_when_closed_then_refused(account: Account) -> None:
    assert_refused(account, Account.close, BalanceNotZero)


@pytest.mark.parametrize(
    "command",
    [
        lambda a: a.deposit(1),
        lambda a: a.withdraw(1),
        Account.freeze,
        Account.unfreeze,
        Account.close,
    ],
)
def test_given_closed_account_when_commanded_then_refused(
    closed: Account, command: Command
) -> None:
    assert_refused(closed, command, AccountClosed)


@pytest.mark.parametrize(
    ("cls", "topic"),
    [
        (Account.Opened, "AccountOpened.v1"),
        (Account.Deposited, "MoneyDeposited.v1"),
        (Account.Withdrawn, "MoneyWithdrawn.v1"),
        (Account.Frozen, "AccountFrozen.v1"),
        (Account.Unfrozen, "AccountUnfrozen.v1"),
        (Account.Closed, "AccountClosed.v1"),
    ],
)
def test_given_event_class_then_wire_name_is_stable(cls: type, topic: str) -> None:
    assert get_topic(cls) == topic
