"""Errors of the payments context."""

from __future__ import annotations

from domains.errors import Conflict, DomainError, NotFound, Rejected


class PaymentError(DomainError):
    """A command the payments context refuses."""

    code = "payment-error"


class SameAccount(PaymentError, Rejected):
    code = "same-account"


class InvalidPaymentRequest(PaymentError, Rejected):
    code = "invalid-payment-request"


class InvalidTransition(PaymentError, Conflict):
    code = "invalid-payment-transition"


class PaymentNotFound(PaymentError, NotFound):
    code = "payment-not-found"
