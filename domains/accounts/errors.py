"""Errors of the accounts context; each carries a stable code for the API boundary."""

from __future__ import annotations

from domains.errors import DomainError
from domains.money import InvalidAmount, UnsupportedCurrency

__all__ = ["InvalidAmount", "UnsupportedCurrency"]


class AccountError(DomainError):
    """A command the accounts context refuses."""

    code = "account-error"


class InvalidOwner(AccountError):
    code = "invalid-owner"


class CurrencyMismatch(AccountError):
    code = "currency-mismatch"


class InsufficientFunds(AccountError):
    code = "insufficient-funds"


class BalanceLimitExceeded(AccountError):
    code = "balance-limit-exceeded"


class AccountFrozen(AccountError):
    code = "account-frozen"


class AccountNotFrozen(AccountError):
    code = "account-not-frozen"


class AccountClosed(AccountError):
    code = "account-closed"


class BalanceNotZero(AccountError):
    code = "balance-not-zero"


class AccountNotFound(AccountError):
    code = "account-not-found"


class InvalidPaymentStep(AccountError):
    code = "invalid-payment-step"
