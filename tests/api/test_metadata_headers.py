"""Headers that become event metadata are checked at the door (422 `invalid-header` naming
the header, nothing stored) and stored exactly as sent when they pass. Who asks is the
token's subject: an X-Actor header changes nothing."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.support.accounts_client import assert_problem
from tests.support.in_process import event_count, post_exactly, stored_events
from tests.support.issuer import DevIssuer

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
BAD_HEADERS: dict[str, tuple[str, bytes]] = {
    "correlation-space": ("X-Correlation-Id", b"two words"),
    "correlation-too-long": ("X-Correlation-Id", b"c" * 129),
    "correlation-empty": ("X-Correlation-Id", b""),
    "correlation-non-ascii": ("X-Correlation-Id", "café".encode()),
    "correlation-nul": ("X-Correlation-Id", b"c\x00"),
    "causation-whatever": ("X-Causation-Id", b"whatever"),
    "causation-unknown-context": ("X-Causation-Id", b"ledger:5"),
    "causation-leading-zero": ("X-Causation-Id", b"accounts:007"),
    "causation-negative": ("X-Causation-Id", b"accounts:-1"),
    "causation-trailing": ("X-Causation-Id", b"accounts:5x"),
    "causation-huge": ("X-Causation-Id", b"accounts:" + b"9" * 19),
    "traceparent-garbage": ("traceparent", b"whatever"),
    "traceparent-uppercase": ("traceparent", TRACEPARENT.upper().encode()),
    "traceparent-zero-trace": ("traceparent", f"00-{'0' * 32}-00f067aa0ba902b7-01".encode()),
    "traceparent-zero-parent": ("traceparent", f"00-{'a' * 32}-{'0' * 16}-01".encode()),
    "traceparent-version-ff": ("traceparent", ("ff" + TRACEPARENT[2:]).encode()),
    "traceparent-too-long": ("traceparent", (TRACEPARENT + "-extra").encode()),
}


def open_account(accounts: TestClient, headers: list[tuple[bytes, bytes]]) -> httpx.Response:
    return post_exactly(accounts, "/accounts", {"owner": "Ada", "currency": "EUR"}, headers)


Request = tuple[str, str, dict[str, Any], list[tuple[bytes, bytes]]]


def command_request(endpoint: str, account: str, saga: dict[str, str]) -> Request:
    """(api, path, body, headers) of a valid request to each command endpoint (a payment
    step with the saga's token, `saga`)."""
    if endpoint == "open":
        return "accounts", "/accounts", {"owner": "Ada", "currency": "EUR"}, []
    if endpoint in ("deposits", "withdrawals"):
        return "accounts", f"/accounts/{account}/{endpoint}", {"amount": 5}, []
    if endpoint in ("freeze", "unfreeze", "close"):
        return "accounts", f"/accounts/{account}/{endpoint}", {}, []
    if endpoint in ("debit", "credit", "refund"):
        payment = str(uuid4())
        body = {"amount": 5, "currency": "EUR", "payment_id": payment, "counterparty": "c"}
        key = [(b"Idempotency-Key", f"{payment}:{endpoint}".encode())]
        token = [(name.encode(), value.encode()) for name, value in saga.items()]
        return "accounts", f"/accounts/{account}/{endpoint}s", body, key + token
    body = {"source": str(uuid4()), "destination": str(uuid4()), "amount": 5, "currency": "EUR"}
    return "payments", "/payments", body, []


ENDPOINTS = ["open", "deposits", "withdrawals", "freeze", "unfreeze", "close"]
ENDPOINTS += ["debit", "credit", "refund", "payment"]


@pytest.fixture(scope="module")
def account(accounts: TestClient) -> str:
    return str(open_account(accounts, []).json()["account_id"])


@pytest.mark.parametrize(("name", "value"), BAD_HEADERS.values(), ids=BAD_HEADERS.keys())
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_bad_metadata_header_is_refused_naming_it_and_nothing_is_stored(
    accounts: TestClient,
    payments: TestClient,
    saga_headers: dict[str, str],
    account: str,
    endpoint: str,
    name: str,
    value: bytes,
) -> None:
    api, path, body, headers = command_request(endpoint, account, saga_headers)
    client = payments if api == "payments" else accounts
    before = event_count(client)

    response = post_exactly(client, path, body, [*headers, (name.encode(), value)])

    problem = assert_problem(response, 422, "invalid-header")
    assert problem["field"] == name and problem["detail"].startswith(name), problem
    assert event_count(client) == before


@pytest.mark.parametrize("name", ["X-Correlation-Id", "X-Causation-Id", "Idempotency-Key"])
def test_a_metadata_header_sent_twice_is_refused(accounts: TestClient, name: str) -> None:
    before = event_count(accounts)
    response = open_account(accounts, [(name.encode(), b"one"), (name.encode(), b"two")])
    assert response.status_code in (400, 422), response.text
    assert response.json()["field"] == name
    assert event_count(accounts) == before


def test_good_metadata_headers_are_stored_as_sent_and_a_forged_actor_changes_nothing(
    accounts: TestClient,
) -> None:
    headers = [
        (b"X-Actor", b"mallory"),
        (b"X-Correlation-Id", b"order-42.retry_1"),
        (b"X-Causation-Id", b"payments:12"),
        (b"traceparent", TRACEPARENT.encode()),
        (b"Idempotency-Key", str(uuid4()).encode()),
    ]
    assert open_account(accounts, headers).status_code == 201

    meta = stored_events(accounts)[-1]["__meta__"]
    assert meta["actor"] == "ada"  # the token's subject
    assert meta["correlation_id"] == "order-42.retry_1"
    assert meta["causation_id"] == "payments:12"
    assert meta["traceparent"] == TRACEPARENT


def test_a_utf8_subject_is_the_actor_stored_as_sent(
    accounts: TestClient, issuer: DevIssuer
) -> None:
    token = issuer.mint("José Ñúñez")
    response = open_account(accounts, [(b"Authorization", f"Bearer {token}".encode())])
    assert response.status_code == 201, response.text
    assert stored_events(accounts)[-1]["__meta__"]["actor"] == "José Ñúñez"


def test_without_metadata_headers_the_actor_is_the_subject_with_a_fresh_correlation_id(
    accounts: TestClient,
) -> None:
    assert open_account(accounts, []).status_code == 201
    meta = stored_events(accounts)[-1]["__meta__"]
    assert meta["actor"] == "ada" and meta["correlation_id"]
    assert meta["causation_id"] is None and meta["traceparent"] is None
