"""`paystream audit trace` of a payment that failed on the running system: every event
it caused, linked to its cause."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import httpx
import orjson
import pytest

from domains.payments.application import PaymentsService
from eventstore.contexts import PAYMENTS, application_env
from tests.support.cli import paystream
from tests.support.stack import Stack, wait_until

pytestmark = pytest.mark.e2e


def failed_payment(stack: Stack, correlation_id: str) -> str:
    """Pay from a funded account into a frozen one; the payment id, once it has failed."""
    auth = stack.auth("alice")
    with httpx.Client(base_url=stack.url_of("accounts-api"), timeout=30, headers=auth) as http:
        alice, bob = (
            http.post("/accounts", json={"owner": owner, "currency": "EUR"}).json()["account_id"]
            for owner in ("Alice", "Bob")
        )
        assert http.post(f"/accounts/{alice}/deposits", json={"amount": 5_000}).is_success
        token = http.post(f"/accounts/{bob}/freeze").json()["consistency_token"]
    payments_api = stack.url("payments-api")
    body = {"source": alice, "destination": bob, "amount": 700, "currency": "EUR"}
    headers = {"X-Correlation-Id": correlation_id, "X-Consistency-Token": token, **auth}
    answer = httpx.post(f"{payments_api}/payments", json=body, headers=headers, timeout=30)
    assert answer.status_code == 202, answer.text
    payment_id = str(answer.json()["payment_id"])
    service = PaymentsService(env=application_env(PAYMENTS, stack.db, pool_size=1))
    try:
        wait_until(
            lambda: service.get_payment(UUID(payment_id)).status == "failed",
            60,
            "the payment to fail",
        )
    finally:
        service.close()
    return payment_id


def chain(tree: list[dict[str, Any]]) -> list[list[str]]:
    """The tree as levels of event types (each level: the children of the previous one)."""
    levels, current = [], tree
    while current:
        levels.append(sorted(node["type"] for node in current))
        current = [child for node in current for child in node["children"]]
    return levels


def test_trace_of_a_failed_payment_links_each_step_to_its_cause(stack: Stack) -> None:
    correlation_id = f"audit-trace-{uuid4()}"
    payment_id = failed_payment(stack, correlation_id)

    traced = paystream(stack.database_url, "audit", "trace", correlation_id, "--json")
    assert traced.returncode == 0, traced.output
    tree = orjson.loads(traced.stdout)

    assert len(tree) == 1  # one request, one root
    assert chain(tree) == [
        ["PaymentRequested.v1"],
        ["AccountDebited.v1"],
        ["PaymentSourceDebited.v1"],
        ["PaymentCreditRefused.v1"],
        ["AccountDebitRefunded.v1"],
        ["PaymentFailed.v1", "PaymentSourceRefunded.v1"],
    ]
    root = tree[0]
    assert str(root["aggregate_id"]) == payment_id and root["actor"] == "alice"
    stack_of = [(root, child) for child in root["children"]]
    while stack_of:
        parent, node = stack_of.pop()
        assert node["causation_id"] == parent["event_id"]
        assert node["actor"] == "saga"
        stack_of += [(node, child) for child in node["children"]]

    text = paystream(stack.database_url, "audit", "trace", correlation_id)
    assert text.returncode == 0 and "PaymentCreditRefused.v1" in text.stdout
