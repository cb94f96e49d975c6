"""Refusals only a real server shows: bodies over the socket, headers as sent, text bodies,
and a UTF-8 actor stored as sent. The refusal table runs in process:
tests/api/test_account_bad_input.py."""

from __future__ import annotations

import socket

import httpx
import pytest

from api.consistency import HEADER as TOKEN_HEADER
from api.request_limits import MAX_BODY_BYTES
from eventstore.contexts import ACCOUNTS
from tests.e2e.conftest import TIMEOUT_SECONDS
from tests.support.accounts_client import assert_problem
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e
ADA = {"owner": "Ada", "currency": "EUR"}


def raw_exchange(url: str, request: bytes, chunks: list[bytes]) -> bytes:
    """Send `request` (head and body start) and then `chunks` over a socket as long as
    the server reads; what the server answered (it may answer before the body is in)."""
    host, port = httpx.URL(url).host, httpx.URL(url).port
    with socket.create_connection((host, port), timeout=TIMEOUT_SECONDS) as conn:
        conn.sendall(request)
        try:
            for chunk in chunks:
                conn.sendall(chunk)
            conn.shutdown(socket.SHUT_WR)
        except OSError:  # the server answered and closed: it read no further
            pass
        answer = b""
        while data := conn.recv(65536):
            answer += data
    return answer


def head(length_header: bytes) -> bytes:
    return (
        b"POST /accounts HTTP/1.1\r\nHost: paystream\r\nContent-Type: application/json\r\n"
        + length_header
        + b"Connection: close\r\n\r\n"
    )


def test_a_huge_declared_body_is_refused_before_it_is_sent(
    services: dict[str, str], stack: Stack
) -> None:
    before = stack.event_count(ACCOUNTS)
    request = head(b"Content-Length: 20000000\r\n") + b'{"owner": "Ada", '

    answer = raw_exchange(services["accounts-api"], request, [])

    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"/problems/body-too-large" in answer
    assert stack.event_count(ACCOUNTS) == before


def test_a_chunked_body_is_refused_once_it_passes_the_limit(
    services: dict[str, str], stack: Stack
) -> None:
    before = stack.event_count(ACCOUNTS)
    chunk = b" " * 4096
    framed = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    # Just past the limit and never finished (no last chunk): a 413 can only come from
    # judging the body as it streams; sending no more than that avoids a reset that
    # could swallow the answer.
    endless = [b"1\r\n{\r\n", *[framed] * (MAX_BODY_BYTES // len(chunk) + 1)]

    answer = raw_exchange(
        services["accounts-api"], head(b"Transfer-Encoding: chunked\r\n"), endless
    )

    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"/problems/body-too-large" in answer
    assert stack.event_count(ACCOUNTS) == before


@pytest.mark.parametrize(
    ("name", "value", "detail"),
    [
        (b"X-Causation-Id", b"whatever", "X-Causation-Id must name an event"),
        (b"X-Correlation-Id", b"two words", "X-Correlation-Id must be"),
        (b"traceparent", b"00-xyz", "traceparent must be W3C trace context"),
    ],
    ids=["causation", "correlation", "traceparent"],
)
def test_a_bad_metadata_header_is_refused_over_http(
    commands: httpx.Client, stack: Stack, name: bytes, value: bytes, detail: str
) -> None:
    before = stack.event_count(ACCOUNTS)
    response = commands.post("/accounts", json=ADA, headers=[(name, value)])
    problem = assert_problem(response, 422, "invalid-header")
    assert problem["detail"].startswith(detail), problem
    assert stack.event_count(ACCOUNTS) == before


def test_a_text_body_is_refused_as_unsupported(commands: httpx.Client, stack: Stack) -> None:
    before = stack.event_count(ACCOUNTS)
    response = commands.post(
        "/accounts", content=b'{"owner": "Ada"}', headers={"Content-Type": "text/plain"}
    )
    assert_problem(response, 415, "unsupported-media-type")
    assert stack.event_count(ACCOUNTS) == before


def test_the_actor_is_the_tokens_utf8_subject_never_a_header_and_no_projector_halted(
    commands: httpx.Client, queries: httpx.Client, stack: Stack
) -> None:
    """Last in this module: after every refusal above, the read side still follows."""
    headers = {"X-Actor": "mallory", **stack.auth("José")}
    response = commands.post("/accounts", json=ADA, headers=headers)
    assert response.status_code == 201, response.text
    position = int(response.json()["consistency_token"].split(":")[1])
    with stack.admin() as conn:
        row = conn.execute(
            "SELECT convert_from(state, 'UTF8')::jsonb -> '__meta__' ->> 'actor'"
            " FROM accounts.accounts_events WHERE notification_id = %s",
            (position,),
        ).fetchone()
    assert row is not None and row[0] == "José"
    summary = queries.get(
        f"/accounts/{response.json()['account_id']}",
        headers={TOKEN_HEADER: response.headers[TOKEN_HEADER], **stack.auth("José")},
    )
    assert summary.status_code == 200, summary.text
    assert (summary.json()["owner"], summary.json()["holder"]) == ("Ada", "José")
