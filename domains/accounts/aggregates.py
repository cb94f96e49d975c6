"""The Account aggregate: money in minor units of one ISO 4217 currency."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from eventsourcing.domain import Aggregate, event

from domains.accounts.errors import (
    AccountClosed,
    AccountFrozen,
    AccountNotFrozen,
    BalanceLimitExceeded,
    BalanceNotZero,
    CurrencyMismatch,
    InsufficientFunds,
    InvalidOwner,
    InvalidPaymentStep,
)
from domains.accounts.movements import PaymentMovement
from domains.erasure import ERASED_TEXT, check_erasure_reason
from domains.money import MAX_AMOUNT, MAX_BALANCE, check_amount, check_currency
from domains.text import check_text

__all__ = ["MAX_AMOUNT", "MAX_BALANCE", "Account", "refundable_debit"]

MAX_OWNER_LENGTH = 200

AccountStatus = Literal["open", "frozen", "closed"]
OPEN: AccountStatus = "open"
FROZEN: AccountStatus = "frozen"
CLOSED: AccountStatus = "closed"


def check_owner(owner: object) -> str:
    """An owner is a non-blank, printable name of reasonable length."""
    return check_text("owner", owner, MAX_OWNER_LENGTH, InvalidOwner)


class Account(Aggregate):
    """An account: opened in one currency, moves money while open, closes when empty.

    Its state does not grow with its history: it keeps no record per payment. What a
    refund needs (the payment's debit, not refunded since) is read from the account's
    own events when a refund comes (`refundable_debit`), and a payment's debit is taken
    once by its step key (docs/architecture.md, "State that does not grow with history").
    """

    TOPIC = "accounts.Account"
    # 2: no `debited_payments` (snapshots of version 1 held every payment ever debited,
    # and the oldest of them no `holder`).
    class_version = 2

    class Created(Aggregate.Created):
        """Required by explicit topics; accounts are always created by Opened."""

        TOPIC = "AccountCreated.v0"

    class Opened(Aggregate.Created):
        TOPIC = "AccountOpened.v1"
        owner: str
        currency: str
        # The subject who opened it (the verified token's); "" in events stored before
        # accounts had holders: such an account is held by no one (staff roles only).
        holder: str = ""

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

    class Debited(Aggregate.Event):
        """Money left for a payment."""

        TOPIC = "AccountDebited.v1"
        amount: int
        payment_id: str
        counterparty: str
        reference: str

    class Credited(Aggregate.Event):
        """Money arrived from a payment."""

        TOPIC = "AccountCredited.v1"
        amount: int
        payment_id: str
        counterparty: str
        reference: str

    class DebitRefunded(Aggregate.Event):
        """A payment's debit came back because the payment failed."""

        TOPIC = "AccountDebitRefunded.v1"
        amount: int
        payment_id: str
        counterparty: str
        reference: str

    class PersonalDataErased(Aggregate.Event):
        """The holder's data key was destroyed (domains/erasure.py): the owner, and the
        references of the payments they made, read as `[erased]` from now on."""

        TOPIC = "AccountPersonalDataErased.v1"
        key_id: str
        reason: str
        erased_by: str

    @event(Opened)
    def __init__(self, owner: str, currency: str, holder: str = "") -> None:
        self.owner = owner
        self.currency = currency
        self.holder = holder
        self.balance = 0
        self.status = OPEN

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """A snapshot taken before version 2 drops its record of every payment debited;
        one taken before accounts had holders gets the holder its events fold to ("")."""
        state.pop("debited_payments", None)
        state.setdefault("holder", "")

    @classmethod
    def open(cls, owner: object, currency: object, holder: str = "") -> Account:
        """Opens an account for `holder` (who may act on it) after checking the owner
        (its display name) and the currency."""
        return cls(owner=check_owner(owner), currency=check_currency(currency), holder=holder)

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

    def debit(self, movement: PaymentMovement) -> None:
        """Money leaves for a payment: same rules as a withdrawal, in this currency. Once
        per payment: its step key (`<payment_id>:debit`) is stored with the event."""
        self.check_can_move_money()
        self.check_same_currency(movement.currency)
        if movement.amount > self.balance:
            raise InsufficientFunds(
                f"balance {self.balance} is less than the amount {movement.amount}"
            )
        self._debited(*movement.event_args())

    def credit(self, movement: PaymentMovement) -> None:
        """Money arrives from a payment: refused on frozen, closed or other-currency accounts."""
        self.check_can_move_money()
        self.check_same_currency(movement.currency)
        if self.balance + movement.amount > MAX_BALANCE:
            raise BalanceLimitExceeded(f"balance would exceed {MAX_BALANCE} minor units")
        self._credited(*movement.event_args())

    def refund_debit(self, movement: PaymentMovement, debited: int | None) -> None:
        """A failed payment's debit comes back, exactly once and for the amount debited:
        `debited` is what this account's events say the payment debited and no refund
        returned since (`refundable_debit`). Accepted even when frozen or closed: the
        money left this account and must not disappear."""
        self.check_same_currency(movement.currency)
        if debited is None:
            raise InvalidPaymentStep(
                f"payment {movement.payment_id} has no debit to refund on this account"
            )
        if debited != movement.amount:
            raise InvalidPaymentStep(
                f"payment {movement.payment_id} debited {debited}, not {movement.amount}"
            )
        self._debit_refunded(*movement.event_args())

    def erase_personal_data(self, key_id: str, reason: object, erased_by: str) -> None:
        """Record that the holder's data key `key_id` is destroyed, by whom and why; in
        any status (a closed account's history holds personal data too)."""
        self._personal_data_erased(key_id, check_erasure_reason(reason), erased_by)

    def check_same_currency(self, currency: str) -> None:
        if currency != self.currency:
            raise CurrencyMismatch(f"account holds {self.currency}, not {currency}")

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

    @event(Debited)
    def _debited(self, amount: int, payment_id: str, counterparty: str, reference: str) -> None:
        self.balance -= amount

    @event(Credited)
    def _credited(self, amount: int, payment_id: str, counterparty: str, reference: str) -> None:
        self.balance += amount

    @event(DebitRefunded)
    def _debit_refunded(
        self, amount: int, payment_id: str, counterparty: str, reference: str
    ) -> None:
        self.balance += amount

    @event(PersonalDataErased)
    def _personal_data_erased(self, key_id: str, reason: str, erased_by: str) -> None:
        self.owner = ERASED_TEXT


# The events a refund looks for in an account's history.
PAYMENT_DEBIT_EVENTS = (Account.Debited, Account.DebitRefunded)


def refundable_debit(newest_first: Iterable[object], payment_id: str) -> int | None:
    """What `payment_id` debited and no refund has returned since, from an account's
    events newest first (read no further than needed); None when there is nothing."""
    for domain_event in newest_first:
        if isinstance(domain_event, PAYMENT_DEBIT_EVENTS) and domain_event.payment_id == payment_id:
            return domain_event.amount if isinstance(domain_event, Account.Debited) else None
    return None
