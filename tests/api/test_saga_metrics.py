"""The saga's client measured, in process against the real accounts app: a step the app
keeps refusing for a retryable reason (here the saga's token) counts its retries, and the
failures open the circuit breaker, which /metrics shows."""

from __future__ import annotations

import anyio
import httpx
import pytest
import stamina
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from domains.payments.aggregates import Payment
from domains.payments.saga import Action, Step
from saga.accounts_client import (
    BREAKER_FAILURES,
    RETRY_ATTEMPTS,
    AccountsClient,
    AccountsUnavailable,
    Cause,
)
from saga.saga_metrics import BREAKER_STATES
from tests.support.issuer import Bearer

RETRIES = "paystream_saga_step_retries_total"
BREAKER = "paystream_saga_circuit_breaker_state"


def retries() -> float:
    return REGISTRY.get_sample_value(RETRIES, {"step": "debit"}) or 0.0


def breaker_states() -> dict[str, float | None]:
    labels = {"upstream": "accounts-api"}
    return {s: REGISTRY.get_sample_value(BREAKER, {**labels, "state": s}) for s in BREAKER_STATES}


def test_refused_calls_count_retries_and_open_the_breaker(accounts: TestClient) -> None:
    payment = Payment.request(
        "3f2c1f0e-1111-4a4a-8b8b-123456789abc", "3f2c1f0e-2222-4a4a-8b8b-123456789abc", 5, "EUR", ""
    )
    step = Step(Action.DEBIT_SOURCE, payment.source, payment.destination, f"{payment.id}:debit")
    before = retries()

    async def twice() -> None:
        transport = httpx.ASGITransport(app=accounts.app)
        client = AccountsClient("http://accounts", Bearer("not-a-token"), transport=transport)
        assert breaker_states()["closed"] == 1.0
        for _ in range(2):
            with pytest.raises(AccountsUnavailable):
                await client.perform(step, payment, Cause("metrics-test", "payments:1"))
        await client.close()

    with stamina.set_testing(True, attempts=RETRY_ATTEMPTS):
        anyio.run(twice)

    # Every attempt of the first call was refused (401); the second opened the breaker.
    assert retries() >= before + RETRY_ATTEMPTS - 1
    assert RETRY_ATTEMPTS < BREAKER_FAILURES <= 2 * RETRY_ATTEMPTS
    assert breaker_states() == {"closed": 0.0, "half_open": 0.0, "open": 1.0}
