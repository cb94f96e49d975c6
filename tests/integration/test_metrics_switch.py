"""PAYSTREAM_METRICS=off on a service started as the stacks start it (`paystream serve`
as its own process): no /metrics (404), and it still serves commands."""

from __future__ import annotations

import httpx
import pytest

from tests.support.stack import Stack

pytestmark = pytest.mark.integration


def test_a_service_started_with_metrics_off_has_no_metrics_and_serves_commands(
    stack: Stack,
) -> None:
    stack.extra_env["PAYSTREAM_METRICS"] = "off"
    accounts = stack.start("accounts-api")

    with httpx.Client(base_url=accounts.url, headers=stack.auth("nemo"), timeout=10) as http:
        assert http.get("/metrics").status_code == 404
        opened = http.post("/accounts", json={"owner": "Nemo", "currency": "EUR"})
        assert opened.status_code == 201, opened.text
        deposit = f"/accounts/{opened.json()['account_id']}/deposits"
        assert http.post(deposit, json={"amount": 5}).status_code == 200
