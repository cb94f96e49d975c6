"""Payment requests refused once their accounts are looked up (unknown, another
currency), a key reused for another request, and good requests with their replays: each
against the real services. Refusals decided before the lookup run in process:
tests/api/test_payment_bad_input.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from api.commands import IDEMPOTENCY_HEADER, REPLAY_HEADER
from api.consistency import HEADER as TOKEN_HEADER
from domains.money import MAX_AMOUNT
from domains.text import MAX_REFERENCE_LENGTH
from eventstore import idempotency
from eventstore.contexts import PAYMENTS
from tests.e2e.conftest import TIMEOUT_SECONDS
from tests.support.accounts_client import assert_problem
from tests.support.payment_requests import (
    EUR,
    EUR_2,
    GOOD,
    UNKNOWN,
    USD,
    Accounts,
    Refused,
    good,
    pay,
    refused,
)
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

CASES = [
    # The accounts must exist and hold the payment's currency.
    refused(
        "unknown-source",
        good(source=UNKNOWN),
        "422 unknown-source-account",
        "source account",
    ),
    refused(
        "unknown-destination",
        good(destination=UNKNOWN),
        "422 unknown-destination-account",
        "destination account",
    ),
    refused(
        "unknown-source-and-destination",
        good(source=UNKNOWN, destination=UNKNOWN),
        "422 unknown-source-account",
        "does not exist",
    ),
    refused(
        "currency-mismatch-usd-source",
        good(source=USD),
        "422 currency-mismatch",
        "source account holds USD, the payment is in EUR",
    ),
    refused(
        "currency-mismatch-usd-destination",
        good(destination=USD),
        "422 currency-mismatch",
        "destination account holds USD, the payment is in EUR",
    ),
    refused(
        "currency-mismatch-usd-payment-between-eur-accounts",
        good(currency="USD"),
        "422 currency-mismatch",
        "source account holds EUR, the payment is in USD",
    ),
]


@pytest.fixture(scope="module")
def payments(services: dict[str, str], auth: dict[str, str]) -> Iterator[httpx.Client]:
    url = services["payments-api"]
    with httpx.Client(base_url=url, timeout=TIMEOUT_SECONDS, headers=auth) as client:
        yield client


@pytest.fixture(scope="module")
def accounts(services: dict[str, str], auth: dict[str, str]) -> Accounts:
    """Two EUR accounts and a USD one, read back so the payments API sees them."""
    ids, token = [], ""
    with (
        httpx.Client(
            base_url=services["accounts-api"], timeout=TIMEOUT_SECONDS, headers=auth
        ) as commands,
        httpx.Client(
            base_url=services["account-summary-query-api"], timeout=TIMEOUT_SECONDS, headers=auth
        ) as queries,
    ):
        for owner, held in (("Ada", "EUR"), ("Grace", "EUR"), ("Linus", "USD")):
            opened = commands.post("/accounts", json={"owner": owner, "currency": held})
            assert opened.status_code == 201, opened.text
            account_id, token = opened.json()["account_id"], opened.headers[TOKEN_HEADER]
            summary = queries.get(f"/accounts/{account_id}", headers={TOKEN_HEADER: token})
            assert summary.status_code == 200, summary.text
            assert summary.json()["currency"] == held
            ids.append(account_id)
    return Accounts(eur=ids[0], eur_2=ids[1], usd=ids[2], token=token)


def stored(stack: Stack) -> tuple[int, int]:
    """What payment requests have stored: payments (their first events) and idempotency
    keys. (The running saga goes on adding events to payments accepted earlier.)"""
    with stack.admin() as conn:
        row = conn.execute(
            f"SELECT (SELECT COUNT(*) FROM {PAYMENTS.schema}.{PAYMENTS.events_table}"
            "  WHERE originator_version = 1),"
            f" (SELECT COUNT(*) FROM {PAYMENTS.schema}.{idempotency.TABLE})"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def requested_at(stack: Stack, payment_id: UUID) -> int:
    """The position of the payment's first event."""
    with stack.admin() as conn:
        row = conn.execute(
            f"SELECT notification_id FROM {PAYMENTS.schema}.{PAYMENTS.events_table}"
            " WHERE originator_id = %s AND originator_version = 1",
            (payment_id,),
        ).fetchone()
    assert row is not None, payment_id
    return int(row[0])


def keyed(value: str) -> dict[bytes, bytes]:
    return {IDEMPOTENCY_HEADER.encode(): value.encode()}


@pytest.mark.parametrize("case", CASES)
def test_a_refused_payment_answers_a_problem_and_stores_nothing(
    stack: Stack, payments: httpx.Client, accounts: Accounts, case: Refused
) -> None:
    before = stored(stack)

    response = pay(payments, accounts, case.body, case.headers)

    problem = assert_problem(response, case.status, case.code)
    assert case.detail.lower() in problem["detail"].lower(), problem
    assert problem["instance"] == "/payments"
    assert stored(stack) == before


CHANGES = [
    pytest.param({"amount": 101}, id="other-amount"),
    pytest.param({"reference": "another reference"}, id="other-reference"),
    pytest.param({"source": EUR_2, "destination": EUR}, id="source-and-destination-swapped"),
    pytest.param({"source": USD, "destination": EUR}, id="other-source-now-refused"),
]


@pytest.mark.parametrize("change", CHANGES)
def test_an_idempotency_key_reused_for_another_request_is_refused(
    stack: Stack, payments: httpx.Client, accounts: Accounts, change: dict[str, Any]
) -> None:
    key = f"reused-{uuid4()}"
    first = pay(payments, accounts, good(reference="first"), keyed(key))
    assert first.status_code == 202, first.text
    before = stored(stack)

    response = pay(payments, accounts, {**good(reference="first"), **change}, keyed(key))

    problem = assert_problem(response, 422, "idempotency-key-reused")
    assert key in problem["detail"] and "different request" in problem["detail"], problem
    assert stored(stack) == before


def test_a_good_payment_is_accepted_and_a_retry_replays_it(
    stack: Stack, payments: httpx.Client, accounts: Accounts
) -> None:
    key = f"good-{uuid4()}"
    body = good(amount=MAX_AMOUNT, reference="r" * MAX_REFERENCE_LENGTH)
    events_before, keys_before = stored(stack)

    first = pay(payments, accounts, body, keyed(key))
    after_first = stored(stack)
    retry = pay(payments, accounts, body, keyed(key))

    assert first.status_code == 202, first.text
    answer = first.json()
    payment_id = UUID(answer["payment_id"])
    assert answer["status"] == "requested"
    assert answer["version"] == 1
    assert (answer["source"], answer["destination"]) == (accounts.eur, accounts.eur_2)
    assert (answer["amount"], answer["currency"]) == (MAX_AMOUNT, "EUR")
    assert answer["reference"] == "r" * MAX_REFERENCE_LENGTH
    assert re.fullmatch(r"payments:[1-9][0-9]*", answer["consistency_token"]), answer
    # The position of the event the request stored (the saga may have added more since).
    assert answer["consistency_token"] == f"payments:{requested_at(stack, payment_id)}"
    assert first.headers[TOKEN_HEADER] == answer["consistency_token"]
    # Where the payment is read: the payments query API, not this one.
    location = f"{stack.url_of('payments-query-api')}/payments/{payment_id}"
    assert first.headers["Location"] == location
    assert REPLAY_HEADER not in first.headers
    assert after_first == (events_before + 1, keys_before + 1)

    assert retry.status_code == 202, retry.text
    assert retry.headers[REPLAY_HEADER] == "true"
    assert retry.json() == answer
    assert retry.headers[TOKEN_HEADER] == answer["consistency_token"]
    assert stored(stack) == after_first


def test_a_payment_between_accounts_spelt_in_capitals_is_stored_canonically(
    payments: httpx.Client, accounts: Accounts
) -> None:
    body = {**GOOD, "source": accounts.eur.upper(), "destination": accounts.eur_2.upper()}

    response = pay(payments, accounts, body)

    assert response.status_code == 202, response.text
    assert (response.json()["source"], response.json()["destination"]) == (
        accounts.eur,
        accounts.eur_2,
    )


def test_a_well_formed_token_of_another_context_is_accepted(
    payments: httpx.Client, accounts: Accounts
) -> None:
    """Only an accounts token is passed on to the account lookup; a payments one is fine."""
    response = pay(payments, accounts, GOOD, {TOKEN_HEADER.encode(): b"payments:1"})

    assert response.status_code == 202, response.text
