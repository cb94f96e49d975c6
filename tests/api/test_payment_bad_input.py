"""Every payment request refused before its accounts are looked up answers a 4xx
problem+json that says why, and stores nothing: the refusal table, in process (the real
payments API under TestClient, on the in-memory store). A case that reached the lookup
would fail (503: no accounts service runs here). Refusals that need the accounts (unknown
ones, another currency) run against the real services in
tests/e2e/test_payments_bad_input.py."""

from __future__ import annotations

from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from domains.text import MAX_REFERENCE_LENGTH
from tests.support.accounts_client import assert_problem
from tests.support.amount_refusals import AMOUNT_REFUSALS
from tests.support.in_process import event_count
from tests.support.payment_requests import (
    EUR,
    EUR_UPPER,
    GOOD,
    INVALID,
    INVALID_REQUEST,
    UNKNOWN,
    Accounts,
    Refused,
    amount,
    consistency_token,
    currency,
    good,
    key,
    pay,
    refused,
    without,
)
from tests.support.request_bodies import NO_BODY

CASES = [
    # The accounts must differ and be account ids.
    refused("same-account", good(destination=EUR), "422 same-account", "different accounts"),
    refused(
        "same-account-spelt-in-capitals",
        good(destination=EUR_UPPER),
        "422 same-account",
        "different accounts",
    ),
    refused(
        "source-not-a-uuid", good(source="acc-1"), INVALID_REQUEST, "source must be an account id"
    ),
    refused("source-empty", good(source=""), INVALID_REQUEST, "source must be an account id"),
    refused(
        "destination-not-a-uuid",
        good(destination="1234"),
        INVALID_REQUEST,
        "destination must be an account id",
    ),
    refused("source-number", good(source=42), INVALID, "source"),
    refused("destination-null", good(destination=None), INVALID, "destination"),
    # The amount: a positive whole number of minor units, within bounds.
    *[amount(*refusal) for refusal in AMOUNT_REFUSALS],
    # The currency: an ISO 4217 code in capitals.
    currency("lowercase", "eur", "422 unsupported-currency", "eur"),
    currency("XXX", "XXX", "422 unsupported-currency", "XXX"),
    currency("EURO", "EURO", "422 unsupported-currency", "EURO"),
    currency("empty", "", "422 unsupported-currency", "ISO 4217"),
    currency("number", 978, INVALID, "currency"),
    currency("null", None, INVALID, "currency"),
    # The shape of the body.
    *[
        refused(f"missing-{name}", without(name), INVALID, f"{name}: field required")
        for name in ("source", "destination", "amount", "currency")
    ],
    refused("empty-object", {}, INVALID, "source: field required"),
    refused("unknown-field", good(memo="rent"), INVALID, "memo: unknown field"),
    refused("unknown-field-status", good(status="completed"), INVALID, "status: unknown field"),
    refused("unknown-field-payment-id", good(payment_id=UNKNOWN), INVALID, "payment_id: unknown"),
    refused("bad-json", b'{"source": "', "400 malformed-json", "not valid JSON"),
    refused("not-json", b"source=a&destination=b", "400 malformed-json", "not valid JSON"),
    refused("no-body", NO_BODY, INVALID, "body: field required"),
    refused("not-an-object", [GOOD], INVALID, "body: input should be a valid dictionary"),
    # The reference: optional text of at most 140 characters.
    refused(
        "reference-too-long",
        good(reference="x" * (MAX_REFERENCE_LENGTH + 1)),
        INVALID_REQUEST,
        f"at most {MAX_REFERENCE_LENGTH} characters",
    ),
    refused("reference-number", good(reference=7), INVALID, "reference"),
    refused("reference-null", good(reference=None), INVALID, "reference"),
    # The headers.
    key("with-spaces", b"my key"),
    key("too-long", b"k" * 201),
    key("empty", b""),
    key("tab", b"a\tb"),
    key("non-ascii", "clé".encode()),
    consistency_token("garbage", b"garbage"),
    consistency_token("accounts-not-a-number", b"accounts:abc"),
    consistency_token("accounts-negative", b"accounts:-1"),
]
# Never looked up: any well-formed ids do.
ACCOUNTS = Accounts(eur=str(uuid4()), eur_2=str(uuid4()), usd=str(uuid4()), token="accounts:1")


@pytest.mark.parametrize("case", CASES)
def test_a_refused_payment_answers_a_problem_and_stores_nothing(
    payments: TestClient, case: Refused
) -> None:
    before = event_count(payments)  # an idempotency key is stored only with events

    response = pay(payments, ACCOUNTS, case.body, case.headers)

    problem = assert_problem(response, case.status, case.code)
    assert case.detail.lower() in problem["detail"].lower(), problem
    assert problem["instance"] == "/payments"
    assert event_count(payments) == before
