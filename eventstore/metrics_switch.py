"""Whether this process keeps Prometheus metrics (PAYSTREAM_METRICS), and the metric
kinds every metrics module defines its series with.

`Counter`, `Gauge` and `Histogram` here are prometheus-client's, except that while the
switch is off each update returns at once: `labels()` hands back the metric itself
(no child looked up or created) and `inc`, `dec`, `set`, `set_function` and `observe`
do nothing. So the code that counts (appends, relays, projectors, the saga, consistency
waits) is the same either way and this is the one place that decides. `paystream serve`
turns the switch off before building its app (eventstore/settings.py, MetricsSettings),
and `api/metrics_endpoint.py` then installs neither the HTTP middleware nor /metrics.
On by default: a process that never reads the setting (the in-process tests) counts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Self

import prometheus_client

_on = True


def metrics_on() -> bool:
    return _on


def switch_metrics(on: bool) -> None:
    """Turn this process's metrics on or off (before any app is built)."""
    global _on
    _on = on


class Counter(prometheus_client.Counter):
    def labels(self, *labelvalues: object, **labelkwargs: object) -> Self:
        return super().labels(*labelvalues, **labelkwargs) if _on else self

    def inc(self, amount: float = 1, exemplar: dict[str, str] | None = None) -> None:
        if _on:
            super().inc(amount, exemplar)


class Gauge(prometheus_client.Gauge):
    def labels(self, *labelvalues: object, **labelkwargs: object) -> Self:
        return super().labels(*labelvalues, **labelkwargs) if _on else self

    def inc(self, amount: float = 1) -> None:
        if _on:
            super().inc(amount)

    def dec(self, amount: float = 1) -> None:
        if _on:
            super().dec(amount)

    def set(self, value: float) -> None:
        if _on:
            super().set(value)

    def set_function(self, f: Callable[[], float]) -> None:
        if _on:
            super().set_function(f)


class Histogram(prometheus_client.Histogram):
    def labels(self, *labelvalues: object, **labelkwargs: object) -> Self:
        return super().labels(*labelvalues, **labelkwargs) if _on else self

    def observe(self, amount: float, exemplar: dict[str, str] | None = None) -> None:
        if _on:
            super().observe(amount, exemplar)
