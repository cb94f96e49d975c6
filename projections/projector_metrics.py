"""What one projector does, as Prometheus metrics: per source, the position it has applied
and how far behind it is (events still in the stream, and the age of the newest event it
applied), batch sizes and apply time, redeliveries, repairs; per projection, dead letters
and whether it is halted. Labelled by projection (its name) and source (a context)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from nats.aio.msg import Msg

from eventstore.envelope import EventEnvelope
from eventstore.metrics_switch import Counter, Gauge, Histogram
from eventstore.relay_metrics import age_seconds

POSITION = Gauge(
    "paystream_projection_position",
    "Position of the source's log the read model has applied up to.",
    ["projection", "source"],
)
LAG_EVENTS = Gauge(
    "paystream_projection_lag_events",
    "Events of the source's stream not yet delivered to the projector, after its last batch.",
    ["projection", "source"],
)
LAG_SECONDS = Gauge(
    "paystream_projection_lag_seconds",
    "Age of the newest event of the last batch when it was committed (stored to projected).",
    ["projection", "source"],
)
BATCH_SIZE = Histogram(
    "paystream_projection_batch_size",
    "Messages in one fetched batch.",
    ["projection", "source"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 256, 1000),
)
APPLY_DURATION = Histogram(
    "paystream_projection_apply_duration_seconds",
    "Time to apply one batch and its tracking rows in one transaction, commit included.",
    ["projection", "source"],
)
EVENTS_APPLIED = Counter(
    "paystream_projection_events_applied_total",
    "Events the read model applied (those of a batch rolled back by a failing handler count"
    " again when applied again).",
    ["projection", "source"],
)
REDELIVERIES = Counter(
    "paystream_projection_redeliveries_total",
    "Messages JetStream delivered more than once (after a failure or an ack wait).",
    ["projection", "source"],
)
REPAIRED = Counter(
    "paystream_projection_repaired_events_total",
    "Events missing from the stream and applied straight from the event store.",
    ["projection", "source"],
)
DEAD_LETTERS = Counter(
    "paystream_projection_dead_letters_total",
    "Events whose handler kept failing, set aside as dead letters (the projection halts).",
    ["projection"],
)
HALTED = Gauge(
    "paystream_projection_halted",
    "1 while the projection is halted on an open dead letter, else 0.",
    ["projection"],
)


class ProjectorMetrics:
    """The metrics of one projector of `projection`; `halted` says whether it is halted."""

    def __init__(self, projection: str, halted: Callable[[], bool]) -> None:
        self.projection = projection
        HALTED.labels(projection).set_function(lambda: float(halted()))
        DEAD_LETTERS.labels(projection)  # shown at 0 before the first one

    def received(self, source: str, messages: list[Msg]) -> None:
        """A batch was fetched from `source`'s stream."""
        BATCH_SIZE.labels(self.projection, source).observe(len(messages))
        again = sum(1 for message in messages if message.metadata.num_delivered > 1)
        REDELIVERIES.labels(self.projection, source).inc(again)

    @contextmanager
    def applying(self, source: str) -> Iterator[None]:
        """Time one batch's transaction."""
        started = time.perf_counter()
        yield
        APPLY_DURATION.labels(self.projection, source).observe(time.perf_counter() - started)

    def applied(self, source: str, position: int, newest: EventEnvelope, pending: int) -> None:
        """A batch of `source` is committed up to `position`; `pending` messages follow it."""
        POSITION.labels(self.projection, source).set(position)
        LAG_EVENTS.labels(self.projection, source).set(pending)
        LAG_SECONDS.labels(self.projection, source).set(age_seconds(newest))

    def event_applied(self, source: str) -> None:
        EVENTS_APPLIED.labels(self.projection, source).inc()

    def event_repaired(self, source: str) -> None:
        REPAIRED.labels(self.projection, source).inc()

    def dead_lettered(self) -> None:
        DEAD_LETTERS.labels(self.projection).inc()
