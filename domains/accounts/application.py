"""The accounts application service: one method per command (load, act, save, answer)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, Recording

from domains.accounts.aggregates import Account
from domains.accounts.errors import AccountNotFound

# Optimistic concurrency: a command that lost a race on the aggregate version is
# re-run on the fresh state this many times before the conflict is reported.
MAX_CONFLICT_RETRIES = 5


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


class AccountsService(Application[UUID]):
    """Commands of the accounts context."""

    name = "accounts"

    def open_account(self, owner: object, currency: object) -> AccountSnapshot:
        account = Account.open(owner, currency)
        recordings = self.save(account)
        return AccountSnapshot.of(account, _last_position(recordings))

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

    def get_account(self, account_id: UUID, version: int | None = None) -> Account:
        """The account now, or as it was at `version`."""
        try:
            account: Account = self.repository.get(account_id, version=version)
        except AggregateNotFoundError:
            raise AccountNotFound(f"account {account_id} does not exist") from None
        return account

    def _change(self, account_id: UUID, action: Callable[[Account], None]) -> AccountSnapshot:
        for attempt in range(MAX_CONFLICT_RETRIES + 1):
            account = self.get_account(account_id)
            action(account)
            try:
                recordings = self.save(account)
            except IntegrityError:
                if attempt == MAX_CONFLICT_RETRIES:
                    raise
                continue
            return AccountSnapshot.of(account, _last_position(recordings))
        raise AssertionError("unreachable")


def _last_position(recordings: list[Recording[UUID]]) -> int | None:
    """The log position of the last recorded event: the command's consistency point."""
    return max((r.notification.id for r in recordings), default=None)
