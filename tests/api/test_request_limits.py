"""Every API's door: bodies over the limit answer 413 (judged from Content-Length, or while
a body without one streams in, never after reading it whole), bodies that are not JSON
answer 415; both as problem+json, and nothing is stored."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Message

from api.health import worker_app
from api.query_app import create_query_app
from api.query_registry import QUERY_APIS
from api.request_limits import MAX_BODY_BYTES
from identity.verifier import TokenVerifier
from tests.support.accounts_client import assert_problem
from tests.support.in_process import event_count

OWNER_JSON = b'{"owner": "Ada", "currency": "EUR"}'
UNREACHABLE_DB = "host=127.0.0.1 port=1 dbname=none connect_timeout=1"


def padded_body(size: int) -> bytes:
    """A JSON body of exactly `size` bytes that opens an account if it is let in."""
    padding = size - len(OWNER_JSON)
    return OWNER_JSON[:-1] + b" " * padding + b"}"


def test_a_body_over_the_limit_is_refused_from_its_content_length(accounts: TestClient) -> None:
    before = event_count(accounts)
    response = accounts.post(
        "/accounts",
        content=padded_body(MAX_BODY_BYTES + 1),
        headers={"Content-Type": "application/json"},
    )
    problem = assert_problem(response, 413, "body-too-large")
    assert str(MAX_BODY_BYTES) in problem["detail"]
    assert event_count(accounts) == before


def test_a_body_at_the_limit_is_accepted(accounts: TestClient) -> None:
    response = accounts.post(
        "/accounts",
        content=padded_body(MAX_BODY_BYTES),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text


class StreamedBody:
    """An endless chunked body of JSON whitespace, counting the chunks the app pulled."""

    def __init__(self, chunk: int) -> None:
        self.chunk = chunk
        self.pulled = 0
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        self.pulled += 1
        body = b"{" if self.pulled == 1 else b" " * self.chunk
        return {"type": "http.request", "body": body, "more_body": True}

    async def send(self, message: Message) -> None:
        self.sent.append(message)


def stream_into(app: Any, stream: StreamedBody, path: str) -> None:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")],
        "client": ("127.0.0.1", 1),
        "server": ("api", 80),
        "state": {},
    }
    anyio.run(app, scope, stream.receive, stream.send)


def test_a_streamed_body_is_refused_as_soon_as_it_passes_the_limit(accounts: TestClient) -> None:
    before = event_count(accounts)
    stream = StreamedBody(chunk=4096)

    stream_into(accounts.app, stream, "/accounts")

    start, body = stream.sent[0], stream.sent[1]
    assert start["status"] == 413
    assert b"/problems/body-too-large" in body["body"]
    assert stream.pulled <= MAX_BODY_BYTES // 4096 + 2  # never read on past the limit
    assert event_count(accounts) == before


NOT_JSON = {
    "text": "text/plain",
    "form": "application/x-www-form-urlencoded",
    "multipart": "multipart/form-data; boundary=x",
    "xml": "application/xml",
    "json-in-latin-1": "application/json; charset=latin-1",
    "json-with-parameter": "application/json; profile=x",
    "json-prefixed": "application/jsonp",
    "missing": "",
}


@pytest.mark.parametrize("content_type", NOT_JSON.values(), ids=NOT_JSON.keys())
def test_a_body_that_is_not_declared_json_is_refused(
    accounts: TestClient, content_type: str
) -> None:
    before = event_count(accounts)
    headers = {"Content-Type": content_type} if content_type else {}
    response = accounts.post("/accounts", content=OWNER_JSON, headers=headers)
    assert_problem(response, 415, "unsupported-media-type")
    assert event_count(accounts) == before


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "Application/JSON",
        "application/json; charset=utf-8",
        'application/json;charset="UTF-8"',
    ],
)
def test_json_is_accepted_with_or_without_a_utf8_charset(
    accounts: TestClient, content_type: str
) -> None:
    response = accounts.post(
        "/accounts", content=OWNER_JSON, headers={"Content-Type": content_type}
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("path", ["/freeze", "/unfreeze"])
def test_a_command_without_a_body_needs_no_content_type(
    accounts: TestClient, operator_headers: dict[str, str], path: str
) -> None:
    account = accounts.post(
        "/accounts", content=OWNER_JSON, headers={"Content-Type": "application/json"}
    )
    url = f"/accounts/{account.json()['account_id']}{path}"
    response = accounts.post(url, headers=operator_headers)
    assert response.status_code in (200, 409), response.text


def query_app() -> FastAPI:
    """A query API; its lifespan (the database pool) never runs: the door needs no database."""
    verifier = TokenVerifier.from_settings()  # never asked: the door refuses first
    return create_query_app(QUERY_APIS["account-summary"], UNREACHABLE_DB, verifier)


async def nothing_missing() -> list[str]:
    return []


def workers_app() -> FastAPI:
    return worker_app("worker", nothing_missing, lambda: {"ok": True})


@pytest.fixture(params=["query-api", "worker"])
def read_only_app(request: pytest.FixtureRequest) -> Iterator[TestClient]:
    app = query_app() if request.param == "query-api" else workers_app()
    yield TestClient(app, raise_server_exceptions=False)


def test_a_read_only_api_refuses_an_oversized_body_too(read_only_app: TestClient) -> None:
    response = read_only_app.request(
        "GET",
        "/healthz",
        content=b" " * (MAX_BODY_BYTES + 1),
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 413, "body-too-large")


def test_a_read_only_api_refuses_a_body_that_is_not_json(read_only_app: TestClient) -> None:
    response = read_only_app.request(
        "GET", "/healthz", content=b"x", headers={"Content-Type": "text/plain"}
    )
    assert_problem(response, 415, "unsupported-media-type")
    assert read_only_app.get("/healthz").status_code == 200


def test_the_payments_api_has_the_same_door(payments: TestClient) -> None:
    before = event_count(payments)
    oversized = payments.post(
        "/payments",
        content=b" " * (MAX_BODY_BYTES + 1),
        headers={"Content-Type": "application/json"},
    )
    assert_problem(oversized, 413, "body-too-large")
    wrong_type = payments.post("/payments", content=b"{}", headers={"Content-Type": "text/csv"})
    assert_problem(wrong_type, 415, "unsupported-media-type")
    assert event_count(payments) == before
