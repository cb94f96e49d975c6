"""The PostgreSQL application recorder of every context: events plus idempotency key."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import Cursor, errors
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from eventstore import idempotency
from eventstore.metadata import META_KEY, current_idempotency


class PaystreamRecorder(PostgresApplicationRecorder):
    """Records the running command's idempotency key in the events' own transaction,
    so a key exists exactly when the events it produced exist."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        schema = self.datastore.schema
        self.sql_create_statements.append(idempotency.create_table_statement(schema))
        self._insert_key = idempotency.insert_statement(schema)

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        key = current_idempotency()
        if key is None or not ids or not stored_events:
            return ids
        last = stored_events[-1]
        params = (*key, last.originator_id, last.originator_version, max(ids))
        try:
            curs.execute(self._insert_key, params)
            curs.fetchone()
        except errors.UniqueViolation:
            raise idempotency.IdempotencyKeyTaken(key[0]) from None
        return ids

    def event_origin(self, aggregate_id: UUID, version: int) -> tuple[int, dict[str, Any]] | None:
        """The position and the metadata of one stored event, if it exists."""
        query = SQL(
            "SELECT notification_id, state FROM {}.{}"
            " WHERE originator_id = %s AND originator_version = %s"
        ).format(Identifier(self.datastore.schema), Identifier(self.events_table_name))
        with self.datastore.get_connection() as conn:
            row = conn.execute(query, (aggregate_id, version)).fetchone()
        if row is None:
            return None
        meta = orjson.loads(bytes(row["state"])).get(META_KEY) or {}
        return int(row["notification_id"]), dict(meta)

    def find_outcome(self, key: str) -> idempotency.IdempotentOutcome | None:
        """What the command recorded under `key` did, if one was recorded."""
        with self.datastore.get_connection() as conn:
            return idempotency.find_outcome(conn, self.datastore.schema, key)
