"""Refusals of schema-valid requests that an OpenAPI document cannot foresee, each with why.

schemathesis' `positive_data_acceptance` expects a request its generator calls valid to
be accepted. Some of our refusals depend on things no document can state; those, and
only those, are forgiven here, judged by the problem `type` the server answered with.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from schemathesis import Case, Response
from schemathesis.core.failures import Failure, ServerError
from schemathesis.openapi.checks import RejectedPositiveData

from api.consistency import HEADER as TOKEN_HEADER
from api.openapi_headers import METADATA_HEADERS
from domains.text import text_flaw

UNFORESEEABLE = {
    # rules across requests: a key already used for another (generated) request
    "idempotency-key-reused": "an Idempotency-Key is new, or used for the same request",
    # rules across fields or parameters
    "step-key-required": "a step's Idempotency-Key is `<payment_id>:<step>` of its body",
    "filter-required": "GET /payments needs an account, a status, or both",
    "invalid-date-range": "from <= to, at most 366 days",
    "same-account": "a payment's source and destination differ",
    # values only the server hands out
    "invalid-cursor": "a cursor is the next_cursor of an earlier page",
    # the state of another service
    "unknown-source-account": "a payment's accounts exist on the accounts service",
    "unknown-destination-account": "a payment's accounts exist on the accounts service",
    "currency-mismatch": "a payment's accounts hold its currency",
}
# The declared 5xx: a dependency is late or down, answered with Retry-After.
UNAVAILABLE = {"consistency-timeout", "store-unavailable", "accounts-unavailable"}
TOKEN = re.compile(r"[a-z][a-z0-9_]{0,62}:[0-9]{1,18}")


def is_contract_failure(failure: Failure, case: Case[Any], response: Response) -> bool:
    """False for a failure that is the document's limit or a declared outage, not a bug."""
    code = problem_code(response)
    if isinstance(failure, ServerError):
        return not (code in UNAVAILABLE and "retry-after" in response.headers)
    if not isinstance(failure, RejectedPositiveData):
        return True
    if code in UNFORESEEABLE:
        return False
    if code == "validation-error" and has_whole_float(case.body):
        # JSON Schema 2020-12 counts 10.0 as an integer; amounts must be integer literals.
        return False
    if breaks_text_rule(case, problem(response)):
        return False
    # schemathesis' coverage phase writes only letters and digits into headers, so its
    # "valid" consistency token or metadata header may not match the declared pattern.
    headers: dict[str, Any] = dict(case.headers or {})
    token = headers.get(TOKEN_HEADER)
    if code == "invalid-consistency-token" and not TOKEN.fullmatch(str(token)):
        return False
    return not (code == "invalid-header" and not matches_declared(headers, problem(response)))


def breaks_text_rule(case: Case[Any], answer: dict[str, Any]) -> bool:
    """The refused body field holds text the domain's rule refuses (control, unassigned or
    surrogate characters...): a rule over Unicode categories, which a JSON Schema pattern
    (no `\\p{...}` in the regexes schemathesis generates from) cannot state."""
    body = case.body if isinstance(case.body, dict) else {}
    value = body.get(str(answer.get("field")))
    return isinstance(value, str) and text_flaw(value) is not None


def matches_declared(headers: dict[str, Any], answer: dict[str, Any]) -> bool:
    """Whether the refused metadata header's value matches the pattern the document
    declares for it (a refusal of a value the document allows is a contract failure)."""
    name = str(answer.get("field"))
    declared = METADATA_HEADERS.get(name)
    if declared is None:
        return True
    pattern = str(declared[1]["pattern"])
    return bool(re.fullmatch(pattern.removeprefix("^").removesuffix("$"), str(headers.get(name))))


def problem(response: Response) -> dict[str, Any]:
    """A problem+json answer's members ({} when the answer is not one)."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def problem_code(response: Response) -> str | None:
    """The `<code>` of a problem+json answer's `/problems/<code>` type."""
    kind = problem(response).get("type")
    return kind.removeprefix("/problems/") if isinstance(kind, str) else None


def has_whole_float(value: Any) -> bool:
    if isinstance(value, float):
        return value.is_integer()
    if isinstance(value, dict):
        return any(has_whole_float(item) for item in value.values())
    if isinstance(value, list):
        return any(has_whole_float(item) for item in value)
    return False
