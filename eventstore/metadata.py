"""Who caused an event and why: metadata stored with every event.

The API sets a `CommandMetadata` for the duration of a command; the mapper writes
it into each stored event under the `__meta__` key, and the recorder uses its
idempotency key in the same transaction as the events.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from eventstore.trace_context import active_traceparent

META_KEY = "__meta__"
# W3C Trace Context: version (not ff), trace id and parent id (not all zero), flags.
TRACEPARENT_PATTERN = r"(?!ff)[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}"


@dataclass(frozen=True)
class CommandMetadata:
    """The circumstances of one command."""

    actor: str = "system"
    correlation_id: str = field(default_factory=lambda: str(uuid4()))
    causation_id: str | None = None
    idempotency_key: str | None = None
    request_fingerprint: str | None = None
    traceparent: str | None = None

    def stored_form(self) -> dict[str, Any]:
        """The metadata as written into a stored event, stamped with the UTC time; its
        traceparent is the active span's, when one is (so the event continues the trace)."""
        data = asdict(self)
        data.pop("request_fingerprint")
        data["traceparent"] = active_traceparent() or self.traceparent
        data["recorded_at"] = datetime.now(UTC).isoformat()
        return data


_current: contextvars.ContextVar[CommandMetadata | None] = contextvars.ContextVar(
    "paystream_command_metadata", default=None
)


@contextmanager
def command_metadata(metadata: CommandMetadata) -> Iterator[CommandMetadata]:
    """Attach `metadata` to every event saved inside the block."""
    token = _current.set(metadata)
    try:
        yield metadata
    finally:
        _current.reset(token)


def current_metadata() -> CommandMetadata:
    """The metadata of the running command, or a fresh system one."""
    return _current.get() or CommandMetadata()


def current_idempotency() -> tuple[str, str] | None:
    """The (key, request fingerprint) of the running command, if it has a key."""
    metadata = _current.get()
    if metadata is None or metadata.idempotency_key is None:
        return None
    return metadata.idempotency_key, metadata.request_fingerprint or ""


def trace_ids(traceparent: str | None) -> tuple[str, str] | None:
    """The trace id and parent span id a W3C `traceparent` names; None when it is not one."""
    if traceparent is None or not re.fullmatch(TRACEPARENT_PATTERN, traceparent):
        return None
    _, trace_id, span_id, _ = traceparent.split("-")
    return trace_id, span_id
