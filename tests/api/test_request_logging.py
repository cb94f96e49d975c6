"""Each request is logged once it is answered, and every line logged while it is handled
carries its correlation id (the one it sent, else the one its events are stored with)
and the trace and span ids of its `traceparent`. Probes are not logged."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.service_app import service_app
from tests.support.in_process import stored_events
from tests.support.log_records import paystream_records

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
OPEN = {"owner": "Ada", "currency": "EUR"}


@pytest.fixture
def logged() -> Iterator[list[logging.LogRecord]]:
    with paystream_records() as records:
        yield records


def request_lines(records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    return [record for record in records if record.name == "paystream.requests"]


def failing_app() -> FastAPI:
    app = service_app("failing")

    @app.get("/boom")
    def boom() -> None:
        """Fails with a bug."""
        logging.getLogger("paystream.test").warning("about to fail")
        raise RuntimeError("a bug")

    return app


def test_every_line_of_a_request_carries_the_ids_it_sent(
    accounts: TestClient, logged: list[logging.LogRecord]
) -> None:
    headers = {"X-Correlation-Id": "logs-open-1", "traceparent": TRACEPARENT}
    assert accounts.post("/accounts", json=OPEN, headers=headers).status_code == 201
    (line,) = request_lines(logged)
    assert (line.getMessage(), line.status) == ("POST /accounts 201", 201)  # type: ignore[attr-defined]
    assert {record.correlation_id for record in logged} == {"logs-open-1"}  # type: ignore[attr-defined]
    assert (line.trace_id, line.span_id) == ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")  # type: ignore[attr-defined]


def test_a_request_without_a_correlation_id_logs_the_one_its_events_carry(
    accounts: TestClient, logged: list[logging.LogRecord]
) -> None:
    assert accounts.post("/accounts", json=OPEN).status_code == 201
    (line,) = request_lines(logged)
    stored = stored_events(accounts)[-1]["__meta__"]["correlation_id"]
    assert line.correlation_id == stored  # type: ignore[attr-defined]
    assert line.trace_id is line.span_id is None  # type: ignore[attr-defined]


def test_an_invalid_correlation_id_is_refused_and_not_logged_as_one(
    accounts: TestClient, logged: list[logging.LogRecord]
) -> None:
    headers = {"X-Correlation-Id": "two words"}
    assert accounts.post("/accounts", json=OPEN, headers=headers).status_code == 422
    (line,) = request_lines(logged)
    assert line.status == 422  # type: ignore[attr-defined]
    assert line.correlation_id not in (None, "two words")  # type: ignore[attr-defined]


def test_probes_are_not_logged(accounts: TestClient, logged: list[logging.LogRecord]) -> None:
    assert accounts.get("/healthz").status_code == 200
    assert request_lines(logged) == []


def test_a_request_that_fails_with_a_bug_is_logged_as_a_500_with_its_ids(
    logged: list[logging.LogRecord],
) -> None:
    with TestClient(failing_app(), raise_server_exceptions=False) as client:
        answer = client.get("/boom", headers={"X-Correlation-Id": "logs-boom"})
    assert answer.status_code == 500
    (line,) = request_lines(logged)
    assert (line.getMessage(), line.status) == ("GET /boom 500", 500)  # type: ignore[attr-defined]
    assert {record.correlation_id for record in logged} == {"logs-boom"}  # type: ignore[attr-defined]
