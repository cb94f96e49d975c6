"""Every problem type the APIs answer with, by status; routes declare theirs from these.

A route's OpenAPI `responses` are generated from the problem types it can raise
(`api/openapi_errors.py`), so a new kind of error is one constant here and one entry in
the group or route that raises it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProblemType:
    """A stable `/problems/<code>` answered with `status`; `retry_after` when it says when."""

    code: str
    status: int
    retry_after: bool = False


# Any request
INTERNAL_ERROR = ProblemType("internal-error", 500)
VALIDATION_ERROR = ProblemType("validation-error", 422)
# The door (api/request_limits.py, api/metadata_headers.py): body size, media type, headers.
INVALID_HEADER = ProblemType("invalid-header", 422)
MALFORMED_JSON = ProblemType("malformed-json", 400)
BODY_TOO_LARGE = ProblemType("body-too-large", 413)
UNSUPPORTED_MEDIA_TYPE = ProblemType("unsupported-media-type", 415)

# Commands
INVALID_IDEMPOTENCY_KEY = ProblemType("invalid-idempotency-key", 400)
IDEMPOTENCY_KEY_REUSED = ProblemType("idempotency-key-reused", 422)
CONCURRENT_MODIFICATION = ProblemType("concurrent-modification", 409, retry_after=True)
STORE_UNAVAILABLE = ProblemType("store-unavailable", 503, retry_after=True)
STEP_KEY_REQUIRED = ProblemType("step-key-required", 400)

# Money and accounts (domain errors: see api/commands.py:domain_errors)
INVALID_AMOUNT = ProblemType("invalid-amount", 422)
UNSUPPORTED_CURRENCY = ProblemType("unsupported-currency", 422)
INVALID_OWNER = ProblemType("invalid-owner", 422)
INVALID_ERASURE = ProblemType("invalid-erasure", 422)  # an operator's (gdpr erase), never an API's
INVALID_PAYMENT_STEP = ProblemType("invalid-payment-step", 422)
ACCOUNT_NOT_FOUND = ProblemType("account-not-found", 404)
INSUFFICIENT_FUNDS = ProblemType("insufficient-funds", 409)
BALANCE_LIMIT_EXCEEDED = ProblemType("balance-limit-exceeded", 409)
ACCOUNT_FROZEN = ProblemType("account-frozen", 409)
ACCOUNT_NOT_FROZEN = ProblemType("account-not-frozen", 409)
ACCOUNT_CLOSED = ProblemType("account-closed", 409)
BALANCE_NOT_ZERO = ProblemType("balance-not-zero", 409)
CURRENCY_MISMATCH = ProblemType("currency-mismatch", 409)

# Payments
INVALID_PAYMENT_REQUEST = ProblemType("invalid-payment-request", 422)
SAME_ACCOUNT = ProblemType("same-account", 422)
UNKNOWN_SOURCE_ACCOUNT = ProblemType("unknown-source-account", 422)
UNKNOWN_DESTINATION_ACCOUNT = ProblemType("unknown-destination-account", 422)
# The payments API checks the accounts' currency before the payment exists: the request
# is refused (422), where an account refuses a step in another currency for its state (409).
PAYMENT_CURRENCY_MISMATCH = ProblemType("currency-mismatch", 422)
ACCOUNTS_UNAVAILABLE = ProblemType("accounts-unavailable", 503, retry_after=True)
PAYMENT_NOT_FOUND = ProblemType("payment-not-found", 404)
# The saga's own steps on a payment (no route raises it today).
INVALID_PAYMENT_TRANSITION = ProblemType("invalid-payment-transition", 409)

# Queries
INVALID_CONSISTENCY_TOKEN = ProblemType("invalid-consistency-token", 400)
UNKNOWN_CONSISTENCY_CONTEXT = ProblemType("unknown-consistency-context", 400)
CONSISTENCY_TIMEOUT = ProblemType("consistency-timeout", 503, retry_after=True)
INVALID_CURSOR = ProblemType("invalid-cursor", 400)
FILTER_REQUIRED = ProblemType("filter-required", 422)
INVALID_DATE_RANGE = ProblemType("invalid-date-range", 422)

# Authentication (api/authentication.py): a bearer token from the trusted issuer.
AUTHENTICATION_REQUIRED = ProblemType("authentication-required", 401)
INVALID_TOKEN = ProblemType("invalid-token", 401)
ISSUER_UNAVAILABLE = ProblemType("issuer-unavailable", 503, retry_after=True)
FORBIDDEN = ProblemType("forbidden", 403)

# Health
NOT_READY = ProblemType("not-ready", 503, retry_after=True)

# What every route with parameters (path, query or headers) can answer.
REQUEST_PROBLEMS = (INTERNAL_ERROR, VALIDATION_ERROR, INVALID_HEADER)
# What every route that reads a body can answer besides.
BODY_PROBLEMS = (MALFORMED_JSON, BODY_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE)
# Every route that needs a caller's token.
AUTHENTICATION_PROBLEMS = (AUTHENTICATION_REQUIRED, INVALID_TOKEN, ISSUER_UNAVAILABLE)
# Every command: the caller's token, idempotency and the event store.
COMMAND_PROBLEMS = (
    *REQUEST_PROBLEMS,
    *AUTHENTICATION_PROBLEMS,
    *BODY_PROBLEMS,
    INVALID_IDEMPOTENCY_KEY,
    IDEMPOTENCY_KEY_REUSED,
    CONCURRENT_MODIFICATION,
    STORE_UNAVAILABLE,
)
# Every query: the caller's token and the consistency-token wait.
QUERY_PROBLEMS = (
    *REQUEST_PROBLEMS,
    *AUTHENTICATION_PROBLEMS,
    STORE_UNAVAILABLE,
    INVALID_CONSISTENCY_TOKEN,
    UNKNOWN_CONSISTENCY_CONTEXT,
    CONSISTENCY_TIMEOUT,
)
