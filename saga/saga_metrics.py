"""What the payment saga does, as Prometheus metrics: steps by kind and outcome, retried
calls, the accounts API's circuit breaker, payments in flight and overdue, and how long a
payment took from its request to its end."""

from __future__ import annotations

from collections.abc import Callable

from eventstore.metrics_switch import Counter, Gauge, Histogram

# What became of a step: done, refused by the accounts API (the payment fails or is
# refunded), or not carried out now (the accounts API unavailable; tried again later).
DONE, REFUSED, UNAVAILABLE = "done", "refused", "unavailable"
BREAKER_STATES = ("closed", "half_open", "open")

STEPS = Counter(
    "paystream_saga_steps_total",
    "Payment steps the saga carried out, by step (debit, credit, refund, complete) and"
    " outcome (done, refused, unavailable).",
    ["step", "outcome"],
)
RETRIES = Counter(
    "paystream_saga_step_retries_total",
    "Calls to the accounts API tried again after a retryable failure, by step.",
    ["step"],
)
BREAKER_STATE = Gauge(
    "paystream_saga_circuit_breaker_state",
    "1 for the state the circuit breaker in front of an upstream is in (closed, half_open,"
    " open), 0 for the others.",
    ["upstream", "state"],
)
IN_FLIGHT = Gauge(
    "paystream_saga_payments_in_flight",
    "Payments the saga has heard of and not yet seen finished.",
)
OVERDUE = Gauge(
    "paystream_saga_payments_overdue",
    "Payments in flight past their deadline at least once (driven again by the sweeper).",
)
PAYMENT_DURATION = Histogram(
    "paystream_saga_payment_duration_seconds",
    "From a payment's request to its last event, for payments the saga finished, by"
    " outcome (completed, failed).",
    ["outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)


def step_carried_out(step: str, outcome: str) -> None:
    STEPS.labels(step, outcome).inc()


def step_retried(step: str) -> None:
    RETRIES.labels(step).inc()


def watch_breaker(upstream: str, state: Callable[[], str]) -> None:
    """Show the state `state()` names (a circuitbreaker state) at every scrape."""

    def is_in(name: str) -> Callable[[], float]:
        def current() -> float:
            return float(state() == name)

        return current

    for name in BREAKER_STATES:
        BREAKER_STATE.labels(upstream, name).set_function(is_in(name))


def payments_pending(in_flight: int, overdue: int) -> None:
    IN_FLIGHT.set(in_flight)
    OVERDUE.set(overdue)


def payment_finished(outcome: str, seconds: float) -> None:
    PAYMENT_DURATION.labels(outcome).observe(seconds)
