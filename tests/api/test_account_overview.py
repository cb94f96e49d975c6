"""The account overview in process, over stub query APIs that answer with the real
answer models: every part in parallel, and a slow, down or failing upstream answered
in part within the deadline; the summary's 404 and 401 stand for the whole."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from api.account_statement_query import Statement, StatementEntry
from api.account_summary_query import AccountSummary
from api.notifications_query import Notification, NotificationPage
from api.overview_app import create_overview_app
from api.overview_parts import IN_FLIGHT, RECENT
from api.payments_query import PaymentView
from scripts.devstack.embedded import free_port
from tests.api.conftest import bearer
from tests.support.issuer import DevIssuer

ACCOUNT = UUID("0e9bbcd3-e708-4373-a101-71f35e9addf1")  # fixed: it names test ids
OTHER = UUID("5d2f3c4e-2a1b-4c7d-9e8f-0a1b2c3d4e5f")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DEADLINE = 2.0  # each part's; the stubs that are not slow answer well within it
# An answer within the deadline plus this (generous: a loaded 2-core machine), still far
# below SLOW, so an overview that waited for a slow query API fails.
SLACK = 6.0
SLOW = 10.0  # how long a slow stub keeps its answer back
HOSTS = {
    "account-summary": "summary",
    "account-statement": "statement",
    "payments": "payments",
    "notifications": "notifications",
}
PART_OF_HOST = {
    "summary": "summary",
    "statement": "recent_entries",
    "payments": "payments_in_flight",
    "notifications": "recent_notifications",
}


def payment(status: str, minutes_ago: int) -> dict[str, Any]:
    made = NOW - timedelta(minutes=minutes_ago)
    return PaymentView(
        payment_id=uuid4(),
        payer="ada",
        source=ACCOUNT,
        destination=OTHER,
        amount=1250,
        currency="EUR",
        reference="dinner",
        status=status,  # type: ignore[arg-type]
        failure_reason=None,
        refunded=False,
        created_at=made,
        updated_at=made,
        version=1,
    ).model_dump(mode="json")


# One payment requested 1 minute ago, one debited 2 minutes ago; none in other statuses.
IN_FLIGHT_PAYMENTS = {"requested": payment("requested", 1), "debited": payment("debited", 2)}


def canned(host: str, request: Request) -> dict[str, Any]:
    """What each query API answers, built from its own answer model."""
    if host == "summary":
        return AccountSummary(
            account_id=ACCOUNT,
            owner="Ada",
            holder="ada",
            currency="EUR",
            balance=7500,
            status="open",
            version=3,
            updated_at=NOW,
        ).model_dump(mode="json")
    if host == "statement":
        entry = StatementEntry(
            position=7,
            time=NOW,
            kind="deposit",
            amount=10000,
            balance_after=10000,
            counterparty=None,
            reference=None,
            payment_id=None,
        )
        page = Statement(account_id=ACCOUNT, currency="EUR", entries=[entry], next_cursor=None)
        return page.model_dump(mode="json")
    if host == "payments":
        found = IN_FLIGHT_PAYMENTS.get(request.query_params["status"])
        return {"payments": [found] if found else [], "next_cursor": None}  # as PaymentPage
    note = Notification(
        id="n1",
        time=NOW,
        kind="deposit",
        amount=10000,
        currency="EUR",
        counterparty=None,
        payment_id=None,
        reference=None,
        reason=None,
        refunded=None,
    )
    return NotificationPage(account_id=ACCOUNT, notifications=[note], next_cursor=None).model_dump(
        mode="json"
    )


class StubQueryApis:
    """The four query APIs, in process (told apart by host); `trouble` makes one slow
    ("slow"), or answer an error status; every request is recorded."""

    def __init__(self) -> None:
        self.trouble: dict[str, str | int] = {}
        self.seen: list[tuple[str, str, dict[str, str], httpx.Headers]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        host = str(request.url.hostname)
        self.seen.append((host, request.url.path, dict(request.query_params), request.headers))  # type: ignore[arg-type]
        trouble = self.trouble.get(host)
        if trouble == "slow":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.Event().wait(), SLOW)
        if isinstance(trouble, int):
            problem = {"type": "/problems/trouble", "title": "Trouble", "status": trouble}
            body = problem | {"detail": f"{host} says {trouble}", "instance": request.url.path}
            headers = {"WWW-Authenticate": 'Bearer realm="paystream"'} if trouble == 401 else {}
            response = JSONResponse(body, trouble, headers, "application/problem+json")
        else:
            response = JSONResponse(canned(host, request))
        await response(scope, receive, send)


@pytest.fixture
def stubs() -> StubQueryApis:
    return StubQueryApis()


def overview_client(issuer: DevIssuer, stubs: StubQueryApis, down: str | None = None) -> TestClient:
    """The overview API over the stubs; the query API named `down` listens nowhere."""
    urls = {name: f"http://{host}" for name, host in HOSTS.items()}
    if down is not None:
        urls[down] = f"http://127.0.0.1:{free_port()}"
    mounts = {f"http://{host}": httpx.ASGITransport(app=stubs) for host in HOSTS.values()}
    app = create_overview_app(urls, issuer.verifier(), DEADLINE, mounts)
    return TestClient(app, raise_server_exceptions=False, headers=bearer(issuer.mint("ada")))


@pytest.fixture
def client(issuer: DevIssuer, stubs: StubQueryApis) -> Iterator[TestClient]:
    with overview_client(issuer, stubs) as client:
        yield client


def timed_overview(client: TestClient, **headers: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    answer = client.get(f"/accounts/{ACCOUNT}/overview", headers=headers)
    return answer, time.monotonic() - started


def test_every_part_is_read_from_its_query_api(client: TestClient, stubs: StubQueryApis) -> None:
    answer, _ = timed_overview(client)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["unavailable"] == []
    assert body["summary"]["balance"] == 7500
    assert [entry["position"] for entry in body["recent_entries"]] == [7]
    assert [p["status"] for p in body["payments_in_flight"]] == ["requested", "debited"]
    assert [n["id"] for n in body["recent_notifications"]] == ["n1"]
    asked = {(host, path, tuple(sorted(params.items()))) for host, path, params, _ in stubs.seen}
    account = str(ACCOUNT)
    assert asked == {
        ("summary", f"/accounts/{account}", ()),
        ("statement", f"/accounts/{account}/statement", (("limit", str(RECENT)),)),
        ("notifications", f"/accounts/{account}/notifications", (("limit", str(RECENT)),)),
        *(
            ("payments", "/payments", (("account", account), ("limit", "200"), ("status", s)))
            for s in IN_FLIGHT
        ),
    }


def test_the_callers_token_goes_to_every_query_api_and_the_consistency_token_where_followed(
    client: TestClient, stubs: StubQueryApis
) -> None:
    answer, _ = timed_overview(client, **{"X-Consistency-Token": "payments:42"})

    assert answer.status_code == 200, answer.text
    assert {headers["authorization"] for *_, headers in stubs.seen} == {
        client.headers["Authorization"]
    }
    waited = {host for host, *_, headers in stubs.seen if "x-consistency-token" in headers}
    assert waited == {"payments", "notifications"}  # the read models that follow payments


@pytest.mark.parametrize("host", sorted(PART_OF_HOST))
def test_a_slow_query_api_leaves_its_part_out_within_the_deadline(
    client: TestClient, stubs: StubQueryApis, host: str
) -> None:
    stubs.trouble[host] = "slow"

    answer, elapsed = timed_overview(client)

    assert answer.status_code == 200, answer.text
    assert DEADLINE <= elapsed < DEADLINE + SLACK
    body = answer.json()
    part = PART_OF_HOST[host]
    assert body[part] is None
    assert body["unavailable"] == [
        {
            "part": part,
            "reason": "timeout",
            "status": None,
            "detail": f"no answer within {DEADLINE:g} s",
        }
    ]
    assert all(body[other] is not None for other in PART_OF_HOST.values() if other != part)


def test_a_query_api_that_is_down_leaves_its_part_out(
    issuer: DevIssuer, stubs: StubQueryApis
) -> None:
    with overview_client(issuer, stubs, down="notifications") as client:
        answer, elapsed = timed_overview(client)

    assert answer.status_code == 200, answer.text
    assert elapsed < DEADLINE + SLACK
    body = answer.json()
    assert body["recent_notifications"] is None
    (missing,) = body["unavailable"]
    assert missing["part"] == "recent_notifications"
    assert missing["reason"] == "unreachable" and missing["status"] is None
    assert body["summary"] is not None and body["payments_in_flight"] is not None


@pytest.mark.parametrize("status", [500, 503, 403])
def test_an_error_from_a_query_api_leaves_its_part_out_naming_the_status(
    client: TestClient, stubs: StubQueryApis, status: int
) -> None:
    stubs.trouble["payments"] = status

    answer, _ = timed_overview(client)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["payments_in_flight"] is None
    assert body["unavailable"] == [
        {
            "part": "payments_in_flight",
            "reason": "error-status",
            "status": status,
            "detail": f"answered HTTP {status}",
        }
    ]


def test_a_failing_summary_is_a_part_like_the_others(
    client: TestClient, stubs: StubQueryApis
) -> None:
    stubs.trouble["summary"] = 500

    answer, _ = timed_overview(client)

    assert answer.status_code == 200, answer.text
    assert answer.json()["summary"] is None
    assert [m["part"] for m in answer.json()["unavailable"]] == ["summary"]


@pytest.mark.parametrize("status", [404, 401])
def test_the_summarys_refusal_is_the_overviews_at_once(
    client: TestClient, stubs: StubQueryApis, status: int
) -> None:
    stubs.trouble["summary"] = status
    stubs.trouble["notifications"] = "slow"  # not waited for: the summary decides

    answer, elapsed = timed_overview(client)

    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json() == {
        "type": "/problems/trouble",
        "title": "Trouble",
        "status": status,
        "detail": f"summary says {status}",
        "instance": f"/accounts/{ACCOUNT}/overview",
    }
    assert elapsed < DEADLINE + SLACK  # not after the slow notifications
    assert ("WWW-Authenticate" in answer.headers) == (status == 401)


def test_a_malformed_answer_leaves_its_part_out(
    client: TestClient, stubs: StubQueryApis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(IN_FLIGHT_PAYMENTS, "requested", {"payment_id": "not a payment"})

    answer, _ = timed_overview(client)

    assert answer.status_code == 200, answer.text
    (missing,) = answer.json()["unavailable"]
    assert (missing["part"], missing["reason"]) == ("payments_in_flight", "malformed-answer")


@pytest.mark.parametrize(
    ("path", "headers", "status", "problem"),
    [
        ("/accounts/not-a-uuid/overview", {}, 422, "validation-error"),
        (
            f"/accounts/{ACCOUNT}/overview",
            {"X-Consistency-Token": "nonsense"},
            400,
            "invalid-consistency-token",
        ),
        (
            f"/accounts/{ACCOUNT}/overview",
            {"X-Consistency-Token": "ledger:3"},
            400,
            "unknown-consistency-context",
        ),
        (f"/accounts/{ACCOUNT}/overview", {"Authorization": ""}, 401, "authentication-required"),
        (f"/accounts/{ACCOUNT}/overview", {"Authorization": "Bearer x.y.z"}, 401, "invalid-token"),
    ],
)
def test_a_bad_request_is_refused_before_any_query_api_is_asked(
    client: TestClient,
    stubs: StubQueryApis,
    path: str,
    headers: dict[str, str],
    status: int,
    problem: str,
) -> None:
    answer = client.get(path, headers=headers)

    assert answer.status_code == status, answer.text
    assert answer.json()["type"] == f"/problems/{problem}"
    assert stubs.seen == []


def test_it_is_ready_whatever_its_upstreams_do(issuer: DevIssuer, stubs: StubQueryApis) -> None:
    with overview_client(issuer, stubs, down="account-summary") as client:
        assert client.get("/readyz").status_code == 200
        assert client.get("/healthz").status_code == 200
