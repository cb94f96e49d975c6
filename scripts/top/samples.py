"""Prometheus text as `paystream top` reads it: samples by name and labels, how much a
counter grew between two scrapes, and a quantile from a histogram's bucket counts."""

from __future__ import annotations

import math
from collections.abc import Mapping

from prometheus_client.parser import text_string_to_metric_families

Labels = frozenset[tuple[str, str]]
Samples = Mapping[tuple[str, Labels], float]


def parse(text: str) -> dict[tuple[str, Labels], float]:
    """Every sample of an exposition, keyed by its name and labels; ValueError if the
    text is not the exposition format."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def series(samples: Samples, name: str) -> list[tuple[dict[str, str], float]]:
    """The samples named `name`: each one's labels and value."""
    return [(dict(labels), value) for (found, labels), value in samples.items() if found == name]


def increase(before: float | None, after: float) -> float:
    """How much a counter grew between two scrapes. A counter first seen, or lower than
    before (its process restarted), counted all of its value since."""
    if before is None or after < before:
        return after
    return after - before


def quantile(q: float, buckets: Mapping[float, float]) -> float | None:
    """The `q`-quantile of the observations counted in cumulative `buckets` (upper bound:
    count, +Inf included), interpolated linearly inside its bucket as Prometheus's
    histogram_quantile does; None when nothing was observed."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]] if bounds else 0.0
    if total <= 0:
        return None
    rank, lower, below = q * total, 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):  # above the highest finite bound: that bound
                return lower
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return lower
