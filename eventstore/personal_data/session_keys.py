"""Data keys read through one open session (an audit command's read-only connection): by
id only, cached for the session, unwrapped with the configured KEK. Such a session
opens sealed fields; it never seals, so it makes no key."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg

from eventstore.personal_data.data_keys import BY_ID, DataKey, key_from_row
from eventstore.personal_data.kek import KeyEncryptionKey


class SessionKeys:
    """The keys sealed values name, found through `conn` (its role may read them)."""

    def __init__(self, conn: psycopg.Connection[Any], kek: KeyEncryptionKey) -> None:
        self._conn = conn
        self._kek = kek
        self._found: dict[UUID, DataKey | None] = {}

    def key_for(self, subject: str) -> DataKey:
        raise TypeError("a session that reads personal data never seals it")

    def by_id(self, key_id: UUID) -> DataKey | None:
        """The key, or None when it is destroyed (UnknownDataKey if never made)."""
        if key_id not in self._found:
            row = self._conn.execute(BY_ID, (key_id,)).fetchone()
            self._found[key_id] = key_from_row(key_id, row, self._kek)
        return self._found[key_id]
