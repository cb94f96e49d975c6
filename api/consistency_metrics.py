"""Consistency-token waits of the query APIs, as Prometheus metrics: how long a request
waited for its read models to reach its token, and how many gave up with a 503.
Labelled by query API (its name)."""

from __future__ import annotations

from eventstore.metrics_switch import Counter, Histogram

WAIT = Histogram(
    "paystream_consistency_wait_seconds",
    "Time a request with X-Consistency-Token waited for its read models (timeouts included).",
    ["api"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
TIMEOUTS = Counter(
    "paystream_consistency_timeouts_total",
    "Requests answered 503 because their read models did not reach the token in time.",
    ["api"],
)


def waited(api: str, seconds: float, *, timed_out: bool) -> None:
    WAIT.labels(api).observe(seconds)
    if timed_out:
        TIMEOUTS.labels(api).inc()
