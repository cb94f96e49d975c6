"""The accounts application service: one method per command (load, act, save, answer)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domains.accounts.aggregates import Account
from domains.accounts.errors import AccountNotFound
from domains.accounts.movements import PaymentMovement
from domains.service import CommandService


@dataclass(frozen=True)
class AccountSnapshot:
    """What a command answers: the account as it stands after the command."""

    account_id: UUID
    owner: str
    currency: str
    balance: int
    status: str
    version: int
    position: int | None

    @classmethod
    def of(cls, account: Account, position: int | None) -> AccountSnapshot:
        return cls(
            account_id=account.id,
            owner=account.owner,
            currency=account.currency,
            balance=account.balance,
            status=account.status,
            version=account.version,
            position=position,
        )


class AccountsService(CommandService):
    """Commands of the accounts context."""

    name = "accounts"
    aggregate_class = Account

    def open_account(self, owner: object, currency: object) -> AccountSnapshot:
        account = Account.open(owner, currency)
        return AccountSnapshot.of(account, self.record(account))

    def deposit(self, account_id: UUID, amount: object) -> AccountSnapshot:
        return self._change(account_id, lambda account: account.deposit(amount))

    def withdraw(self, account_id: UUID, amount: object) -> AccountSnapshot:
        return self._change(account_id, lambda account: account.withdraw(amount))

    def freeze_account(self, account_id: UUID) -> AccountSnapshot:
        return self._change(account_id, Account.freeze)

    def unfreeze_account(self, account_id: UUID) -> AccountSnapshot:
        return self._change(account_id, Account.unfreeze)

    def close_account(self, account_id: UUID) -> AccountSnapshot:
        return self._change(account_id, Account.close)

    def debit(self, account_id: UUID, movement: PaymentMovement) -> AccountSnapshot:
        return self._change(account_id, lambda account: account.debit(movement))

    def credit(self, account_id: UUID, movement: PaymentMovement) -> AccountSnapshot:
        return self._change(account_id, lambda account: account.credit(movement))

    def refund_debit(self, account_id: UUID, movement: PaymentMovement) -> AccountSnapshot:
        return self._change(account_id, lambda account: account.refund_debit(movement))

    def get_account(self, account_id: UUID, version: int | None = None) -> Account:
        """The account now, or as it was at `version`."""
        try:
            account: Account = self.repository.get(account_id, version=version)
        except AggregateNotFoundError:
            raise AccountNotFound(f"account {account_id} does not exist") from None
        return account

    def _change(self, account_id: UUID, action: Callable[[Account], None]) -> AccountSnapshot:
        account, position = self.change(account_id, self.get_account, action)
        return AccountSnapshot.of(account, position)
