"""What every context's application service shares: commands with optimistic retries."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Recording

# A command that lost a race on the aggregate version is re-run on the fresh state
# this many times before the conflict is reported.
MAX_CONFLICT_RETRIES = 5

A = TypeVar("A", bound=Aggregate)


class CommandService(Application[UUID]):
    """An application whose commands load, act, save, and report the log position."""

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


def last_position(recordings: list[Recording[UUID]]) -> int | None:
    """The log position of the last recorded event: the command's consistency point."""
    return max((r.notification.id for r in recordings), default=None)
