"""What every context's application service shares: commands with optimistic retries,
their results, answers about its own records (idempotency keys, event origins), a look
back through an aggregate's events, and snapshots every PAYSTREAM_SNAPSHOT_INTERVAL
events of an aggregate."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator
from functools import cached_property
from typing import Any, ClassVar, Generic, cast
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProjectorFunction,
    project_aggregate,
)
from eventsourcing.domain import Aggregate, DomainEventProtocol, MutableOrImmutableAggregate
from eventsourcing.persistence import IntegrityError, PersistenceError, Recording
from eventsourcing.utils import Environment, EnvType
from typing_extensions import TypeVar  # with defaults (PEP 696), for Python 3.11

from domains.command_records import (
    CommandRecords,
    EventOrigin,
    IdempotentOutcome,
    NoRecords,
)
from domains.command_result import CommandResult
from domains.errors import NotFound

# A command that lost a race on the aggregate version is re-run on the fresh state
# this many times before the conflict is reported.
MAX_CONFLICT_RETRIES = 5

# Events read per query when a command looks back through an aggregate's history.
HISTORY_PAGE = 100

SNAPSHOT_INTERVAL = "PAYSTREAM_SNAPSHOT_INTERVAL"
DEFAULT_SNAPSHOT_INTERVAL = 100

# A bare CommandService (any context) is CommandService[Aggregate, CommandResult].
A = TypeVar("A", bound=Aggregate, default=Aggregate, covariant=True)
R = TypeVar("R", bound=CommandResult, default=CommandResult, covariant=True)
T = TypeVar("T", bound=Aggregate)

logger = logging.getLogger(__name__)


class CommandService(Application[UUID], Generic[A, R]):
    """An application whose commands load, act, save, and answer with a result `R`."""

    aggregate_class: ClassVar[type[Aggregate]]  # the aggregate this context's commands change
    result_class: ClassVar[type[CommandResult]]  # what its commands answer
    not_found: ClassVar[type[NotFound]]  # raised for an id that names no aggregate

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

    @cached_property
    def records(self) -> CommandRecords:
        """The store's records of keys and event origins (none in memory). Found once:
        the recorder is the application's for its whole life, and a runtime check
        against a Protocol costs microseconds on every command."""
        recorder = self.recorder
        return recorder if isinstance(recorder, CommandRecords) else NoRecords()

    def find_outcome(self, key: str) -> IdempotentOutcome | None:
        """What the command run with idempotency key `key` did, if one was recorded."""
        return self.records.find_outcome(key)

    def event_origin(self, aggregate_id: UUID, version: int) -> EventOrigin | None:
        """The log position of an aggregate's event and its command's metadata, if known."""
        return self.records.event_origin(aggregate_id, version)

    def ping(self) -> None:
        """Raise unless the event store answers right now (for readiness)."""
        self.records.ping()

    def load(self, aggregate_id: UUID, version: int | None = None) -> A:
        """The aggregate now, or as it was at `version`; `not_found` when there is none."""
        try:
            aggregate: A = self.repository.get(aggregate_id, version=version)
        except AggregateNotFoundError:
            noun = self.aggregate_class.__name__.lower()
            raise self.not_found(f"{noun} {aggregate_id} does not exist") from None
        return aggregate

    def history(
        self, aggregate_id: UUID, version: int, topics: Collection[str]
    ) -> Iterator[DomainEventProtocol[UUID]]:
        """The aggregate's events of `topics` up to `version`, newest first, read
        HISTORY_PAGE at a time for as long as the caller iterates (others are not decoded)."""
        recorder = self.events.recorder
        upto = version
        while upto > 0:
            page = recorder.select_events(aggregate_id, lte=upto, desc=True, limit=HISTORY_PAGE)
            for stored in page:
                if stored.topic in topics:
                    yield self.mapper.to_domain_event(stored)
            if len(page) < HISTORY_PAGE:
                return
            upto = page[-1].originator_version - 1

    def replay(self, outcome: IdempotentOutcome) -> R:
        """The result the command recorded under an idempotency key answered the first time."""
        aggregate = self.load(outcome.aggregate_id, version=outcome.aggregate_version)
        return self.result(aggregate, outcome.position)

    def result(self, aggregate: Aggregate, position: int | None) -> R:
        return cast(R, self.result_class.of(aggregate, position))

    def create(self, aggregate: Aggregate) -> R:
        """Save a new aggregate's events; the result, at the position of the last one."""
        return self.result(aggregate, last_position(self.save(aggregate)))

    def command(self, aggregate_id: UUID, action: Callable[[A], None]) -> R:
        """Run `action` on the aggregate, retried on version conflicts; the result."""
        return self.result(*self.change(aggregate_id, self.load, action))

    def change(
        self, aggregate_id: UUID, load: Callable[[UUID], T], action: Callable[[T], None]
    ) -> tuple[T, int | None]:
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


# The library's Application.__init_subclass__ does not call super(), so typing never
# records CommandService's own type parameters; record them (CommandService[A, R]).
setattr(CommandService, "__parameters__", (A, R))  # noqa: B010


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
