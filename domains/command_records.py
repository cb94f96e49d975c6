"""What a command service answers about its own records: what a command with an
idempotency key did the first time, and where a stored event came from.

The PostgreSQL recorder (eventstore.recorder) and the in-memory one of unit and
in-process tests (eventstore.memory_store) keep both; a store that keeps neither (the
library's plain POPO store) answers None to both, and is always there when pinged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable
from uuid import UUID


@dataclass(frozen=True)
class IdempotentOutcome:
    """What a command with this key did the first time."""

    key: str
    request_fingerprint: str
    aggregate_id: UUID
    aggregate_version: int
    position: int
    recorded_at: datetime


@dataclass(frozen=True)
class EventOrigin:
    """A stored event's log position and the metadata of the command that caused it."""

    position: int
    metadata: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class CommandRecords(Protocol):
    """A recorder that keeps idempotency keys and event metadata it can look up."""

    def find_outcome(self, key: str) -> IdempotentOutcome | None:
        """What the command recorded under `key` did, if one was recorded."""

    def event_origin(self, aggregate_id: UUID, version: int) -> EventOrigin | None:
        """The position and metadata of one stored event, if it exists."""

    def ping(self) -> None:
        """Raise unless the store answers right now."""


class NoRecords:
    """The records of a store that keeps no idempotency keys and no event positions."""

    def find_outcome(self, key: str) -> IdempotentOutcome | None:
        return None

    def event_origin(self, aggregate_id: UUID, version: int) -> EventOrigin | None:
        return None

    def ping(self) -> None:
        """An in-process store is always there."""
