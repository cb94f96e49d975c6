"""An event's personal fields opened for a read model: the plaintext, `[erased]` when the
subject's data key is destroyed, or the value as stored when it was stored before
sealing. Keys come through the projector's own connection (its role may read them) and
are cached for the process, so the hot path opens from memory."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncCursor

from eventstore.envelope import EventEnvelope
from eventstore.personal_data.async_keys import AsyncDataKeys
from eventstore.personal_data.field_cipher import FieldPlace, is_sealed

# The read models whose handlers open personal fields (their projectors may read keys).
OPENING_READ_MODELS = ("account_summary", "account_statement", "payments", "notifications")

PROCESS_KEYS = AsyncDataKeys()  # the projector process's start check gives it the KEK


async def opened(cursor: AsyncCursor[Any], event: EventEnvelope, field: str) -> Any:
    """The event's `field` in plaintext (absent: None)."""
    value = event.state().get(field)
    if not is_sealed(value):
        return value
    place = FieldPlace(event.aggregate_id, event.aggregate_version, field)
    return str(await PROCESS_KEYS.open(cursor.connection, str(value), place))
