"""Authorization on every object, over HTTP on the running system: someone else's account
answers exactly as a missing one (404, nothing stored); a role's limit answers 403."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from api.consistency import HEADER as TOKEN_HEADER
from eventstore.contexts import ACCOUNTS, PAYMENTS
from tests.e2e.conftest import TIMEOUT_SECONDS
from tests.support.accounts_client import assert_problem, open_account
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e
MISSING = "does not exist"


def client(stack: Stack, service: str, subject: str, *roles: str) -> httpx.Client:
    return httpx.Client(
        base_url=stack.url(service), timeout=TIMEOUT_SECONDS, headers=stack.auth(subject, *roles)
    )


@pytest.fixture(scope="module")
def alices(stack: Stack) -> tuple[str, str]:
    """An account Alice holds, funded, and the consistency token after the deposit."""
    with client(stack, "accounts-api", "alice") as alice:
        account = open_account(alice, "Alice", "EUR")
        deposit = alice.post(f"/accounts/{account}/deposits", json={"amount": 1_000})
        assert deposit.status_code == 200, deposit.text
    return account, deposit.headers[TOKEN_HEADER]


@pytest.fixture(scope="module")
def bobs(stack: Stack) -> str:
    """An account Bob holds."""
    with client(stack, "accounts-api", "bob") as bob:
        return open_account(bob, "Bob", "EUR")


def stored(stack: Stack) -> tuple[int, int]:
    return stack.event_count(ACCOUNTS), stack.event_count(PAYMENTS)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("deposits", {"amount": 5}),
        ("withdrawals", {"amount": 5}),
        ("freeze", {}),
        ("unfreeze", {}),
        ("close", {}),
    ],
)
def test_bob_acting_on_alices_account_finds_no_such_account(
    stack: Stack, alices: tuple[str, str], path: str, body: dict[str, Any]
) -> None:
    account, _ = alices
    before = stored(stack)
    with client(stack, "accounts-api", "bob") as bob:
        answer = bob.post(f"/accounts/{account}/{path}", json=body)

    problem = assert_problem(answer, 404, "account-not-found")
    assert MISSING in problem["detail"]
    assert stored(stack) == before


def test_bob_reading_alices_account_finds_no_such_account_and_staff_read_it(
    stack: Stack, alices: tuple[str, str]
) -> None:
    account, token = alices
    headers = {TOKEN_HEADER: token}
    with client(stack, "account-summary-query-api", "bob") as bob:
        assert_problem(bob.get(f"/accounts/{account}", headers=headers), 404, "account-not-found")
    for subject, roles in (("alice", ()), ("audrey", ("auditor",)), ("tom", ("teller",))):
        with client(stack, "account-summary-query-api", subject, *roles) as reader:
            answer = reader.get(f"/accounts/{account}", headers=headers)
        assert answer.status_code == 200, (subject, answer.text)
        assert answer.json()["holder"] == "alice"


def test_bob_paying_from_alices_account_finds_no_such_source_and_stores_nothing(
    stack: Stack, alices: tuple[str, str], bobs: str
) -> None:
    account, token = alices
    before = stored(stack)
    body = {"source": account, "destination": bobs, "amount": 100, "currency": "EUR"}
    with client(stack, "payments-api", "bob") as bob:
        answer = bob.post("/payments", json=body, headers={TOKEN_HEADER: token})

    problem = assert_problem(answer, 422, "unknown-source-account")
    assert MISSING in problem["detail"]
    assert stored(stack) == before


def test_roles_meet_their_limits(stack: Stack, alices: tuple[str, str]) -> None:
    account, _ = alices
    before = stored(stack)
    with client(stack, "accounts-api", "alice") as alice:
        assert alice.post(f"/accounts/{account}/freeze").status_code == 200
        assert_problem(alice.post(f"/accounts/{account}/unfreeze"), 403, "forbidden")
    with client(stack, "accounts-api", "audrey", "auditor") as auditor:
        assert_problem(
            auditor.post(f"/accounts/{account}/deposits", json={"amount": 5}), 403, "forbidden"
        )
    with client(stack, "payments-api", "tom", "teller") as teller:
        body = {"source": account, "destination": account, "amount": 1, "currency": "EUR"}
        assert_problem(teller.post("/payments", json=body), 403, "forbidden")
    with client(stack, "analytics-query-api", "alice") as customer:
        span = {"from": "2026-01-01", "to": "2026-01-02"}
        assert_problem(customer.get("/analytics/daily", params=span), 403, "forbidden")
    assert stored(stack)[1] == before[1]
    with client(stack, "accounts-api", "olga", "operator") as operator:
        unfrozen = operator.post(f"/accounts/{account}/unfreeze")
    assert unfrozen.status_code == 200, unfrozen.text
    with client(stack, "accounts-api", "tom", "teller") as teller_cash:
        cash = teller_cash.post(f"/accounts/{account}/deposits", json={"amount": 5})
    assert cash.status_code == 200 and cash.json()["balance"] == 1_005, cash.text


@pytest.mark.parametrize(
    ("service", "path"),
    [
        ("account-statement-query-api", "/accounts/{id}/statement"),
        ("notifications-query-api", "/accounts/{id}/notifications"),
    ],
)
def test_bob_reading_alices_statement_or_notifications_finds_no_such_account(
    stack: Stack, alices: tuple[str, str], service: str, path: str
) -> None:
    account, token = alices
    url, headers = path.format(id=account), {TOKEN_HEADER: token}
    with client(stack, service, "bob") as bob:
        problem = assert_problem(bob.get(url, headers=headers), 404, "account-not-found")
    assert MISSING in problem["detail"]
    for subject, roles in (("alice", ()), ("audrey", ("auditor",))):
        with client(stack, service, subject, *roles) as reader:
            answer = reader.get(url, headers=headers)
        assert answer.status_code == 200, (subject, answer.text)
        assert answer.json()["account_id"] == account


def test_a_payment_is_read_by_its_payer_and_the_staff_only(
    stack: Stack, alices: tuple[str, str], bobs: str
) -> None:
    account, token = alices
    body = {"source": account, "destination": bobs, "amount": 10, "currency": "EUR"}
    with client(stack, "payments-api", "alice") as alice:
        paid = alice.post("/payments", json=body, headers={TOKEN_HEADER: token})
    assert paid.status_code == 202, paid.text
    payment_id, read_at = paid.json()["payment_id"], {TOKEN_HEADER: paid.headers[TOKEN_HEADER]}
    mine = {"account": account}

    with client(stack, "payments-query-api", "bob") as bob:
        assert_problem(
            bob.get(f"/payments/{payment_id}", headers=read_at), 404, "payment-not-found"
        )
        assert bob.get("/payments", params=mine, headers=read_at).json()["payments"] == []
    for subject, roles in (("alice", ()), ("audrey", ("auditor",))):
        with client(stack, "payments-query-api", subject, *roles) as reader:
            one = reader.get(f"/payments/{payment_id}", headers=read_at)
            listed = reader.get("/payments", params=mine, headers=read_at)
        assert one.status_code == 200 and one.json()["payer"] == "alice", (subject, one.text)
        assert payment_id in [p["payment_id"] for p in listed.json()["payments"]], subject
