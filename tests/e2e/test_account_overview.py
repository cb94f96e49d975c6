"""The account overview on the running system: every part from its query API, a payment
in flight while the saga is away, and a 200 in time with one query API stopped."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import httpx
import pytest

from api.consistency import HEADER as TOKEN_HEADER
from tests.support.accounts_client import assert_problem, command, open_account
from tests.support.stack import E2E_OVERVIEW_DEADLINE_SECONDS, Stack, wait_until

pytestmark = pytest.mark.e2e
PARTS = ("summary", "recent_entries", "payments_in_flight", "recent_notifications")
SLACK_SECONDS = 3.0  # generous: a loaded 2-core machine; far below a hung wait


@pytest.fixture(scope="module")
def overview(services: dict[str, str], auth: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=services["overview-api"], timeout=30, headers=auth) as client:
        yield client


def read_overview(
    client: httpx.Client, account_id: str, after: httpx.Response | None = None
) -> dict[str, Any]:
    """The overview, consistent with the command answer `after`; must be 200."""
    headers = {TOKEN_HEADER: after.headers[TOKEN_HEADER]} if after is not None else {}
    answer = client.get(f"/accounts/{account_id}/overview", headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def settled_overview(
    client: httpx.Client, account_id: str, after: httpx.Response | None = None
) -> dict[str, Any]:
    """The overview once no part is missing (on a loaded machine a read model may take
    longer than the deadline to reach a consistency token)."""
    found: dict[str, Any] = {}

    def settled() -> bool:
        found.update(read_overview(client, account_id, after))
        return bool(found["unavailable"] == [])

    wait_until(settled, 30, f"every part of the overview of {account_id}")
    return found


def test_the_overview_shows_every_part_and_a_payment_in_flight(
    stack: Stack, commands: httpx.Client, overview: httpx.Client, services: dict[str, str]
) -> None:
    ada, bob = open_account(commands), open_account(commands, "Bob")
    command(commands, ada, "deposits", {"amount": 10000})
    deposited = command(commands, ada, "deposits", {"amount": 2500})

    before = settled_overview(overview, ada, deposited)
    assert (before["summary"]["balance"], before["summary"]["version"]) == (12500, 3)
    assert [e["amount"] for e in before["recent_entries"]] == [2500, 10000]
    assert [n["kind"] for n in before["recent_notifications"]] == ["deposit", "deposit"]
    assert before["payments_in_flight"] == []

    stack.latest("saga").stop()  # the payment stays requested until the saga is back
    try:
        paid = httpx.post(
            f"{services['payments-api']}/payments",
            json={"source": ada, "destination": bob, "amount": 1250, "currency": "EUR"},
            headers={**commands.headers, TOKEN_HEADER: deposited.headers[TOKEN_HEADER]},
            timeout=30,
        )
        assert paid.status_code == 202, paid.text
        during = settled_overview(overview, ada, paid)
        assert [(p["payment_id"], p["status"]) for p in during["payments_in_flight"]] == [
            (paid.json()["payment_id"], "requested")
        ]
        assert all(during[part] is not None for part in PARTS)
    finally:
        stack.start("saga")

    wait_until(
        lambda: read_overview(overview, ada)["payments_in_flight"] == [],
        30,
        "the payment to leave the overview's payments in flight",
    )


def test_a_stopped_query_api_leaves_its_part_out_in_time(
    stack: Stack, commands: httpx.Client, overview: httpx.Client
) -> None:
    account = open_account(commands)
    deposited = command(commands, account, "deposits", {"amount": 500})
    settled_overview(overview, account, deposited)

    stack.latest("notifications-query-api").stop()
    try:
        started = time.monotonic()
        body = read_overview(overview, account, deposited)
        elapsed = time.monotonic() - started
    finally:
        stack.start("notifications-query-api")

    assert elapsed < E2E_OVERVIEW_DEADLINE_SECONDS + SLACK_SECONDS
    assert body["recent_notifications"] is None
    assert [(m["part"], m["reason"]) for m in body["unavailable"]] == [
        ("recent_notifications", "unreachable")
    ]
    assert body["summary"]["balance"] == 500
    assert [e["amount"] for e in body["recent_entries"]] == [500]
    settled_overview(overview, account)  # every part back once restarted


def test_an_unknown_account_is_404_as_the_summary_says(
    overview: httpx.Client, queries: httpx.Client
) -> None:
    unknown = uuid4()

    answer = overview.get(f"/accounts/{unknown}/overview")

    problem = assert_problem(answer, 404, "account-not-found")
    summary = queries.get(f"/accounts/{unknown}").json()
    assert {k: problem[k] for k in ("type", "title", "detail")} == {
        k: summary[k] for k in ("type", "title", "detail")
    }


def test_without_a_token_it_is_401(services: dict[str, str]) -> None:
    answer = httpx.get(f"{services['overview-api']}/accounts/{uuid4()}/overview", timeout=30)

    assert_problem(answer, 401, "authentication-required")
