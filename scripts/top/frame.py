"""One frame of `paystream top`: what every service, projection and the saga show at one
refresh, and the alarms among them, first."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx

from scripts.devstack.layout import UP, Target
from scripts.plural import counted
from scripts.top.projection_states import LIVE, ProjectionRow, StallWatch, projection_rows
from scripts.top.saga_state import OPEN, SagaState, saga_state
from scripts.top.scrape import Scrape, scrape_all
from scripts.top.service_rates import ServiceRow, service_row


@dataclass(frozen=True)
class Frame:
    services: list[ServiceRow]
    projections: list[ProjectionRow]
    saga: SagaState
    alarms: list[str]


def alarms(
    services: Sequence[ServiceRow], rows: Sequence[ProjectionRow], saga: SagaState
) -> list[str]:
    """What needs someone's attention: a service down or not ready, a projection halted or
    stalled, an open circuit breaker, overdue payments."""
    found = [
        f"{service.name} {service.readiness}" for service in services if service.readiness != UP
    ]
    found += [
        f"projection {row.projection}{f' ({row.source})' if row.source else ''} {row.state}"
        for row in rows
        if row.state != LIVE
    ]
    found += [
        f"circuit breaker to {name} open" for name, state in saga.breakers.items() if state == OPEN
    ]
    if saga.overdue:
        found.append(f"{counted(saga.overdue, 'payment')} overdue")
    return found


def frame(before: Mapping[str, Scrape], scrapes: Sequence[Scrape], watch: StallWatch) -> Frame:
    """The frame `scrapes` show, rates taken since the scrapes `before` (by service)."""
    services = [service_row(before.get(scrape.service), scrape) for scrape in scrapes]
    rows = projection_rows(scrapes, watch)
    saga = saga_state(scrapes)
    return Frame(services, rows, saga, alarms(services, rows, saga))


class Watcher:
    """Refreshes the view of `targets` (asked with `http`), remembering the previous
    scrapes (for rates) and the projections' progress (for stalls)."""

    def __init__(self, targets: Sequence[Target], http: httpx.Client) -> None:
        self.targets = targets
        self.http = http
        self.watch = StallWatch()
        self.previous: dict[str, Scrape] = {}

    def refresh(self) -> Frame:
        scrapes = scrape_all(self.targets, self.http)
        shown = frame(self.previous, scrapes, self.watch)
        self.previous = {scrape.service: scrape for scrape in scrapes}
        return shown
