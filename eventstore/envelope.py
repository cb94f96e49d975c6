"""An event as it travels: position, identity, type, metadata and the stored body.

The relay turns stored rows into NATS messages with these headers; consumers turn
NATS messages (or rows read straight from the event store) back into envelopes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any
from uuid import UUID

from eventstore.contexts import Context
from eventstore.metadata import META_KEY
from eventstore.transcoder import default_transcoder, parse_json

H_MSG_ID = "Nats-Msg-Id"
H_EXPECTED_LAST_MSG_ID = "Nats-Expected-Last-Msg-Id"
H_CONTEXT = "Paystream-Context"
H_POSITION = "Paystream-Position"
H_AGGREGATE_ID = "Paystream-Aggregate-Id"
H_AGGREGATE_VERSION = "Paystream-Aggregate-Version"
H_EVENT_TYPE = "Paystream-Event-Type"
H_CORRELATION_ID = "Paystream-Correlation-Id"
H_CAUSATION_ID = "Paystream-Causation-Id"
H_TRACEPARENT = "traceparent"

_transcoder = default_transcoder()


@dataclass(frozen=True)
class EventEnvelope:
    """One stored event with where it sits in its context's log."""

    context: str
    position: int
    aggregate_id: UUID
    aggregate_version: int
    event_type: str
    body: bytes

    @classmethod
    def from_headers(cls, headers: dict[str, str], body: bytes) -> EventEnvelope:
        """Rebuild an envelope from a NATS message published by the relay."""
        return cls(
            context=headers[H_CONTEXT],
            position=int(headers[H_POSITION]),
            aggregate_id=UUID(headers[H_AGGREGATE_ID]),
            aggregate_version=int(headers[H_AGGREGATE_VERSION]),
            event_type=headers[H_EVENT_TYPE],
            body=body,
        )

    def state(self) -> dict[str, Any]:
        """The event's fields, decoded (UUIDs, datetimes restored), without metadata.
        Decoded once per envelope; treat the result as read-only."""
        return self._state

    def metadata(self) -> dict[str, Any]:
        """Actor, correlation and causation ids, idempotency key, recorded_at."""
        return self._metadata

    def recorded_at(self) -> datetime | None:
        """When the event was stored (its metadata's UTC time), if it says."""
        stamp = self.metadata().get("recorded_at")
        return datetime.fromisoformat(stamp) if isinstance(stamp, str) else None

    @cached_property
    def _state(self) -> dict[str, Any]:
        decoded: dict[str, Any] = _transcoder.decode(self.body)
        decoded.pop(META_KEY, None)
        return decoded

    @cached_property
    def _metadata(self) -> dict[str, Any]:
        return dict(parse_json(self.body).get(META_KEY) or {})

    def headers(self, context: Context) -> dict[str, str]:
        """The NATS headers the relay publishes this event with."""
        meta = self.metadata()
        headers = {
            H_MSG_ID: context.msg_id(self.position),
            H_CONTEXT: self.context,
            H_POSITION: str(self.position),
            H_AGGREGATE_ID: str(self.aggregate_id),
            H_AGGREGATE_VERSION: str(self.aggregate_version),
            H_EVENT_TYPE: self.event_type,
        }
        optional = {
            H_CORRELATION_ID: meta.get("correlation_id"),
            H_CAUSATION_ID: meta.get("causation_id"),
            H_TRACEPARENT: meta.get("traceparent"),
        }
        headers.update({key: str(value) for key, value in optional.items() if value})
        return headers
