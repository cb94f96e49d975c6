"""The in-memory event store (the library's POPO store) with the records the PostgreSQL
recorder keeps: what a command with an idempotency key did, and where an event came from.

For unit and in-process API tests, and anything else run without a database: with it, a
retried command is answered as the first time, as it is on PostgreSQL. Select it with
`PERSISTENCE_MODULE=eventstore.memory_store`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any
from uuid import UUID

from eventsourcing import popo
from eventsourcing.persistence import ApplicationRecorder, StoredEvent

from domains.command_records import EventOrigin, IdempotentOutcome
from eventstore.idempotency import IdempotencyKeyTaken
from eventstore.metadata import META_KEY, current_idempotency
from eventstore.store_metrics import measured_append
from eventstore.transcoder import parse_json


class InMemoryRecorder(popo.POPOApplicationRecorder):
    """Events in memory; each command's idempotency key kept with them, atomically; its
    appends measured under `context` (the application's name)."""

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context
        self._outcomes: dict[str, IdempotentOutcome] = {}

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        insert = partial(super().insert_events, stored_events, **kwargs)
        ids: Sequence[int] | None = measured_append(self.context, len(stored_events), insert)
        return ids

    def _assert_uniqueness(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        super()._assert_uniqueness(stored_events, **kwargs)
        key = current_idempotency()
        if key is not None and key[0] in self._outcomes:
            raise IdempotencyKeyTaken(key[0])

    def _update_table(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int]:
        ids = list(super()._update_table(stored_events, **kwargs) or ())
        key = current_idempotency()
        if key is not None and ids and stored_events:
            last = stored_events[-1]
            self._outcomes[key[0]] = IdempotentOutcome(
                key[0],
                key[1],
                UUID(str(last.originator_id)),
                last.originator_version,
                max(ids),
                datetime.now(UTC),
            )
        return ids

    def find_outcome(self, key: str) -> IdempotentOutcome | None:
        with self._database_lock:
            return self._outcomes.get(key)

    def event_origin(self, aggregate_id: UUID, version: int) -> EventOrigin | None:
        with self._database_lock:
            index = self._stored_events_index[str(aggregate_id)].get(version)
            if index is None:
                return None
            state = self._stored_events[index].state
        return EventOrigin(index + 1, dict(parse_json(state).get(META_KEY) or {}))

    def ping(self) -> None:
        """Memory is always there."""


class Factory(popo.POPOFactory):
    """The POPO factory, recording with InMemoryRecorder."""

    def application_recorder(self) -> ApplicationRecorder:
        return InMemoryRecorder(self.env.name.lower())
