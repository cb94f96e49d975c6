"""Per projection and source, as the projectors' metrics show it: position, lag, and a
state. Halted is the projector's own word (`paystream_projection_halted`); stalled is
decided here, refresh after refresh: behind, with neither the position moving nor the
lag shrinking for STALL_REFRESHES refreshes in a row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scripts.top.samples import Samples, series
from scripts.top.scrape import Scrape

LIVE, STALLED, HALTED = "live", "stalled", "halted"
STALL_REFRESHES = 5
POSITION = "paystream_projection_position"
LAG_EVENTS = "paystream_projection_lag_events"
LAG_SECONDS = "paystream_projection_lag_seconds"
HALTED_GAUGE = "paystream_projection_halted"
RELAY_POSITION = "paystream_relay_published_position"

Key = tuple[str, str, str]  # the projector's service, the projection, the source


@dataclass(frozen=True)
class ProjectionRow:
    """One source of one projection; a projector that has applied no batch yet shows its
    projection alone (source, position and lags None)."""

    projection: str
    source: str | None
    position: int | None
    lag_events: int | None
    lag_seconds: float | None
    state: str


@dataclass(frozen=True)
class Progress:
    position: float
    behind: float
    unchanged: int  # refreshes in a row behind, without moving or catching up


class StallWatch:
    """Remembers each projection's progress across refreshes, to tell a stalled one."""

    def __init__(self, refreshes: int = STALL_REFRESHES) -> None:
        self.refreshes = refreshes
        self.last: dict[Key, Progress] = {}

    def stalled(self, key: Key, position: float, behind: float) -> bool:
        """Whether the projection is stalled now that it shows `position`, `behind`
        events behind its source."""
        last = self.last.get(key)
        still = (
            last is not None and behind > 0 and position == last.position and behind >= last.behind
        )
        unchanged = last.unchanged + 1 if still and last else 0
        self.last[key] = Progress(position, behind, unchanged)
        return unchanged >= self.refreshes


def by_source(samples: Samples, name: str) -> dict[tuple[str, str], float]:
    return {(labels["projection"], labels["source"]): v for labels, v in series(samples, name)}


def published_positions(scrapes: Sequence[Scrape]) -> dict[str, float]:
    """Each context's position the relays have published up to."""
    return {
        labels["context"]: value
        for scrape in scrapes
        for labels, value in series(scrape.samples or {}, RELAY_POSITION)
    }


def projection_rows(scrapes: Sequence[Scrape], watch: StallWatch) -> list[ProjectionRow]:
    """Every projection each projector shows, in the order of the services.

    A projection is behind by its lag in events, or by how far the relay of its source
    has published past its position, whichever is more (its lag is only set per batch:
    a projector that takes no batch keeps its last one)."""
    published = published_positions(scrapes)
    return [row for scrape in scrapes for row in rows_of(scrape, published, watch)]


def rows_of(scrape: Scrape, published: dict[str, float], watch: StallWatch) -> list[ProjectionRow]:
    samples = scrape.samples or {}
    halted = {labels["projection"]: bool(value) for labels, value in series(samples, HALTED_GAUGE)}
    lag_events, lag_seconds = by_source(samples, LAG_EVENTS), by_source(samples, LAG_SECONDS)
    rows = []
    for (projection, source), position in sorted(by_source(samples, POSITION).items()):
        lag = lag_events.get((projection, source), 0.0)
        behind = max(lag, published.get(source, position) - position)
        stalled = watch.stalled((scrape.service, projection, source), position, behind)
        state = HALTED if halted.get(projection) else STALLED if stalled else LIVE
        seconds = lag_seconds.get((projection, source), 0.0)
        rows.append(ProjectionRow(projection, source, int(position), int(lag), seconds, state))
    shown = {row.projection for row in rows}
    return rows + [
        ProjectionRow(projection, None, None, None, None, HALTED if stopped else LIVE)
        for projection, stopped in sorted(halted.items())
        if projection not in shown
    ]
