"""One refresh of `paystream top`: every service's /readyz and /metrics, read at once."""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from scripts.devstack.status import probe
from scripts.top.samples import Samples, parse

# A service slower than this to answer is shown as it is (down, or without metrics)
# rather than holding up the whole view.
TIMEOUT_SECONDS = 2.0
DOWN = "down"
NO_METRICS = ", no metrics"


@dataclass(frozen=True)
class Scrape:
    """What one service showed at one refresh."""

    service: str
    # `paystream status`'s words ("up", "down" or "not ready: ..."), and ", no metrics"
    # after them when the service answers but not with metrics
    readiness: str
    samples: Samples | None  # None when /metrics answered no metrics
    at: float  # time.monotonic() once /metrics answered


def metrics(url: str, http: httpx.Client) -> Samples | None:
    """The service's /metrics, parsed; None when it does not answer them."""
    try:
        response = http.get(f"{url}/metrics")
        response.raise_for_status()
        return parse(response.text)
    except (httpx.HTTPError, ValueError):
        return None


def scrape(service: str, url: str, http: httpx.Client) -> Scrape:
    readiness = probe(url, http, TIMEOUT_SECONDS)
    samples = None if readiness == DOWN else metrics(url, http)
    if samples is None and readiness != DOWN:
        readiness += NO_METRICS
    return Scrape(service, readiness, samples, time.monotonic())


def client() -> httpx.Client:
    """The one HTTP client of a `top` session: each request bounded by TIMEOUT_SECONDS."""
    return httpx.Client(timeout=TIMEOUT_SECONDS)


def scrape_all(urls: Mapping[str, str], http: httpx.Client) -> list[Scrape]:
    """Every service of `urls` (name: base URL), in their order, read in parallel."""
    with ThreadPoolExecutor(max_workers=max(len(urls), 1)) as pool:
        return list(pool.map(lambda name: scrape(name, urls[name], http), urls))
