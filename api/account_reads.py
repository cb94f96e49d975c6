"""Who may read an account's data on the query side: its holder, the staff, services
(domains/accounts/access.py). To anyone else the account does not exist: the same 404
as an unknown one."""

from __future__ import annotations

from uuid import UUID

from api.problems import Problem
from domains.accounts.access import Caller, check_may_read
from domains.accounts.errors import AccountNotFound
from identity.verifier import Principal


def account_not_found(account_id: UUID) -> Problem:
    return Problem(404, "account-not-found", f"account {account_id} does not exist")


def account_caller(principal: Principal) -> Caller:
    """The verified caller, as the accounts' access rules see it."""
    return Caller(principal.subject, principal.roles)


def check_readable(caller: Principal, account_id: UUID, holder: str | None) -> None:
    """Refuse (404) an unknown account (`holder` None) or one `caller` may not read."""
    if holder is None:
        raise account_not_found(account_id)
    try:
        check_may_read(account_caller(caller), account_id, holder)
    except AccountNotFound:
        raise account_not_found(account_id) from None
