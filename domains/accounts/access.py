"""Who may do what to an account: its holder, and the staff roles.

- customer: opens accounts (held by them); deposits to, withdraws from, freezes and
  closes the accounts they hold;
- teller: deposits and withdrawals on any account;
- operator: freezes and unfreezes any account;
- auditor: sees every account, changes none;
- a service identity (the payments API looking accounts up): sees every account.

Someone who may not see an account at all (a customer, on another's) is refused exactly
as if it did not exist (AccountNotFound: no existence leak); someone who may see it but
not do this (a holder unfreezing, an auditor depositing) gets NotAllowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from identity.roles import AUDITOR, CUSTOMER, OPERATOR, SERVICE, TELLER

from domains.accounts.errors import AccountNotFound, NotAllowed

OPEN, DEPOSIT, WITHDRAW = "open", "deposit", "withdraw"
FREEZE, UNFREEZE, CLOSE = "freeze", "unfreeze", "close"
STAFF = frozenset({TELLER, OPERATOR, AUDITOR})
READERS_OF_EVERY_ACCOUNT = STAFF | {SERVICE}

# For each command: which roles may run it on any account, and whether the holder may.
BY_ROLE: dict[str, frozenset[str]] = {
    DEPOSIT: frozenset({TELLER}),
    WITHDRAW: frozenset({TELLER}),
    FREEZE: frozenset({OPERATOR}),
    UNFREEZE: frozenset({OPERATOR}),
    CLOSE: frozenset(),
}
BY_HOLDER = frozenset({DEPOSIT, WITHDRAW, FREEZE, CLOSE})


@dataclass(frozen=True)
class Caller:
    """Who asks: the verified subject and its roles."""

    subject: str
    roles: frozenset[str]

    def holds(self, holder: str) -> bool:
        return bool(holder) and holder == self.subject and CUSTOMER in self.roles

    def sees_every_account(self) -> bool:
        return bool(self.roles & STAFF)


def check_may_read(caller: Caller, account_id: UUID, holder: str) -> None:
    """Refuse, as if it did not exist, an account `caller` may not see."""
    if not caller.holds(holder) and not caller.roles & READERS_OF_EVERY_ACCOUNT:
        raise AccountNotFound(f"account {account_id} does not exist")


def check_may_open(caller: Caller) -> None:
    if CUSTOMER not in caller.roles:
        raise NotAllowed("only a customer opens an account (it is held by them)")


def check_may(caller: Caller, command: str, account_id: UUID, holder: str) -> None:
    """Refuse `command` on the account unless `caller` may run it."""
    holds = caller.holds(holder)
    if not holds and not caller.sees_every_account():
        raise AccountNotFound(f"account {account_id} does not exist")  # as if it did not
    if (holds and command in BY_HOLDER) or caller.roles & BY_ROLE[command]:
        return
    raise NotAllowed(f"{command} is not for your role on this account")
