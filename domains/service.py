"""What every context's application service shares: commands with optimistic retries,
and snapshots every PAYSTREAM_SNAPSHOT_INTERVAL events of an aggregate."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.application import Application, ProjectorFunction, project_aggregate
from eventsourcing.domain import Aggregate, MutableOrImmutableAggregate
from eventsourcing.persistence import IntegrityError, PersistenceError, Recording
from eventsourcing.utils import Environment, EnvType

# A command that lost a race on the aggregate version is re-run on the fresh state
# this many times before the conflict is reported.
MAX_CONFLICT_RETRIES = 5

SNAPSHOT_INTERVAL = "PAYSTREAM_SNAPSHOT_INTERVAL"
DEFAULT_SNAPSHOT_INTERVAL = 100

A = TypeVar("A", bound=Aggregate)

logger = logging.getLogger(__name__)


class CommandService(Application[UUID]):
    """An application whose commands load, act, save, and report the log position."""

    aggregate_class: ClassVar[type[Aggregate]]  # the aggregate this context's commands change

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        """The library's environment, with snapshotting set by PAYSTREAM_SNAPSHOT_INTERVAL."""
        environment = super().construct_env(name, env)
        interval = snapshot_interval(environment)
        # Per instance, not per class: each environment (and test) may choose its own.
        intervals: dict[type[MutableOrImmutableAggregate[Any]], int] = (
            {self.aggregate_class: interval} if interval else {}
        )
        self.snapshotting_intervals = intervals  # type: ignore[misc]
        if interval:
            environment["IS_SNAPSHOTTING_ENABLED"] = "y"
        return environment

    def take_snapshot(
        self,
        aggregate_id: UUID,
        version: int | None = None,
        projector_func: ProjectorFunction[Any, Any] = project_aggregate,
    ) -> None:
        """Snapshot an aggregate; a failure is only logged, because the command whose save
        triggered it is already committed and must neither fail nor be retried."""
        try:
            super().take_snapshot(aggregate_id, version, projector_func)
        except PersistenceError:
            logger.warning(
                "snapshot of %s at version %s failed", aggregate_id, version, exc_info=True
            )

    def record(self, aggregate: Aggregate) -> int | None:
        """Save a new aggregate's events; the position of the last one."""
        return last_position(self.save(aggregate))

    def change(
        self, aggregate_id: UUID, load: Callable[[UUID], A], action: Callable[[A], None]
    ) -> tuple[A, int | None]:
        """Load, act, save; on a version conflict, do it again on the fresh state."""
        for attempt in range(MAX_CONFLICT_RETRIES + 1):
            aggregate = load(aggregate_id)
            action(aggregate)
            try:
                return aggregate, last_position(self.save(aggregate))
            except IntegrityError:
                if attempt == MAX_CONFLICT_RETRIES:
                    raise
        raise AssertionError("unreachable")


def snapshot_interval(environment: Environment) -> int:
    """Events between two snapshots of one aggregate; 0 takes none. The application's
    name may prefix the variable (ACCOUNTS_PAYSTREAM_SNAPSHOT_INTERVAL) to set one context."""
    text = environment.get(SNAPSHOT_INTERVAL) or str(DEFAULT_SNAPSHOT_INTERVAL)
    try:
        interval = int(text)
    except ValueError:
        interval = -1
    if interval < 0:
        raise ValueError(
            f"{SNAPSHOT_INTERVAL} must be a whole number of events (0 = off): {text!r}"
        )
    return interval


def last_position(recordings: list[Recording[UUID]]) -> int | None:
    """The log position of the last recorded event: the command's consistency point."""
    return max((r.notification.id for r in recordings), default=None)
