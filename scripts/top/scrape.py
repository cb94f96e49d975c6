"""One refresh of `paystream top`: every target's readiness and metrics, read at once
with one HTTP client."""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from scripts.devstack.layout import DOWN, Target, readiness
from scripts.top.samples import Samples, parse

# A service slower than this to answer is shown as it is (down, or without metrics)
# rather than holding up the whole view.
TIMEOUT_SECONDS = 2.0
NO_METRICS = ", no metrics"


@dataclass(frozen=True)
class Scrape:
    """What one service showed at one refresh."""

    service: str
    # `paystream status`'s words ("up", "down" or "not ready: ..."), and ", no metrics"
    # after them when the service answers but not with metrics
    readiness: str
    samples: Samples | None  # None when it showed no metrics
    at: float  # time.monotonic() once its metrics answered


def client() -> httpx.Client:
    """The one HTTP client of a `top` session: each request bounded by TIMEOUT_SECONDS."""
    return httpx.Client(timeout=TIMEOUT_SECONDS)


def metrics(http: httpx.Client, metrics_url: str) -> Samples | None:
    """The target's metrics, parsed; None when it does not answer them."""
    try:
        response = http.get(metrics_url)
        response.raise_for_status()
        return parse(response.text)
    except (httpx.HTTPError, ValueError):
        return None


def scrape(http: httpx.Client, target: Target) -> Scrape:
    shown = readiness(http, target.ready_url)
    if shown == DOWN or target.metrics_url is None:
        return Scrape(target.name, shown, None, time.monotonic())
    samples = metrics(http, target.metrics_url)
    return Scrape(target.name, shown + ("" if samples else NO_METRICS), samples, time.monotonic())


def scrape_all(targets: Sequence[Target], http: httpx.Client) -> list[Scrape]:
    """Every target, in their order, read in parallel."""
    with ThreadPoolExecutor(max_workers=max(len(targets), 1)) as pool:
        return list(pool.map(lambda target: scrape(http, target), targets))
