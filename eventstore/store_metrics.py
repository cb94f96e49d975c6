"""What the event store does, as Prometheus metrics: appends (one per command that stored
events), the events in each, how long each took, how many shared a commit, version
conflicts, and commands answered by replaying their first outcome (an Idempotency-Key sent
again). Labelled by context."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from eventsourcing.persistence import IntegrityError

from eventstore.metrics_switch import Counter, Histogram

R = TypeVar("R")

APPENDS = Counter(
    "paystream_event_store_appends_total",
    "Commands' appends of events to the context's log (several may share one commit).",
    ["context"],
)
EVENTS_APPENDED = Counter(
    "paystream_event_store_events_appended_total",
    "Events appended to the context's log.",
    ["context"],
)
EVENTS_PER_APPEND = Histogram(
    "paystream_event_store_events_per_append",
    "Events in one command's append.",
    ["context"],
    buckets=(1, 2, 3, 5, 10, 20, 50, 100, 500),
)
APPEND_DURATION = Histogram(
    "paystream_event_store_append_duration_seconds",
    "Time to append one command's events, waiting for its group commit and failed"
    " attempts included.",
    ["context"],
)
COMMANDS_PER_COMMIT = Histogram(
    "paystream_event_store_commands_per_commit",
    "Commands whose appends shared one transaction and one commit (group commit).",
    ["context"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)
VERSION_CONFLICTS = Counter(
    "paystream_event_store_version_conflicts_total",
    "Appends refused because another command changed the aggregate first (each retried"
    " on the fresh state, up to a bound).",
    ["context"],
)
IDEMPOTENT_REPLAYS = Counter(
    "paystream_event_store_idempotent_replays_total",
    "Commands answered with the first outcome recorded under their Idempotency-Key,"
    " appending nothing.",
    ["context"],
)


def observe_group(context: str, commands: int) -> None:
    """A group commit of `commands` commands' appends was written."""
    COMMANDS_PER_COMMIT.labels(context).observe(commands)


def count_replay(context: str) -> None:
    """A command was answered by replaying its key's first outcome."""
    IDEMPOTENT_REPLAYS.labels(context).inc()


def measured_append(context: str, events: int, append: Callable[[], R]) -> R:
    """Run `append` (a recorder's insert of `events` events), counted and timed; an
    IntegrityError is a version conflict."""
    started = time.perf_counter()
    try:
        ids = append()
    except IntegrityError:
        VERSION_CONFLICTS.labels(context).inc()
        raise
    finally:
        APPEND_DURATION.labels(context).observe(time.perf_counter() - started)
    APPENDS.labels(context).inc()
    EVENTS_APPENDED.labels(context).inc(events)
    EVENTS_PER_APPEND.labels(context).observe(events)
    return ids
