"""The statement, notifications, analytics and payments query APIs over HTTP, fed by
the accounts command API through the relay and the projectors; and every bad query
answered as problem+json."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest

from api.consistency import HEADER as TOKEN_HEADER
from api.pages import encode_cursor
from tests.e2e.conftest import SERVICE_NAMES
from tests.support.accounts_client import assert_problem, command, open_account
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

APIS = {
    "statement": "account-statement-query-api",
    "payments": "payments-query-api",
    "notifications": "notifications-query-api",
    "analytics": "analytics-query-api",
}


@pytest.fixture(scope="module")
def apis(
    services: dict[str, str], auth: dict[str, str], stack: Stack
) -> Iterator[dict[str, httpx.Client]]:
    """A client of each query API; analytics (every account's volumes) as an auditor."""
    callers = {key: auth for key in APIS} | {"analytics": stack.auth("audrey", "auditor")}
    clients = {
        key: httpx.Client(base_url=services[name], timeout=30, headers=callers[key])
        for key, name in APIS.items()
    }
    yield clients
    for client in clients.values():
        client.close()


def read(client: httpx.Client, path: str, after: httpx.Response, **params: Any) -> Any:
    """GET `path`, consistent with the command answer `after`; must succeed."""
    headers = {TOKEN_HEADER: after.headers[TOKEN_HEADER]}
    response = client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_statement_pages_newest_first_through_every_movement(
    commands: httpx.Client, apis: dict[str, httpx.Client]
) -> None:
    account_id = open_account(commands)
    amounts = [100, 200, 300, 400, 500, 600, 700, -50, -75]
    for amount in amounts:
        kind = "deposits" if amount > 0 else "withdrawals"
        last = command(commands, account_id, kind, {"amount": abs(amount)})
    path, pages, cursor = f"/accounts/{account_id}/statement", [], None

    while True:
        params = {"limit": 4} | ({"cursor": cursor} if cursor else {})
        page = read(apis["statement"], path, last, **params)
        pages.append(page["entries"])
        if (cursor := page["next_cursor"]) is None:
            break

    entries = [entry for page in pages for entry in page]
    assert [len(page) for page in pages] == [4, 4, 1]
    assert [entry["amount"] for entry in entries] == amounts[::-1]
    assert entries[0]["balance_after"] == last.json()["balance"] == sum(amounts)
    assert entries[-1]["balance_after"] == amounts[0]
    positions = [entry["position"] for entry in entries]
    assert positions == sorted(positions, reverse=True) and len(set(positions)) == len(amounts)
    assert {e["kind"] for e in entries} == {"deposit", "withdrawal"}
    assert all(e["counterparty"] is None and e["payment_id"] is None for e in entries)


def test_an_opened_account_has_an_empty_statement(
    commands: httpx.Client, apis: dict[str, httpx.Client]
) -> None:
    opened = commands.post("/accounts", json={"owner": "Quiet", "currency": "CHF"})
    account_id = opened.json()["account_id"]

    statement = read(apis["statement"], f"/accounts/{account_id}/statement", opened)

    assert statement == {
        "account_id": account_id,
        "currency": "CHF",
        "entries": [],
        "next_cursor": None,
    }


def test_deposits_and_withdrawals_are_notified_once_newest_first(
    commands: httpx.Client, apis: dict[str, httpx.Client]
) -> None:
    account_id = open_account(commands, currency="GBP")
    command(commands, account_id, "deposits", {"amount": 500})
    last = command(commands, account_id, "withdrawals", {"amount": 200})
    path = f"/accounts/{account_id}/notifications"

    first = read(apis["notifications"], path, last, limit=1)
    second = read(apis["notifications"], path, last, limit=1, cursor=first["next_cursor"])

    feed = first["notifications"] + second["notifications"]
    assert [(n["kind"], n["amount"], n["currency"]) for n in feed] == [
        ("withdrawal", 200, "GBP"),
        ("deposit", 500, "GBP"),
    ]
    assert second["next_cursor"] is None
    assert len({n["id"] for n in feed}) == 2
    assert read(apis["notifications"], path, last)["notifications"] == feed


def test_analytics_count_and_sum_the_deposits_and_withdrawals_of_the_day(
    commands: httpx.Client, apis: dict[str, httpx.Client]
) -> None:
    account_id = open_account(commands, currency="JPY")
    for amount in (1_000, 2_000, 3_000):
        command(commands, account_id, "deposits", {"amount": amount})
    last = command(commands, account_id, "withdrawals", {"amount": 500})
    today = datetime.now(UTC).date()
    span = {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))}

    daily = read(apis["analytics"], "/analytics/daily", last, currency="JPY", **span)

    assert {day["currency"] for day in daily["days"]} == {"JPY"}
    totals = {
        measure: [sum(day[measure][k] for day in daily["days"]) for k in ("count", "volume")]
        for measure in ("deposits", "withdrawals", "completed", "failed")
    }
    assert totals == {
        "deposits": [3, 6_000],
        "withdrawals": [1, 500],
        "completed": [0, 0],
        "failed": [0, 0],
    }


def test_an_api_following_both_contexts_takes_a_token_from_either(
    apis: dict[str, httpx.Client],
) -> None:
    path = f"/accounts/{uuid4()}/notifications"
    for token in ("accounts:0", "payments:0"):
        response = apis["notifications"].get(path, headers={TOKEN_HEADER: token})
        assert_problem(response, 404, "account-not-found")
    statement = path.replace("notifications", "statement")
    other = apis["statement"].get(statement, headers={TOKEN_HEADER: "payments:0"})
    assert_problem(other, 400, "unknown-consistency-context")


def test_payments_filters_answer_pages(apis: dict[str, httpx.Client]) -> None:
    completed = apis["payments"].get("/payments", params={"status": "completed", "limit": 5})
    assert completed.status_code == 200, completed.text
    assert completed.json().keys() == {"payments", "next_cursor"}
    assert {p["status"] for p in completed.json()["payments"]} <= {"completed"}

    params = {"account": str(uuid4()), "status": "failed"}
    response = apis["payments"].get("/payments", params=params)
    assert response.status_code == 200, response.text
    assert response.json() == {"payments": [], "next_cursor": None}


UNKNOWN = str(uuid4())
WRONG_SHAPE = encode_cursor("not", "a position")
BAD_TIME = encode_cursor("yesterday", "accounts:1")
NEGATIVE = encode_cursor(-1)


def bad(api: str, path: str, expect: str, **params: Any) -> Any:
    """A query that must be refused; `expect` is "<status> <problem code>"."""
    status, code = expect.split()
    return pytest.param(api, path, params, int(status), code, id=f"{api}-{code}-{params}")


STATEMENT = "/accounts/{id}/statement"
FEED = "/accounts/{id}/notifications"
DAILY = "/analytics/daily"
INVALID = "422 validation-error"
BAD_CURSOR = "400 invalid-cursor"


def dates(first: str, last: str, expect: str, **query: Any) -> Any:
    return bad("analytics", DAILY, expect, **{"from": first, "to": last}, **query)


def paging(api: str, path: str, other_cursor: str, **query: Any) -> list[Any]:
    """What every paged query refuses; `other_cursor` is a cursor of another kind of page."""
    return [
        bad(api, path, BAD_CURSOR, **query, cursor="!!not base64!!"),
        bad(api, path, BAD_CURSOR, **query, cursor="bm90IGpzb24"),  # "not json"
        bad(api, path, BAD_CURSOR, **query, cursor=other_cursor),
        bad(api, path, BAD_CURSOR, **query, cursor=WRONG_SHAPE),
        bad(api, path, INVALID, **query, cursor="c" * 201),
        bad(api, path, INVALID, **query, limit=0),
        bad(api, path, INVALID, **query, limit=1000),
        bad(api, path, INVALID, **query, limit="ten"),
    ]


BAD_INPUT = [
    *paging("statement", STATEMENT, encode_cursor("x")),
    *paging("notifications", FEED, encode_cursor(5)),
    *paging("payments", "/payments", encode_cursor("x"), status="completed"),
    bad("statement", STATEMENT, BAD_CURSOR, cursor=NEGATIVE),
    bad("notifications", FEED, BAD_CURSOR, cursor=BAD_TIME),
    bad("statement", f"/accounts/{UNKNOWN}/statement", "404 account-not-found"),
    bad("statement", "/accounts/nope/statement", INVALID),
    bad("notifications", f"/accounts/{UNKNOWN}/notifications", "404 account-not-found"),
    bad("notifications", "/accounts/nope/notifications", INVALID),
    bad("payments", "/payments", INVALID, status="lost"),
    bad("payments", "/payments", INVALID, account="not-an-id"),
    bad("payments", "/payments", "422 filter-required"),
    bad("payments", f"/payments/{UNKNOWN}", "404 payment-not-found"),
    bad("payments", "/payments/nope", INVALID),
    bad("analytics", DAILY, INVALID, to="2024-01-31"),
    bad("analytics", DAILY, INVALID, **{"from": "2024-01-01"}),
    dates("2024-13-01", "2024-12-31", INVALID),
    dates("2024-02-30", "2024-03-01", INVALID),
    dates("yesterday", "2024-03-01", INVALID),
    dates("01/02/2024", "2024-03-01", INVALID),
    dates("2024-03-02", "2024-03-01", "422 invalid-date-range"),
    dates("2023-01-01", "2024-01-02", "422 invalid-date-range"),  # 367 days
    dates("2024-01-01", "2024-01-02", INVALID, currency="eur"),
]


@pytest.mark.parametrize(("api", "path", "params", "status", "code"), BAD_INPUT)
def test_a_bad_query_answers_a_problem(
    commands: httpx.Client,
    apis: dict[str, httpx.Client],
    api: str,
    path: str,
    params: dict[str, Any],
    status: int,
    code: str,
) -> None:
    account_id = open_account(commands) if "{id}" in path else UNKNOWN

    response = apis[api].get(path.format(id=account_id), params=params)

    assert_problem(response, status, code)


def test_a_full_leap_year_is_a_valid_range(apis: dict[str, httpx.Client]) -> None:
    response = apis["analytics"].get(DAILY, params={"from": "2024-01-01", "to": "2024-12-31"})

    assert response.status_code == 200, response.text
    assert response.json()["days"] == []


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_every_service_is_healthy_and_ready(
    services: dict[str, str], service: str, path: str
) -> None:
    response = httpx.get(services[service] + path, timeout=10)

    assert response.status_code == 200, response.text
