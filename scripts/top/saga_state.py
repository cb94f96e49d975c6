"""The saga as its metrics show it: payments in flight and overdue, and the state of the
circuit breaker in front of each upstream it calls."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from scripts.top.samples import series
from scripts.top.scrape import Scrape

IN_FLIGHT = "paystream_saga_payments_in_flight"
OVERDUE = "paystream_saga_payments_overdue"
BREAKER_STATE = "paystream_saga_circuit_breaker_state"
OPEN, HALF_OPEN = "open", "half_open"


@dataclass(frozen=True)
class SagaState:
    """None where no running saga showed the figure."""

    in_flight: int | None = None
    overdue: int | None = None
    breakers: dict[str, str] = field(default_factory=dict)  # upstream: state


def gauge_total(scrapes: Sequence[Scrape], name: str) -> int | None:
    values = [value for scrape in scrapes for _, value in series(scrape.samples or {}, name)]
    return int(sum(values)) if values else None


def saga_state(scrapes: Sequence[Scrape]) -> SagaState:
    breakers = {
        labels["upstream"]: labels["state"]
        for scrape in scrapes
        for labels, value in series(scrape.samples or {}, BREAKER_STATE)
        if value
    }
    return SagaState(gauge_total(scrapes, IN_FLIGHT), gauge_total(scrapes, OVERDUE), breakers)
