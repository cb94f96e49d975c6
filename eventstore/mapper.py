"""A mapper that stores each event's state together with its metadata."""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent
from eventsourcing.utils import get_topic, resolve_topic

from eventstore.metadata import META_KEY, current_metadata
from eventstore.personal_fields import FieldSealing


class MetadataMapper(Mapper[UUID]):
    """Writes `__meta__` (actor, correlation, causation, idempotency key, time) into
    every stored event, and drops it again when events are read back. With `sealing`
    (a store's, eventstore/sealed_postgres.py), personal fields are stored sealed and
    opened again on reading; without (in memory), they stay as they are."""

    sealing: FieldSealing | None = None

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        if self.cipher or self.compressor:
            raise ValueError("MetadataMapper stores plain JSON: no cipher or compressor")
        event_state = dict(vars(domain_event))
        originator_id = event_state.pop("originator_id")
        originator_version = event_state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            event_state["class_version"] = class_version
        topic = get_topic(type(domain_event))
        if self.sealing is not None:
            self.sealing.seal(topic, originator_id, originator_version, event_state)
        event_state[META_KEY] = current_metadata().stored_form()
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=topic,
            state=self.transcoder.encode(event_state),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        cls = resolve_topic(stored_event.topic)
        try:
            event_state: dict[str, Any] = self.transcoder.decode(stored_event.state)
        except Exception as error:
            raise MapperDeserialisationError(
                f"cannot decode event {stored_event.originator_id}"
                f"@{stored_event.originator_version}: {error}"
            ) from error
        event_state.pop(META_KEY, None)
        if self.sealing is not None:
            self.sealing.open(
                stored_event.topic,
                stored_event.originator_id,
                stored_event.originator_version,
                event_state,
            )
        event_state["originator_id"] = stored_event.originator_id
        event_state["originator_version"] = stored_event.originator_version
        class_version = getattr(cls, "class_version", 1)
        from_version = event_state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(event_state)
            from_version += 1
        domain_event = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", event_state)
        return cast(DomainEventProtocol[UUID], domain_event)
