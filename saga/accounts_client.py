"""Carrying a saga step out against the accounts command API, resiliently.

Timeouts on every call; retries with exponential backoff and jitter (stamina) on
failures that are safe to retry (every step is idempotent by its key); a circuit
breaker (circuitbreaker) that stops calling a failing accounts API for a while.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
import stamina
from circuitbreaker import CircuitBreaker, CircuitBreakerError

from domains.payments.aggregates import Payment
from domains.payments.saga import Action, Step
from saga import saga_metrics

CALL_TIMEOUT_SECONDS = 5.0
RETRY_ATTEMPTS = 4
RETRY_TIMEOUT_SECONDS = 15.0
BREAKER_FAILURES = 5
BREAKER_RECOVERY_SECONDS = 3.0
# Calls at once, each on a kept-alive connection (httpx keeps 20 alive of up to 100, and
# opens and closes the others call after call). Measured: with 128 (one per payment the
# saga may have in flight) most of the saga's CPU went to httpcore scanning its pool on
# every request. The other payments in flight wait their turn outside httpx, so the
# call timeout counts from the call, not from the wait.
MAX_CONNECTIONS = 16

_PATHS = {
    Action.DEBIT_SOURCE: "debits",
    Action.CREDIT_DESTINATION: "credits",
    Action.REFUND_SOURCE: "refunds",
}
# 401 and 403 too: a token the accounts API does not take (a key rotated, the saga's
# client misconfigured) must hold the payment until it is fixed, never fail it.
_RETRYABLE_STATUS = frozenset({401, 403, 408, 429, 500, 502, 503, 504})
_RETRYABLE_TYPES = frozenset({"/problems/concurrent-modification"})


@dataclass(frozen=True)
class Outcome:
    """What the accounts API said: done (with the id `accounts:<position>` of the event
    it stored), or refused with a stable reason code."""

    done: bool
    reason: str = ""
    event: str | None = None


@dataclass(frozen=True)
class Cause:
    """Why the saga acts: the payment's correlation id and the event that caused the step."""

    correlation_id: str
    causation_id: str


class AccountsUnavailable(Exception):
    """The step could not be carried out now; try again later (it is idempotent)."""


class _Retryable(Exception):
    pass


class AccountsClient:
    """Debits, credits and refunds on the accounts command API."""

    def __init__(
        self,
        base_url: str,
        auth: httpx.Auth,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """`auth` gives each call the saga's token; `transport` replaces the network (the
        contract tests call the app in-process)."""
        self.http = httpx.AsyncClient(
            base_url=base_url,
            timeout=CALL_TIMEOUT_SECONDS,
            auth=auth,
            transport=transport,
            limits=httpx.Limits(
                max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS
            ),
        )
        self.breaker = CircuitBreaker(
            failure_threshold=BREAKER_FAILURES,
            recovery_timeout=BREAKER_RECOVERY_SECONDS,
            expected_exception=_Retryable,
            name="accounts-api",
        )
        saga_metrics.watch_breaker("accounts-api", lambda: str(self.breaker.state))
        self.calls = asyncio.Semaphore(MAX_CONNECTIONS)

    async def close(self) -> None:
        await self.http.aclose()

    async def perform(self, step: Step, payment: Payment, cause: Cause) -> Outcome:
        """Carry out `step`; raise AccountsUnavailable when it cannot be done now."""
        try:
            async for attempt in stamina.retry_context(
                on=_Retryable,
                attempts=RETRY_ATTEMPTS,
                timeout=RETRY_TIMEOUT_SECONDS,
                wait_initial=0.1,
                wait_max=2.0,
                wait_jitter=0.5,
            ):
                if attempt.num > 1:
                    saga_metrics.step_retried(step.action.value)
                with attempt:
                    outcome: Outcome = await self.breaker.call_async(
                        self._call, step, payment, cause
                    )
                    return outcome
        except _Retryable as error:
            raise AccountsUnavailable(str(error)) from None
        except CircuitBreakerError as error:
            raise AccountsUnavailable(str(error)) from None
        raise AssertionError("unreachable")

    async def _call(self, step: Step, payment: Payment, cause: Cause) -> Outcome:
        body = {
            "amount": payment.amount,
            "currency": payment.currency,
            "payment_id": str(payment.id),
            "counterparty": step.counterparty,
            "reference": payment.reference,
        }
        try:
            async with self.calls:
                response = await self.http.post(
                    f"/accounts/{step.account_id}/{_PATHS[step.action]}",
                    json=body,
                    headers={
                        "Idempotency-Key": step.key,
                        "X-Correlation-Id": cause.correlation_id,
                        "X-Causation-Id": cause.causation_id,
                    },
                )
        except httpx.HTTPError as error:
            raise _Retryable(f"{type(error).__name__}: {error}") from None
        if response.is_success:
            return Outcome(done=True, event=response.headers.get("X-Consistency-Token"))
        problem_type = _problem_type(response)
        if response.status_code in _RETRYABLE_STATUS or problem_type in _RETRYABLE_TYPES:
            raise _Retryable(f"HTTP {response.status_code} {problem_type}")
        return Outcome(done=False, reason=problem_type.rsplit("/", 1)[-1] or "refused")


def _problem_type(response: httpx.Response) -> str:
    try:
        return str(response.json().get("type", ""))
    except ValueError:
        return ""
