"""The saga measured, in process against the real accounts app: a step the app keeps
refusing for a retryable reason (here the saga's token) counts its retries, the failures
open the circuit breaker, and the step is counted unavailable."""

from __future__ import annotations

from uuid import uuid4

import anyio
import httpx
import pytest
import stamina
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from domains.payments.aggregates import Payment
from domains.payments.application import PaymentsService
from domains.payments.saga import Action, Step
from saga.accounts_client import (
    BREAKER_FAILURES,
    RETRY_ATTEMPTS,
    AccountsClient,
    AccountsUnavailable,
    Cause,
)
from saga.saga_metrics import BREAKER_STATES
from saga.worker import PaymentSaga
from tests.api.conftest import IN_MEMORY
from tests.support.issuer import Bearer

RETRIES = "paystream_saga_step_retries_total"
BREAKER = "paystream_saga_circuit_breaker_state"
STEPS = "paystream_saga_steps_total"


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


def test_a_step_the_accounts_api_cannot_take_now_counts_as_unavailable(
    accounts: TestClient,
) -> None:
    """The saga's own step loop, on the in-memory store: the debit cannot be carried out
    (the saga's token is refused), so it is counted unavailable and the payment waits."""
    service = PaymentsService(env=IN_MEMORY)
    source, destination = str(uuid4()), str(uuid4())
    payment_id = service.request_payment(source, destination, 5, "EUR", "").payment_id
    transport = httpx.ASGITransport(app=accounts.app)
    client = AccountsClient("http://accounts", Bearer("not-a-token"), transport=transport)
    saga = PaymentSaga(service, client, conninfo="", nats_url="")
    unavailable = {"step": "debit", "outcome": "unavailable"}
    before = REGISTRY.get_sample_value(STEPS, unavailable) or 0.0

    with stamina.set_testing(True), pytest.raises(AccountsUnavailable):
        anyio.run(saga.advance, payment_id)

    assert REGISTRY.get_sample_value(STEPS, unavailable) == before + 1
    assert service.get_payment(payment_id).status == "requested"
