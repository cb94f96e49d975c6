"""Every service logs JSON lines, and the lines a request causes, in every service it
reaches (the payments API's account lookups and the saga's steps at the accounts API
included), carry its correlation id."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from api.consistency import HEADER as TOKEN_HEADER
from tests.support.log_records import FIELDS, json_lines
from tests.support.payments_workload import payments_in_flight
from tests.support.stack import SPECS, Stack, wait_until

pytestmark = pytest.mark.e2e
TRACEPARENT = "00-5bf92f3577b34da6a3ce929d0e0e4736-10f067aa0ba902b7-01"
OPEN = {"owner": "Ada", "currency": "EUR"}


@dataclass(frozen=True)
class Run:
    """What a short run made: two accounts (one funded) and a payment between them."""

    source: str
    destination: str
    payment: str


def correlated(correlation_id: str, **headers: str) -> dict[str, str]:
    return {"X-Correlation-Id": correlation_id, **headers}


def every_line(stack: Stack) -> list[dict[str, Any]]:
    return json_lines(*sorted((stack.work_dir / "logs").glob("*.log")))


def requests_logged(stack: Stack) -> dict[str, list[tuple[str, str]]]:
    """(service, message) of each request line, by its correlation id."""
    logged: dict[str, list[tuple[str, str]]] = {}
    for line in every_line(stack):
        if line["logger"] == "paystream.requests":
            logged.setdefault(line["correlation_id"], []).append((line["service"], line["message"]))
    return logged


@pytest.fixture(scope="module")
def run(stack: Stack, commands: httpx.Client, services: dict[str, str]) -> Run:
    """Each request with a correlation id of its own (`logs-<what it does>`)."""
    opened = [
        commands.post("/accounts", json=OPEN, headers=correlated(f"logs-open-{n}")) for n in (1, 2)
    ]
    source, destination = (answer.json()["account_id"] for answer in opened)
    deposit = commands.post(
        f"/accounts/{source}/deposits", json={"amount": 50}, headers=correlated("logs-deposit")
    )
    assert deposit.status_code == 200, deposit.text
    body = {"source": source, "destination": destination, "amount": 20, "currency": "EUR"}
    headers = correlated(
        "logs-payment", traceparent=TRACEPARENT, **{TOKEN_HEADER: deposit.headers[TOKEN_HEADER]}
    )
    paid = httpx.post(
        f"{services['payments-api']}/payments",
        json=body,
        headers={**commands.headers, **headers},
        timeout=30,
    )
    assert paid.status_code == 202, paid.text
    wait_until(lambda: payments_in_flight(stack) == 0, 60, "the payment to end")
    return Run(source, destination, paid.json()["payment_id"])


def test_every_line_is_one_json_object_of_a_known_service(stack: Stack, run: Run) -> None:
    names = set(SPECS)  # every service the running system may start, bench-hello too
    lines = every_line(stack)
    assert lines
    for line in lines:
        assert line.keys() >= FIELDS, line
        assert line["service"] in names, line


def test_each_request_is_logged_with_the_correlation_id_it_sent(stack: Stack, run: Run) -> None:
    expected = {
        "logs-open-1": [("accounts-api", "POST /accounts 201")],
        "logs-open-2": [("accounts-api", "POST /accounts 201")],
        "logs-deposit": [("accounts-api", f"POST /accounts/{run.source}/deposits 200")],
    }
    wait_until(
        lambda: all(requests_logged(stack).get(c) == lines for c, lines in expected.items()),
        30,
        f"the request lines {expected}",
    )


def test_a_payments_lines_in_every_service_carry_its_correlation_id(stack: Stack, run: Run) -> None:
    """The payments API's, the account summary's for its lookups of the two accounts,
    and the accounts API's for the saga's steps."""
    expected = {
        ("payments-api", "POST /payments 202"),
        ("account-summary-query-api", f"GET /accounts/{run.source} 200"),
        ("account-summary-query-api", f"GET /accounts/{run.destination} 200"),
        ("accounts-api", f"POST /accounts/{run.source}/debits 200"),
        ("accounts-api", f"POST /accounts/{run.destination}/credits 200"),
    }
    wait_until(
        lambda: set(requests_logged(stack).get("logs-payment", [])) >= expected,
        30,
        f"the payment's request lines {expected}",
    )
    at_the_door = {
        (line["trace_id"], line["span_id"])
        for line in every_line(stack)
        if line["service"] == "payments-api" and line["correlation_id"] == "logs-payment"
    }
    # The caller's trace; the span is the payments API's own (the session is traced: a
    # line logged inside a span carries that span's id), else the caller's.
    assert {trace_id for trace_id, _ in at_the_door} == {TRACEPARENT[3:35]}
    assert all(re.fullmatch("[0-9a-f]{16}", span_id) for _, span_id in at_the_door)


def test_every_line_about_the_runs_accounts_carries_the_id_of_its_request(
    stack: Stack, run: Run
) -> None:
    ours = {"logs-open-1", "logs-open-2", "logs-deposit", "logs-payment"}
    about_the_run = [
        line
        for line in every_line(stack)
        if run.source in line["message"] or run.destination in line["message"]
    ]
    assert about_the_run
    assert {line["correlation_id"] for line in about_the_run} <= ours
