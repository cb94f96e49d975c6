"""The accounts application service: one method per command (load, act, save, answer)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.utils import get_topic

from domains.accounts import access
from domains.accounts.access import Caller
from domains.accounts.aggregates import PAYMENT_DEBIT_EVENTS, Account, refundable_debit
from domains.accounts.errors import AccountNotFound
from domains.accounts.movements import PaymentMovement
from domains.command_result import CommandResult
from domains.service import CommandService

PAYMENT_DEBIT_TOPICS = frozenset(get_topic(cls) for cls in PAYMENT_DEBIT_EVENTS)


@dataclass(frozen=True)
class AccountResult(CommandResult):
    """What an accounts command answers: the account as it stands after the command."""

    ID_FIELD = "account_id"

    account_id: UUID
    owner: str
    currency: str
    balance: int
    status: str
    version: int


class AccountsService(CommandService[Account, AccountResult]):
    """Commands of the accounts context."""

    name = "accounts"
    aggregate_class = Account
    result_class = AccountResult
    not_found = AccountNotFound

    # Each command checks `caller` (access.py) on the loaded account before it acts; a
    # caller of None is the system itself (tests, benchmarks, tools), never an API request.

    def open_account(
        self, owner: object, currency: object, caller: Caller | None = None
    ) -> AccountResult:
        if caller is not None:
            access.check_may_open(caller)
        holder = caller.subject if caller is not None else ""
        return self.create(Account.open(owner, currency, holder))

    def deposit(
        self, account_id: UUID, amount: object, caller: Caller | None = None
    ) -> AccountResult:
        return self.guarded(account_id, caller, access.DEPOSIT, lambda a: a.deposit(amount))

    def withdraw(
        self, account_id: UUID, amount: object, caller: Caller | None = None
    ) -> AccountResult:
        return self.guarded(account_id, caller, access.WITHDRAW, lambda a: a.withdraw(amount))

    def freeze_account(self, account_id: UUID, caller: Caller | None = None) -> AccountResult:
        return self.guarded(account_id, caller, access.FREEZE, Account.freeze)

    def unfreeze_account(self, account_id: UUID, caller: Caller | None = None) -> AccountResult:
        return self.guarded(account_id, caller, access.UNFREEZE, Account.unfreeze)

    def close_account(self, account_id: UUID, caller: Caller | None = None) -> AccountResult:
        return self.guarded(account_id, caller, access.CLOSE, Account.close)

    def guarded(
        self,
        account_id: UUID,
        caller: Caller | None,
        name: str,
        action: Callable[[Account], None],
    ) -> AccountResult:
        """Run `action` on the account once `caller` may run command `name` on it."""

        def checked(account: Account) -> None:
            if caller is not None:
                access.check_may(caller, name, account.id, account.holder)
            action(account)

        return self.command(account_id, checked)

    def erase_personal_data(
        self, account_id: UUID, key_id: str, reason: object, erased_by: str
    ) -> AccountResult:
        """Record the erasure of the holder's data (an operator's, never an API's)."""
        return self.command(account_id, lambda a: a.erase_personal_data(key_id, reason, erased_by))

    def debit(self, account_id: UUID, movement: PaymentMovement) -> AccountResult:
        return self.command(account_id, lambda account: account.debit(movement))

    def credit(self, account_id: UUID, movement: PaymentMovement) -> AccountResult:
        return self.command(account_id, lambda account: account.credit(movement))

    def refund_debit(self, account_id: UUID, movement: PaymentMovement) -> AccountResult:
        """Refund the payment's debit, found in the account's events newest first: a
        refund follows its debit closely, so few are read (every one, to refuse a refund
        with no debit)."""

        def refund(account: Account) -> None:
            history = self.history(account.id, account.version, PAYMENT_DEBIT_TOPICS)
            account.refund_debit(movement, refundable_debit(history, movement.payment_id))

        return self.command(account_id, refund)

    def get_account(self, account_id: UUID, version: int | None = None) -> Account:
        """The account now, or as it was at `version`."""
        return self.load(account_id, version)
