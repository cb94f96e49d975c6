"""The accounts services over HTTP: read-your-writes, idempotency, lifecycle, health."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import uuid4

import httpx
import pytest

from api.commands import IDEMPOTENCY_HEADER, REPLAY_HEADER
from api.consistency import HEADER as TOKEN_HEADER
from eventstore.contexts import ACCOUNTS
from tests.support.accounts_client import assert_problem, command, open_account, read_back
from tests.support.metrics import scrape, value
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

OPEN_BODY: dict[str, Any] = {"owner": "Grace Hopper", "currency": "USD"}
CONCURRENT_REQUESTS = 10


def keyed(key: str) -> dict[str, str]:
    return {IDEMPOTENCY_HEADER: key}


def test_a_read_with_the_last_token_sees_every_command_on_the_first_try(
    commands: httpx.Client, queries: httpx.Client
) -> None:
    account_id = open_account(commands, "Ada Lovelace", "EUR")
    command(commands, account_id, "deposits", {"amount": 10_000})
    last = command(commands, account_id, "withdrawals", {"amount": 2_550})

    summary = read_back(queries, account_id, last)

    assert last.json()["consistency_token"] == last.headers[TOKEN_HEADER]
    assert last.json()["balance"] == 7_450
    assert last.json()["version"] == 3
    assert summary["account_id"] == account_id
    assert summary["owner"] == "Ada Lovelace"
    assert summary["currency"] == "EUR"
    assert summary["balance"] == 7_450
    assert summary["version"] == 3
    assert summary["status"] == "open"


def test_a_new_accounts_location_is_where_the_account_is_read(
    commands: httpx.Client, queries: httpx.Client
) -> None:
    """The 201's Location is the account on the account summary query API (the accounts
    API serves no reads): followed with the answer's token, it reads the new account."""
    opened = commands.post("/accounts", json=OPEN_BODY)
    assert opened.status_code == 201, opened.text

    read = queries.get(
        opened.headers["Location"],
        headers={TOKEN_HEADER: opened.json()["consistency_token"]},
    )

    assert opened.headers["Location"].startswith(str(queries.base_url).rstrip("/") + "/")
    assert read.status_code == 200, read.text
    assert read.json()["account_id"] == opened.json()["account_id"]
    assert read.json()["owner"] == OPEN_BODY["owner"]


def test_a_retried_deposit_is_answered_from_the_first_and_stored_once(
    commands: httpx.Client, stack: Stack
) -> None:
    account_id = open_account(commands)
    path, key = f"/accounts/{account_id}/deposits", str(uuid4())
    before = stack.event_count(ACCOUNTS)

    first = commands.post(path, json={"amount": 300}, headers=keyed(key))
    second = commands.post(path, json={"amount": 300}, headers=keyed(key))

    assert first.status_code == second.status_code == 200, (first.text, second.text)
    assert second.json() == first.json()
    assert first.json()["balance"] == 300
    assert REPLAY_HEADER not in first.headers
    assert second.headers[REPLAY_HEADER] == "true"
    assert second.headers[TOKEN_HEADER] == first.headers[TOKEN_HEADER]
    assert stack.event_count(ACCOUNTS) == before + 1


def test_a_retried_open_answers_the_same_account_and_stores_one_event(
    commands: httpx.Client, stack: Stack
) -> None:
    key = str(uuid4())
    before = stack.event_count(ACCOUNTS)

    first = commands.post("/accounts", json=OPEN_BODY, headers=keyed(key))
    second = commands.post("/accounts", json=OPEN_BODY, headers=keyed(key))

    assert first.status_code == second.status_code == 201, (first.text, second.text)
    assert second.json() == first.json()
    assert second.headers["Location"] == first.headers["Location"]
    assert second.headers[REPLAY_HEADER] == "true"
    assert stack.event_count(ACCOUNTS) == before + 1


def test_a_replay_answers_the_account_as_the_first_command_left_it(
    commands: httpx.Client, stack: Stack
) -> None:
    account_id = open_account(commands)
    path, key = f"/accounts/{account_id}/deposits", str(uuid4())
    first = commands.post(path, json={"amount": 40}, headers=keyed(key))
    command(commands, account_id, "deposits", {"amount": 2})
    before = stack.event_count(ACCOUNTS)

    replay = commands.post(path, json={"amount": 40}, headers=keyed(key))

    assert replay.status_code == 200, replay.text
    assert replay.json() == first.json()
    assert replay.json()["balance"] == 40
    assert stack.event_count(ACCOUNTS) == before


@pytest.mark.parametrize(
    ("second_path", "second_body"),
    [
        pytest.param("/accounts/{same}/deposits", {"amount": 301}, id="different-amount"),
        pytest.param("/accounts/{other}/deposits", {"amount": 300}, id="different-account"),
        pytest.param("/accounts/{same}/withdrawals", {"amount": 300}, id="different-command"),
        pytest.param("/accounts", OPEN_BODY, id="different-command-open"),
    ],
)
def test_a_key_reused_for_a_different_request_is_refused_and_stores_nothing(
    commands: httpx.Client, stack: Stack, second_path: str, second_body: dict[str, Any]
) -> None:
    account_id, other_id = open_account(commands), open_account(commands)
    key = str(uuid4())
    first = commands.post(
        f"/accounts/{account_id}/deposits", json={"amount": 300}, headers=keyed(key)
    )
    assert first.status_code == 200, first.text
    path = second_path.format(same=account_id, other=other_id)
    before = stack.event_count(ACCOUNTS)

    reused = commands.post(path, json=second_body, headers=keyed(key))

    problem = assert_problem(reused, 422, "idempotency-key-reused")
    assert key in problem["detail"]
    assert stack.event_count(ACCOUNTS) == before


def send_at_once(send: Callable[[], httpx.Response], times: int) -> list[httpx.Response]:
    """Send the same request from `times` threads released together."""
    barrier = threading.Barrier(times)

    def one() -> httpx.Response:
        barrier.wait()
        return send()

    with ThreadPoolExecutor(max_workers=times) as pool:
        futures = [pool.submit(one) for _ in range(times)]
        return [future.result() for future in futures]


@pytest.mark.parametrize("target", ["open", "deposit"])
def test_concurrent_requests_with_one_key_store_one_event_and_agree(
    commands: httpx.Client,
    stack: Stack,
    services: dict[str, str],
    auth: dict[str, str],
    target: str,
) -> None:
    url = services["accounts-api"]
    if target == "open":
        path, body, status = "/accounts", OPEN_BODY, 201
    else:
        path, body, status = f"/accounts/{open_account(commands)}/deposits", {"amount": 7}, 200
    key = str(uuid4())
    before = stack.event_count(ACCOUNTS)

    answers = send_at_once(
        lambda: httpx.post(url + path, json=body, headers=keyed(key) | auth, timeout=30),
        CONCURRENT_REQUESTS,
    )

    assert [a.status_code for a in answers] == [status] * CONCURRENT_REQUESTS, [
        a.text for a in answers
    ]
    assert len({a.content for a in answers}) == 1, [a.text for a in answers]
    assert len({a.headers[TOKEN_HEADER] for a in answers}) == 1
    assert sum(REPLAY_HEADER not in a.headers for a in answers) == 1
    assert stack.event_count(ACCOUNTS) == before + 1


def test_freeze_unfreeze_and_close_are_visible_in_the_query_api(
    commands: httpx.Client, operator: httpx.Client, queries: httpx.Client
) -> None:
    account_id = open_account(commands)
    command(commands, account_id, "deposits", {"amount": 500})

    frozen = command(commands, account_id, "freeze")
    assert frozen.json()["status"] == "frozen"
    assert read_back(queries, account_id, frozen)["status"] == "frozen"

    unfrozen = command(operator, account_id, "unfreeze")
    assert unfrozen.json()["status"] == "open"
    assert read_back(queries, account_id, unfrozen)["status"] == "open"

    command(commands, account_id, "withdrawals", {"amount": 500})
    closed = command(commands, account_id, "close")
    summary = read_back(queries, account_id, closed)
    assert closed.json()["status"] == "closed"
    assert (summary["status"], summary["balance"], summary["version"]) == ("closed", 0, 6)


def test_the_query_api_answers_404_for_an_unknown_account(queries: httpx.Client) -> None:
    response = queries.get(f"/accounts/{uuid4()}")

    assert_problem(response, 404, "account-not-found")


def test_the_query_api_answers_422_for_a_malformed_account_id(queries: httpx.Client) -> None:
    response = queries.get("/accounts/not-a-uuid")

    problem = assert_problem(response, 422, "validation-error")
    assert "account_id" in problem["detail"]


@pytest.mark.parametrize(
    ("token", "code"),
    [
        pytest.param("garbage", "invalid-consistency-token", id="no-colon"),
        pytest.param("accounts:", "invalid-consistency-token", id="no-position"),
        pytest.param("accounts:-1", "invalid-consistency-token", id="negative"),
        pytest.param("accounts:1.5", "invalid-consistency-token", id="fraction"),
        pytest.param("Accounts:1", "invalid-consistency-token", id="capitals"),
        pytest.param("accounts:" + "9" * 19, "invalid-consistency-token", id="too-long"),
        pytest.param("payments:1", "unknown-consistency-context", id="other-context"),
    ],
)
def test_the_query_api_refuses_a_bad_consistency_token(
    commands: httpx.Client, queries: httpx.Client, token: str, code: str
) -> None:
    account_id = open_account(commands)

    response = queries.get(f"/accounts/{account_id}", headers={TOKEN_HEADER: token})

    problem = assert_problem(response, 400, code)
    assert TOKEN_HEADER in problem["detail"] or "accounts" in problem["detail"]


def test_a_token_the_read_model_cannot_reach_answers_503_with_retry_after(
    commands: httpx.Client, queries: httpx.Client, stack: Stack
) -> None:
    account_id = open_account(commands)
    future = f"accounts:{stack.max_position(ACCOUNTS) + 1_000_000}"
    timeouts, of_the_api = "paystream_consistency_timeouts_total", {"api": "account-summary"}
    before = value(scrape(queries), timeouts, of_the_api)

    response = queries.get(f"/accounts/{account_id}", headers={TOKEN_HEADER: future})

    assert_problem(response, 503, "consistency-timeout")
    assert int(response.headers["Retry-After"]) >= 1
    assert value(scrape(queries), timeouts, of_the_api) == before + 1
