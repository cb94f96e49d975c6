"""What one context's relay does, as Prometheus metrics: where it has published to, how far
behind the log it is (in events, and the age of the newest event it published), failed
publishes and resyncs. Labelled by context."""

from __future__ import annotations

from datetime import UTC, datetime

from eventstore.envelope import EventEnvelope
from eventstore.metrics_switch import Counter, Gauge

PUBLISHED_POSITION = Gauge(
    "paystream_relay_published_position",
    "Position of the last event the relay has published and JetStream acknowledged.",
    ["context"],
)
EVENTS_PUBLISHED = Counter(
    "paystream_relay_events_published_total",
    "Events published and acknowledged by JetStream.",
    ["context"],
)
LAG_EVENTS = Gauge(
    "paystream_relay_lag_events",
    "Events committed to the log and not yet published, as last seen by the relay.",
    ["context"],
)
LAG_SECONDS = Gauge(
    "paystream_relay_lag_seconds",
    "Age of the newest published event when JetStream acknowledged it (commit to publish).",
    ["context"],
)
PUBLISH_FAILURES = Counter(
    "paystream_relay_publish_failures_total",
    "Publishes refused by JetStream or never acknowledged (each is resumed, never lost).",
    ["context"],
)
RESYNCS = Counter(
    "paystream_relay_resyncs_total",
    "Times the relay resumed from its stream's real end: after failed publishes"
    " (cause publish-failed), or when an idle check found the stream ending elsewhere"
    " (cause tail-moved).",
    ["context", "cause"],
)


def age_seconds(envelope: EventEnvelope) -> float:
    """How long ago the event was stored (0 when its metadata does not say)."""
    recorded = envelope.recorded_at()
    if recorded is None:
        return 0.0
    return max(0.0, (datetime.now(UTC) - recorded).total_seconds())


class RelayMetrics:
    """The metrics of one context's relay."""

    def __init__(self, context: str) -> None:
        self.context = context

    def published(self, batch: list[EventEnvelope], stored: int) -> None:
        """`batch` is acknowledged; the log ends at `stored`."""
        position = batch[-1].position
        PUBLISHED_POSITION.labels(self.context).set(position)
        EVENTS_PUBLISHED.labels(self.context).inc(len(batch))
        LAG_EVENTS.labels(self.context).set(max(0, stored - position))
        LAG_SECONDS.labels(self.context).set(age_seconds(batch[-1]))

    def at(self, position: int, stored: int | None = None) -> None:
        """The relay resumes from `position`; the log ends at `stored` (there, if not given)."""
        PUBLISHED_POSITION.labels(self.context).set(position)
        LAG_EVENTS.labels(self.context).set(max(0, (stored or position) - position))

    def failed(self, count: int) -> None:
        PUBLISH_FAILURES.labels(self.context).inc(count)

    def resynced(self, cause: str) -> None:
        RESYNCS.labels(self.context, cause).inc()
