"""The Account aggregate: money in minor units of one ISO 4217 currency."""

from __future__ import annotations

from eventsourcing.domain import Aggregate, event

from domains.accounts.currencies import ISO_4217_CODES
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

# One movement may not exceed a trillion major units of a two-decimal currency;
# a balance must stay inside a signed 64-bit column of every read model.
MAX_AMOUNT = 10**14
MAX_BALANCE = 10**18
MAX_OWNER_LENGTH = 200

OPEN = "open"
FROZEN = "frozen"
CLOSED = "closed"


def check_amount(amount: object) -> int:
    """An amount is a positive whole number of minor units, never a float or a bool."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidAmount("amount must be a whole number of minor units")
    if amount <= 0:
        raise InvalidAmount("amount must be greater than zero")
    if amount > MAX_AMOUNT:
        raise InvalidAmount(f"amount must not exceed {MAX_AMOUNT} minor units")
    return amount


def check_currency(currency: object) -> str:
    """A currency is an ISO 4217 code in circulation, in capitals."""
    if not isinstance(currency, str) or currency not in ISO_4217_CODES:
        raise UnsupportedCurrency(f"currency {currency!r} is not an ISO 4217 code")
    return currency


def check_owner(owner: object) -> str:
    """An owner is a non-blank name of reasonable length."""
    if not isinstance(owner, str) or not owner.strip():
        raise InvalidOwner("owner must be a non-empty string")
    if len(owner) > MAX_OWNER_LENGTH:
        raise InvalidOwner(f"owner must be at most {MAX_OWNER_LENGTH} characters")
    return owner


class Account(Aggregate):
    """An account: opened in one currency, moves money while open, closes when empty."""

    TOPIC = "accounts.Account"

    class Created(Aggregate.Created):
        """Required by explicit topics; accounts are always created by Opened."""

        TOPIC = "AccountCreated.v0"

    class Opened(Aggregate.Created):
        TOPIC = "AccountOpened.v1"
        owner: str
        currency: str

    class Deposited(Aggregate.Event):
        TOPIC = "MoneyDeposited.v1"
        amount: int

    class Withdrawn(Aggregate.Event):
        TOPIC = "MoneyWithdrawn.v1"
        amount: int

    class Frozen(Aggregate.Event):
        TOPIC = "AccountFrozen.v1"

    class Unfrozen(Aggregate.Event):
        TOPIC = "AccountUnfrozen.v1"

    class Closed(Aggregate.Event):
        TOPIC = "AccountClosed.v1"

    @event(Opened)
    def __init__(self, owner: str, currency: str) -> None:
        self.owner = owner
        self.currency = currency
        self.balance = 0
        self.status = OPEN

    @classmethod
    def open(cls, owner: object, currency: object) -> Account:
        """Opens an account after checking the owner and the currency."""
        return cls(owner=check_owner(owner), currency=check_currency(currency))

    def deposit(self, amount: object) -> None:
        """Adds money; refused on frozen or closed accounts."""
        self.check_can_move_money()
        checked = check_amount(amount)
        if self.balance + checked > MAX_BALANCE:
            raise BalanceLimitExceeded(f"balance would exceed {MAX_BALANCE} minor units")
        self._deposited(checked)

    def withdraw(self, amount: object) -> None:
        """Takes money out; the balance never goes below zero."""
        self.check_can_move_money()
        checked = check_amount(amount)
        if checked > self.balance:
            raise InsufficientFunds(f"balance {self.balance} is less than the amount {checked}")
        self._withdrawn(checked)

    def freeze(self) -> None:
        """Stops money movements until unfrozen."""
        self.check_not_closed()
        if self.status == FROZEN:
            raise AccountFrozen("account is already frozen")
        self._frozen()

    def unfreeze(self) -> None:
        """Allows money movements again."""
        self.check_not_closed()
        if self.status != FROZEN:
            raise AccountNotFrozen("account is not frozen")
        self._unfrozen()

    def close(self) -> None:
        """Closes the account for good; needs a zero balance."""
        self.check_not_closed()
        if self.balance != 0:
            raise BalanceNotZero(f"balance is {self.balance}; it must be zero to close")
        self._closed()

    def check_not_closed(self) -> None:
        if self.status == CLOSED:
            raise AccountClosed("account is closed")

    def check_can_move_money(self) -> None:
        self.check_not_closed()
        if self.status == FROZEN:
            raise AccountFrozen("account is frozen")

    @event(Deposited)
    def _deposited(self, amount: int) -> None:
        self.balance += amount

    @event(Withdrawn)
    def _withdrawn(self, amount: int) -> None:
        self.balance -= amount

    @event(Frozen)
    def _frozen(self) -> None:
        self.status = FROZEN

    @event(Unfrozen)
    def _unfrozen(self) -> None:
        self.status = OPEN

    @event(Closed)
    def _closed(self) -> None:
        self.status = CLOSED
