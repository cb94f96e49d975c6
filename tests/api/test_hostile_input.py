"""Hostile input at the door of the command APIs: every text that would enter an event,
in the body or in a header, is refused with a 4xx problem naming it, and nothing is
stored; what is accepted is stored exactly as sent."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tests.support.accounts_client import assert_problem
from tests.support.in_process import event_count, stored_events

LONG = 1000

HOSTILE_TEXT = {
    "nul": "Bob\x00",
    "escape": "Bob\x1b[2J",
    "newline": "Bob\nAlice",
    "delete": "Bob\x7f",
    "lone-surrogate": "\ud800x",
    "bidi-override": "Bob\u202etxt.exe",
    "zero-width-space": "B\u200bob",
    "private-use": "Bob\ue000",
}


def post(
    client: TestClient, path: str, body: Any, headers: dict[str, str] | None = None
) -> Response:
    """POST `body` as JSON with non-ASCII escaped (so a lone surrogate can be sent)."""
    content = json.dumps(body).encode()
    response: Response = client.post(
        path, content=content, headers={"Content-Type": "application/json", **(headers or {})}
    )
    return response


@pytest.fixture(scope="module")
def account(accounts: TestClient) -> str:
    response = post(accounts, "/accounts", {"owner": "Ada", "currency": "EUR"})
    assert response.status_code == 201, response.text
    account_id = str(response.json()["account_id"])
    assert post(accounts, f"/accounts/{account_id}/deposits", {"amount": 1000}).is_success
    return account_id


@dataclass(frozen=True)
class TextField:
    """A body field that ends up in an event, on the endpoint that takes it."""

    api: str
    field: str
    code: str
    max_length: int

    def request(
        self, account: str, value: str, saga: dict[str, str]
    ) -> tuple[str, dict[str, Any], dict[str, str]]:
        """The request, with the saga's token (`saga`) when it is a payment step."""
        if self.api == "payments":
            body = {"source": str(uuid4()), "destination": str(uuid4()), "amount": 5}
            return "/payments", {**body, "currency": "EUR", self.field: value}, {}
        if self.field == "owner":
            return "/accounts", {"owner": value, "currency": "EUR"}, {}
        payment_id = str(uuid4())
        step = {"amount": 5, "currency": "EUR", "payment_id": payment_id}
        body = {**step, "counterparty": str(uuid4()), "reference": "", self.field: value}
        key = {"Idempotency-Key": f"{payment_id}:credit"}
        return f"/accounts/{account}/credits", body, key | saga


TEXT_FIELDS = [
    TextField("accounts", "owner", "invalid-owner", 200),
    TextField("accounts", "counterparty", "invalid-payment-step", 100),
    TextField("accounts", "reference", "invalid-payment-step", 140),
    TextField("payments", "reference", "invalid-payment-request", 140),
]
FIELD_IDS = [f"{f.api}-{f.field}" for f in TEXT_FIELDS]


def client_of(target: TextField, accounts: TestClient, payments: TestClient) -> TestClient:
    return payments if target.api == "payments" else accounts


@pytest.mark.parametrize("target", TEXT_FIELDS, ids=FIELD_IDS)
@pytest.mark.parametrize("value", HOSTILE_TEXT.values(), ids=HOSTILE_TEXT.keys())
def test_hostile_text_in_a_stored_field_is_refused_naming_the_field(
    accounts: TestClient,
    payments: TestClient,
    saga_headers: dict[str, str],
    account: str,
    target: TextField,
    value: str,
) -> None:
    client = client_of(target, accounts, payments)
    path, body, headers = target.request(account, value, saga_headers)
    before = event_count(client)

    problem = assert_problem(post(client, path, body, headers), 422, target.code)

    assert problem["field"] == target.field
    assert problem["detail"].startswith(f"{target.field} must not contain U+"), problem
    assert event_count(client) == before


@pytest.mark.parametrize("target", TEXT_FIELDS, ids=FIELD_IDS)
def test_an_over_long_stored_field_is_refused_naming_the_field(
    accounts: TestClient,
    payments: TestClient,
    saga_headers: dict[str, str],
    account: str,
    target: TextField,
) -> None:
    client = client_of(target, accounts, payments)
    path, body, headers = target.request(account, "é" * (target.max_length + 1), saga_headers)
    before = event_count(client)

    problem = assert_problem(post(client, path, body, headers), 422, target.code)

    assert problem["field"] == target.field
    assert f"at most {target.max_length} characters" in problem["detail"]
    assert event_count(client) == before


def test_a_hostile_payment_id_is_refused_before_anything_is_stored(
    accounts: TestClient, saga_headers: dict[str, str], account: str
) -> None:
    before = event_count(accounts)
    body = {"amount": 5, "currency": "EUR", "payment_id": "p\x00", "counterparty": str(uuid4())}
    headers = {"Idempotency-Key": "p:debit", **saga_headers}
    response = post(accounts, f"/accounts/{account}/debits", body, headers)
    assert_problem(response, 400, "step-key-required")
    assert event_count(accounts) == before


def send_raw(client: TestClient, raw: bytes) -> Response:
    response: Response = client.post(
        "/accounts", content=raw, headers={"Content-Type": "application/json"}
    )
    return response


def test_a_body_that_is_not_utf8_is_malformed_json(accounts: TestClient) -> None:
    before = event_count(accounts)
    response = send_raw(accounts, b'{"owner": "Bob\xff", "currency": "EUR"}')
    assert_problem(response, 400, "malformed-json")
    assert event_count(accounts) == before


def test_a_surrogate_encoded_as_utf8_bytes_is_refused_as_the_field(accounts: TestClient) -> None:
    before = event_count(accounts)
    response = send_raw(accounts, b'{"owner": "\xed\xa0\x80x", "currency": "EUR"}')
    assert assert_problem(response, 422, "invalid-owner")["field"] == "owner"
    assert event_count(accounts) == before


@pytest.mark.parametrize(
    "owner", ["José Ñúñez", "李小龍", "محمد‌رضا", "👩‍💻 Zoë"], ids=["latin", "cjk", "zwnj", "zwj"]
)
def test_printable_text_is_stored_exactly_as_sent(accounts: TestClient, owner: str) -> None:
    response = post(accounts, "/accounts", {"owner": owner, "currency": "EUR"})
    assert response.status_code == 201, response.text
    assert response.json()["owner"] == owner
    assert stored_events(accounts)[-1]["owner"] == owner
