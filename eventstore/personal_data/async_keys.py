"""Data keys for code on an event loop (projectors): found by id through the caller's own
async connection, unwrapped with the process's KEK and cached for the process, so a
field whose key is cached opens without I/O and nothing blocks the loop."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from eventstore.personal_data.data_keys import BY_ID, CACHE_SIZE, DataKey, key_from_row
from eventstore.personal_data.field_cipher import (
    Erased,
    FieldPlace,
    open_with_key,
    sealed_key_id,
)
from eventstore.personal_data.kek import KeyEncryptionKey
from eventstore.personal_data.kek_providers import configured_kek


class AsyncDataKeys:
    """Unwrapped data keys by id, least recently used evicted. A destroyed key is cached
    as destroyed: erasure is for good, and opening an erased field stays free."""

    def __init__(self, kek: KeyEncryptionKey | None = None, cache_size: int = CACHE_SIZE) -> None:
        self._kek = kek
        self._cache_size = cache_size
        self._cache: OrderedDict[UUID, DataKey | None] = OrderedDict()

    def use_kek(self, kek: KeyEncryptionKey) -> None:
        """The KEK to unwrap with (a process's start check); the configured one otherwise."""
        self._kek = kek

    def evict(self, key_id: UUID) -> None:
        """Forget `key_id` (destroyed: the next look finds it so)."""
        self._cache.pop(key_id, None)

    async def open(
        self, conn: AsyncConnection[Any], sealed: str, place: FieldPlace
    ) -> str | Erased:
        """The plaintext of `sealed`, or ERASED when its key is destroyed."""
        return open_with_key(await self.by_id(conn, sealed_key_id(sealed)), sealed, place)

    async def by_id(self, conn: AsyncConnection[Any], key_id: UUID) -> DataKey | None:
        """The key `key_id` names, None when destroyed (UnknownDataKey if never made)."""
        if key_id in self._cache:
            self._cache.move_to_end(key_id)
            return self._cache[key_id]
        async with conn.cursor() as cursor:
            await cursor.execute(BY_ID, (key_id,))
            row = await cursor.fetchone()
        # the configured KEK read again on each miss: settings may change
        key = key_from_row(key_id, row, self._kek or configured_kek())
        self._cache[key_id] = key
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return key
