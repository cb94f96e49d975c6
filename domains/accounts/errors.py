"""Errors of the accounts context; each carries a stable code for the API boundary."""

from __future__ import annotations

from domains.errors import Conflict, DomainError, Forbidden, NotFound, Rejected
from domains.money import InvalidAmount, UnsupportedCurrency

__all__ = ["InvalidAmount", "UnsupportedCurrency"]


class AccountError(DomainError):
    """A command the accounts context refuses."""

    code = "account-error"


class InvalidOwner(AccountError, Rejected):
    code = "invalid-owner"


class CurrencyMismatch(AccountError, Conflict):
    code = "currency-mismatch"


class InsufficientFunds(AccountError, Conflict):
    code = "insufficient-funds"


class BalanceLimitExceeded(AccountError, Conflict):
    code = "balance-limit-exceeded"


class AccountFrozen(AccountError, Conflict):
    code = "account-frozen"


class AccountNotFrozen(AccountError, Conflict):
    code = "account-not-frozen"


class AccountClosed(AccountError, Conflict):
    code = "account-closed"


class BalanceNotZero(AccountError, Conflict):
    code = "balance-not-zero"


class AccountNotFound(AccountError, NotFound):
    code = "account-not-found"


class InvalidPaymentStep(AccountError, Rejected):
    code = "invalid-payment-step"


class NotAllowed(AccountError, Forbidden):
    code = "forbidden"
