"""Every refused accounts command answers a 4xx problem+json that says why, and stores
nothing: the refusal table, in process (the real app under TestClient, on the in-memory
store). Refusals that only a real server can show (bodies over the socket, headers
as sent) stay in tests/e2e/test_bad_input.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from api.commands import IDEMPOTENCY_HEADER
from tests.support.accounts_client import assert_problem, command, open_account
from tests.support.amount_refusals import AMOUNT_REFUSALS
from tests.support.in_process import event_count
from tests.support.issuer import DevIssuer
from tests.support.request_bodies import NO_BODY, post_body

BALANCE = 100  # of the "open" and "frozen" accounts


@dataclass(frozen=True)
class Refused:
    """A request on an account in `state`, and the problem it must be answered with."""

    path: str
    body: Any
    status: int
    code: str
    detail: str  # words the detail must contain, so it says what is wrong
    state: str = "open"
    headers: dict[bytes, bytes] = field(default_factory=dict)
    caller: str = "holder"  # who sends it: the holder (Ada), or a name of CALLERS


def refused(
    case_id: str,
    state: str,
    path: str,
    body: Any,
    expect: str,
    detail: str,
    key: bytes | None = None,
    caller: str = "holder",
) -> Any:
    """One case; `expect` is "<status> <problem code>", `key` an Idempotency-Key to send."""
    status, code = expect.split()
    headers = {} if key is None else {IDEMPOTENCY_HEADER.encode(): key}
    case = Refused(path, body, int(status), code, detail, state, headers, caller)
    return pytest.param(case, id=case_id)


# The other callers, by name: (subject, role).
CALLERS = {
    "bob": ("bob", "customer"),
    "teller": ("tom", "teller"),
    "operator": ("olga", "operator"),
    "auditor": ("audrey", "auditor"),
}


OPEN = "/accounts"
DEPOSIT = "/accounts/{id}/deposits"
WITHDRAW = "/accounts/{id}/withdrawals"
FREEZE = "/accounts/{id}/freeze"
UNFREEZE = "/accounts/{id}/unfreeze"
CLOSE = "/accounts/{id}/close"
ADA = {"owner": "Ada", "currency": "EUR"}
FIVE = {"amount": 5}
INVALID = "422 validation-error"


def opening(case_id: str, body: Any, expect: str, detail: str) -> Any:
    return refused(f"open-{case_id}", "open", OPEN, body, expect, detail)


def moving(name: str, path: str) -> list[Any]:
    """What every money movement refuses before it looks at the balance."""

    def amount(case_id: str, value: Any, expect: str, detail: str) -> Any:
        body = {"amount": value}
        return refused(f"{name}-amount-{case_id}", "open", path, body, expect, detail)

    def other(case_id: str, body: Any, expect: str, detail: str) -> Any:
        return refused(f"{name}-{case_id}", "open", path, body, expect, detail)

    return [
        *[amount(*refusal) for refusal in AMOUNT_REFUSALS],
        other("missing-amount", {}, INVALID, "amount"),
        other("unknown-field", {"amount": 5, "memo": "x"}, INVALID, "memo: unknown field"),
        other("bad-json", b'{"amount": 5', "400 malformed-json", "not valid JSON"),
        other("no-body", NO_BODY, INVALID, "body: field required"),
        other("not-an-object", [5], INVALID, "body: input should be a valid dictionary"),
    ]


CASES = [
    opening("bad-json", b'{"owner": "Ada",', "400 malformed-json", "not valid JSON"),
    opening("not-json", b"owner=Ada", "400 malformed-json", "not valid JSON"),
    opening("unknown-field", {**ADA, "balance": 5}, INVALID, "balance: unknown field"),
    opening("missing-owner", {"currency": "EUR"}, INVALID, "owner"),
    opening("missing-currency", {"owner": "Ada"}, INVALID, "currency"),
    opening("empty-object", {}, INVALID, "owner"),
    opening("no-body", NO_BODY, INVALID, "body: field required"),
    opening("currency-lowercase", {**ADA, "currency": "eur"}, "422 unsupported-currency", "eur"),
    opening("currency-XXX", {**ADA, "currency": "XXX"}, "422 unsupported-currency", "XXX"),
    opening("currency-EURO", {**ADA, "currency": "EURO"}, "422 unsupported-currency", "EURO"),
    opening("currency-number", {**ADA, "currency": 123}, INVALID, "currency"),
    opening("currency-null", {**ADA, "currency": None}, INVALID, "currency"),
    opening("owner-empty", {**ADA, "owner": ""}, "422 invalid-owner", "owner"),
    opening("owner-blank", {**ADA, "owner": " \t "}, "422 invalid-owner", "owner"),
    opening("owner-too-long", {**ADA, "owner": "x" * 201}, "422 invalid-owner", "200"),
    opening("owner-number", {**ADA, "owner": 7}, INVALID, "owner"),
    opening("owner-nul", {**ADA, "owner": "Bob\u0000"}, "422 invalid-owner", "U+0000"),
    opening("owner-escape", {**ADA, "owner": "Bob\x1b[2J"}, "422 invalid-owner", "U+001B"),
    opening("owner-bidi", {**ADA, "owner": "Bob\u202e"}, "422 invalid-owner", "U+202E"),
    opening(
        "owner-lone-surrogate",
        b'{"owner": "\\ud800x", "currency": "EUR"}',
        "422 invalid-owner",
        "U+D800",
    ),
    *moving("deposit", DEPOSIT),
    *moving("withdraw", WITHDRAW),
    refused("deposit-unknown-account", "unknown", DEPOSIT, FIVE, "404 account-not-found", "not"),
    refused("freeze-unknown-account", "unknown", FREEZE, {}, "404 account-not-found", "not"),
    refused("deposit-malformed-id", "open", "/accounts/x/deposits", FIVE, INVALID, "account_id"),
    refused("close-malformed-id", "open", "/accounts/1234/close", {}, INVALID, "account_id"),
    refused(
        "overdraft", "open", WITHDRAW, {"amount": BALANCE + 1}, "409 insufficient-funds", "balance"
    ),
    refused("withdraw-from-empty", "empty", WITHDRAW, FIVE, "409 insufficient-funds", "balance"),
    refused("deposit-frozen", "frozen", DEPOSIT, FIVE, "409 account-frozen", "frozen"),
    refused("withdraw-frozen", "frozen", WITHDRAW, FIVE, "409 account-frozen", "frozen"),
    refused("freeze-frozen", "frozen", FREEZE, {}, "409 account-frozen", "already frozen"),
    refused("deposit-closed", "closed", DEPOSIT, FIVE, "409 account-closed", "closed"),
    refused("withdraw-closed", "closed", WITHDRAW, FIVE, "409 account-closed", "closed"),
    refused("freeze-closed", "closed", FREEZE, {}, "409 account-closed", "closed"),
    refused(
        "unfreeze-closed", "closed", UNFREEZE, {}, "409 account-closed", "closed", caller="operator"
    ),
    refused("close-closed", "closed", CLOSE, {}, "409 account-closed", "closed"),
    refused("close-with-balance", "open", CLOSE, {}, "409 balance-not-zero", "must be zero"),
    refused(
        "unfreeze-open",
        "open",
        UNFREEZE,
        {},
        "409 account-not-frozen",
        "not frozen",
        caller="operator",
    ),
    refused("freeze-unknown-field", "open", FREEZE, {"why": "x"}, INVALID, "why: unknown field"),
]
# Someone else's account is answered as a missing one; a role's limit is 403.
NOT_FOUND, FORBIDDEN = "404 account-not-found", "403 forbidden"
CASES += [
    refused(f"{name}-someone-elses", "bobs", path, body, NOT_FOUND, "does not exist")
    for name, path, body in [
        ("deposit", DEPOSIT, FIVE),
        ("withdraw", WITHDRAW, FIVE),
        ("freeze", FREEZE, {}),
        ("unfreeze", UNFREEZE, {}),
        ("close", CLOSE, {}),
    ]
]
CASES += [
    refused("unfreeze-by-its-holder", "frozen", UNFREEZE, {}, FORBIDDEN, "unfreeze"),
    refused("open-by-a-teller", "open", OPEN, ADA, FORBIDDEN, "customer", caller="teller"),
    refused("freeze-by-a-teller", "open", FREEZE, {}, FORBIDDEN, "freeze", caller="teller"),
    refused("close-by-an-operator", "empty", CLOSE, {}, FORBIDDEN, "close", caller="operator"),
    refused("deposit-by-an-auditor", "open", DEPOSIT, FIVE, FORBIDDEN, "deposit", caller="auditor"),
    refused(
        "withdraw-by-an-operator", "open", WITHDRAW, FIVE, FORBIDDEN, "with", caller="operator"
    ),
]
KEY_PROBLEM = "400 invalid-idempotency-key"
CASES += [
    refused(f"{name}-key-{kind}", "open", path, body, KEY_PROBLEM, IDEMPOTENCY_HEADER, key=key)
    for name, path, body in [("open", OPEN, ADA), ("deposit", DEPOSIT, FIVE)]
    for kind, key in [
        ("with-spaces", b"my key"),
        ("too-long", b"k" * 201),
        ("empty", b""),
        ("tab", b"a\tb"),
        ("non-ascii", "clé".encode()),
    ]
]


@pytest.fixture(scope="module")
def caller_headers(issuer: DevIssuer) -> dict[str, dict[bytes, bytes]]:
    """Each caller's token header, by name (the holder's is the client's own)."""
    return {
        name: {b"Authorization": f"Bearer {issuer.mint(subject, roles=[role])}".encode()}
        for name, (subject, role) in CALLERS.items()
    } | {"holder": {}}


@pytest.fixture(scope="module")
def in_state(accounts: TestClient, caller_headers: dict[str, dict[bytes, bytes]]) -> dict[str, str]:
    """One account per state a refusal depends on, by state name ("bobs": held by Bob)."""
    funded, frozen = open_account(accounts), open_account(accounts)
    empty, closed = open_account(accounts), open_account(accounts)
    bobs = accounts.post("/accounts", json=ADA, headers=caller_headers["bob"]).json()["account_id"]
    command(accounts, funded, "deposits", {"amount": BALANCE})
    command(accounts, frozen, "deposits", {"amount": BALANCE})
    command(accounts, frozen, "freeze")
    command(accounts, closed, "close")
    return {"open": funded, "frozen": frozen, "empty": empty, "closed": closed, "bobs": bobs}


@pytest.mark.parametrize("case", CASES)
def test_a_refused_command_answers_a_problem_and_stores_nothing(
    accounts: TestClient,
    in_state: dict[str, str],
    caller_headers: dict[str, dict[bytes, bytes]],
    case: Refused,
) -> None:
    account_id = str(uuid4()) if case.state == "unknown" else in_state[case.state]
    path = case.path.format(id=account_id)
    before = event_count(accounts)

    response = post_body(accounts, path, case.body, case.headers | caller_headers[case.caller])

    problem = assert_problem(response, case.status, case.code)
    assert case.detail.lower() in problem["detail"].lower(), problem
    assert problem["instance"] == path
    assert event_count(accounts) == before
