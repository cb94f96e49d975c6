"""Reading a service's /metrics as Prometheus would: every sample by name and labels."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of an exposition, keyed by its name and its labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(http: httpx.Client, path: str = "/metrics") -> Samples:
    """GET /metrics with `http` (an httpx client or a TestClient) and parse it, checking its
    content type."""
    response = http.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain"), response.headers
    return parse(response.text)


def scrape_url(url: str) -> Samples:
    with httpx.Client(base_url=url, timeout=10) as http:
        return scrape(http)


def value(samples: Samples, name: str, labels: Mapping[str, str] | None = None) -> float:
    """The sample's value (0 when the service has not shown it yet)."""
    return samples.get((name, frozenset((labels or {}).items())), 0.0)


def names(samples: Samples) -> set[str]:
    return {name for name, _ in samples}
