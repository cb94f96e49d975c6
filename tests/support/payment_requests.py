"""Payment requests as the refusal tables write them: a good request and its variants,
with placeholders for the accounts, resolved when a case is sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import httpx
import pytest

from api.commands import IDEMPOTENCY_HEADER
from api.consistency import HEADER as TOKEN_HEADER
from tests.support.request_bodies import post_body

# Placeholders in the cases' bodies, replaced by real account ids when a case runs.
EUR = "<eur-account>"
EUR_2 = "<second-eur-account>"
EUR_UPPER = "<eur-account-in-capitals>"
USD = "<usd-account>"
UNKNOWN = "<random-uuid>"

GOOD: dict[str, Any] = {"source": EUR, "destination": EUR_2, "amount": 100, "currency": "EUR"}
INVALID = "422 validation-error"
INVALID_REQUEST = "422 invalid-payment-request"


@dataclass(frozen=True)
class Accounts:
    """The accounts payments are requested between, and a token that has seen them all."""

    eur: str
    eur_2: str
    usd: str
    token: str

    def resolve(self, value: Any) -> Any:
        placeholders = {
            EUR: self.eur,
            EUR_2: self.eur_2,
            EUR_UPPER: self.eur.upper(),
            USD: self.usd,
        }
        if isinstance(value, dict):
            return {key: self.resolve(item) for key, item in value.items()}
        if value == UNKNOWN:
            return str(uuid4())
        if isinstance(value, str):
            return placeholders.get(value, value)
        return value


@dataclass(frozen=True)
class Refused:
    """A payment request, and the problem it must be answered with."""

    body: Any
    status: int
    code: str
    detail: str  # words the detail must contain, so it says what is wrong
    headers: dict[bytes, bytes] = field(default_factory=dict)


def refused(
    case_id: str, body: Any, expect: str, detail: str, headers: dict[bytes, bytes] | None = None
) -> Any:
    """One case; `expect` is "<status> <problem code>"."""
    status, code = expect.split()
    return pytest.param(Refused(body, int(status), code, detail, headers or {}), id=case_id)


def good(**changes: Any) -> dict[str, Any]:
    """The good request, with some fields changed."""
    return {**GOOD, **changes}


def without(name: str) -> dict[str, Any]:
    """The good request without one field."""
    return {key: value for key, value in GOOD.items() if key != name}


def amount(case_id: str, value: Any, expect: str, detail: str) -> Any:
    return refused(f"amount-{case_id}", good(amount=value), expect, detail)


def currency(case_id: str, value: Any, expect: str, detail: str) -> Any:
    return refused(f"currency-{case_id}", good(currency=value), expect, detail)


def key(case_id: str, value: bytes) -> Any:
    headers = {IDEMPOTENCY_HEADER.encode(): value}
    return refused(
        f"idempotency-key-{case_id}",
        GOOD,
        "400 invalid-idempotency-key",
        IDEMPOTENCY_HEADER,
        headers,
    )


def consistency_token(case_id: str, value: bytes) -> Any:
    headers = {TOKEN_HEADER.encode(): value}
    return refused(
        f"consistency-token-{case_id}", GOOD, "400 invalid-consistency-token", TOKEN_HEADER, headers
    )


def pay(
    client: httpx.Client, accounts: Accounts, body: Any, headers: dict[bytes, bytes] | None = None
) -> httpx.Response:
    """POST /payments with the accounts' consistency token (unless `headers` replace it)."""
    sent = {TOKEN_HEADER.encode(): accounts.token.encode(), **(headers or {})}
    return post_body(client, "/payments", accounts.resolve(body), sent)
