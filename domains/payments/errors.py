"""Errors of the payments context."""

from __future__ import annotations

from domains.errors import DomainError


class PaymentError(DomainError):
    """A command the payments context refuses."""

    code = "payment-error"


class SameAccount(PaymentError):
    code = "same-account"


class InvalidPaymentRequest(PaymentError):
    code = "invalid-payment-request"


class InvalidTransition(PaymentError):
    code = "invalid-payment-transition"


class PaymentNotFound(PaymentError):
    code = "payment-not-found"
