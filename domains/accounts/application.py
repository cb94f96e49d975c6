"""The accounts application service: one method per command (load, act, save, answer)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from domains.accounts.aggregates import Account
from domains.accounts.errors import AccountNotFound
from domains.accounts.movements import PaymentMovement
from domains.command_result import CommandResult
from domains.service import CommandService


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

    def open_account(self, owner: object, currency: object) -> AccountResult:
        return self.create(Account.open(owner, currency))

    def deposit(self, account_id: UUID, amount: object) -> AccountResult:
        return self.command(account_id, lambda account: account.deposit(amount))

    def withdraw(self, account_id: UUID, amount: object) -> AccountResult:
        return self.command(account_id, lambda account: account.withdraw(amount))

    def freeze_account(self, account_id: UUID) -> AccountResult:
        return self.command(account_id, Account.freeze)

    def unfreeze_account(self, account_id: UUID) -> AccountResult:
        return self.command(account_id, Account.unfreeze)

    def close_account(self, account_id: UUID) -> AccountResult:
        return self.command(account_id, Account.close)

    def debit(self, account_id: UUID, movement: PaymentMovement) -> AccountResult:
        return self.command(account_id, lambda account: account.debit(movement))

    def credit(self, account_id: UUID, movement: PaymentMovement) -> AccountResult:
        return self.command(account_id, lambda account: account.credit(movement))

    def refund_debit(self, account_id: UUID, movement: PaymentMovement) -> AccountResult:
        return self.command(account_id, lambda account: account.refund_debit(movement))

    def get_account(self, account_id: UUID, version: int | None = None) -> Account:
        """The account now, or as it was at `version`."""
        return self.load(account_id, version)
