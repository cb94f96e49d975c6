"""Per service, what changed between two refreshes: requests and 5xx answers per second,
and the median and 99th percentile of their latency, from the HTTP metrics every service
serves. The scrapes themselves (/metrics, /readyz, /healthz) are left out."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from scripts.top.samples import Samples, increase, quantile, series
from scripts.top.scrape import Scrape

REQUESTS = "paystream_http_requests_total"
DURATION_BUCKETS = "paystream_http_request_duration_seconds_bucket"
PROBE_ROUTES = frozenset({"/metrics", "/readyz", "/healthz"})


@dataclass(frozen=True)
class ServiceRow:
    """One service as shown: its readiness, and its traffic since the previous refresh
    (None until there are two scrapes of its metrics)."""

    name: str
    readiness: str
    requests_per_second: float | None = None
    errors_per_second: float | None = None
    p50_seconds: float | None = None
    p99_seconds: float | None = None


def grown(before: Samples, after: Samples, name: str) -> list[tuple[dict[str, str], float]]:
    """Each series of `name` outside the probe routes, with how much it grew."""
    return [
        (labels, increase(before.get((name, frozenset(labels.items()))), value))
        for labels, value in series(after, name)
        if labels.get("route") not in PROBE_ROUTES
    ]


def bucket_counts(grown_buckets: list[tuple[dict[str, str], float]]) -> dict[float, float]:
    """The buckets of every series added up, by upper bound."""
    counts: dict[float, float] = defaultdict(float)
    for labels, count in grown_buckets:
        counts[float(labels["le"])] += count
    return dict(counts)


def service_row(before: Scrape | None, after: Scrape) -> ServiceRow:
    """The service as `after` shows it, its rates over the time since `before`."""
    if before is None or before.samples is None or after.samples is None:
        return ServiceRow(after.service, after.readiness)
    seconds = after.at - before.at
    if seconds <= 0:
        return ServiceRow(after.service, after.readiness)
    requests = grown(before.samples, after.samples, REQUESTS)
    errors = sum(count for labels, count in requests if labels["status"].startswith("5"))
    buckets = bucket_counts(grown(before.samples, after.samples, DURATION_BUCKETS))
    return ServiceRow(
        after.service,
        after.readiness,
        sum(count for _, count in requests) / seconds,
        errors / seconds,
        quantile(0.5, buckets),
        quantile(0.99, buckets),
    )
