"""An event's personal fields opened for a read model: the plaintext, `[erased]` when the
subject's data key is destroyed, or the value as stored when it was stored before
sealing. Keys come through the projector's own connection (its role may read them) and
are cached for the process, so the hot path opens from memory."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncCursor
from psycopg.sql import SQL, Composed

from domains.erasure import ERASED_TEXT
from eventstore.envelope import EventEnvelope
from eventstore.personal_data.async_keys import AsyncDataKeys
from eventstore.personal_data.field_cipher import FieldPlace, is_sealed

# The read models whose handlers open personal fields (their projectors may read keys).
OPENING_READ_MODELS = ("account_summary", "account_statement", "payments", "notifications")

PROCESS_KEYS = AsyncDataKeys()  # the projector process's start check gives it the KEK


def forget_erased_key(event: EventEnvelope) -> None:
    """On an erasure event: the destroyed key leaves this process's cache, so an event
    sealed under it that is applied from now on opens as `[erased]`."""
    PROCESS_KEYS.evict(UUID(str(event.state()["key_id"])))


async def opened(cursor: AsyncCursor[Any], event: EventEnvelope, field: str) -> Any:
    """The event's `field` in plaintext (absent: None)."""
    value = event.state().get(field)
    if not is_sealed(value):
        return value
    place = FieldPlace(event.aggregate_id, event.aggregate_version, field)
    return str(await PROCESS_KEYS.open(cursor.connection, str(value), place))


async def erase_payer_references(
    cursor: AsyncCursor[Any],
    rows: Composed,
    event: EventEnvelope,
    paid: tuple[str, ...],
    received: tuple[str, ...],
) -> None:
    """On an account's erasure, the references its holder wrote: in `rows` (a table with
    account_id, counterparty, kind and reference), those of the account's own payments
    out (`paid` kinds) and those others received from it (`received` kinds, the account
    their counterparty). Empty references stay empty, as a rebuild leaves them."""
    forget_erased_key(event)
    await cursor.execute(
        SQL(
            "UPDATE {} SET reference = %s WHERE reference <> ''"
            " AND ((account_id = %s AND kind = ANY(%s)) OR (counterparty = %s AND kind = ANY(%s)))"
        ).format(rows),
        (ERASED_TEXT, event.aggregate_id, list(paid), str(event.aggregate_id), list(received)),
    )
