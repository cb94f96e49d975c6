"""The PostgreSQL application recorder of every context: events, their chained hashes and the
command's idempotency key, in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import ProgrammingError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import Cursor, errors
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from domains.command_records import EventOrigin, IdempotentOutcome
from eventstore import hash_chain, idempotency
from eventstore.metadata import META_KEY, current_idempotency
from eventstore.reconnect import POOL_RECONNECT_GIVE_UP_SECONDS
from eventstore.store_metrics import measured_append
from eventstore.transcoder import parse_json

PING_TIMEOUT_SECONDS = 2


class PaystreamRecorder(PostgresApplicationRecorder):
    """Records each event's chained hash and the running command's idempotency key in the
    events' own transaction, so both exist exactly when the events they describe exist;
    its appends are measured under its schema's name (the context's)."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        datastore.pool.reconnect_timeout = POOL_RECONNECT_GIVE_UP_SECONDS
        if datastore.enable_db_functions:
            raise ValueError("POSTGRES_ENABLE_DB_FUNCTIONS would bypass the hash chain")
        schema = self.datastore.schema
        self.sql_create_statements.append(idempotency.create_table_statement(schema))
        self.sql_create_statements.append(hash_chain.create_table_statement(schema))
        self._insert_key = idempotency.insert_statement(schema)
        self._chain = hash_chain.ChainWriter(schema)
        # Each inserted row answers with its key too, so positions pair with events exactly.
        self.insert_events_statement += SQL(", originator_id, originator_version")

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        insert = partial(super().insert_events, stored_events, **kwargs)
        ids: Sequence[int] | None = measured_append(
            self.datastore.schema, len(stored_events), insert
        )
        return ids

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        assert curs.statusmessage and curs.statusmessage.startswith("INSERT"), curs.statusmessage
        rows = curs.fetchall()
        if len(rows) != len(stored_events):
            raise ProgrammingError(f"inserted {len(rows)} events of {len(stored_events)}")
        positions = {
            (row["originator_id"], row["originator_version"]): row["notification_id"]
            for row in rows
        }
        self._chain.record(curs, stored_events, positions)
        ids = [row["notification_id"] for row in rows]
        self._record_idempotency_key(curs, stored_events, ids)
        return ids

    def _record_idempotency_key(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], ids: Sequence[int]
    ) -> None:
        key = current_idempotency()
        if key is None or not ids or not stored_events:
            return
        last = stored_events[-1]
        params = (*key, last.originator_id, last.originator_version, max(ids))
        try:
            curs.execute(self._insert_key, params)
            curs.fetchone()
        except errors.UniqueViolation:
            raise idempotency.IdempotencyKeyTaken(key[0]) from None

    def ping(self) -> None:
        """Whether the store answers right now: one query on a fresh connection (the
        library retries its own queries for up to a minute, and a pool recovering from
        an outage says little about the database itself)."""
        params = self.datastore.pool.kwargs
        assert isinstance(params, dict)  # the library passes a dict, never a callable
        with psycopg.connect(**params, connect_timeout=PING_TIMEOUT_SECONDS) as conn:
            conn.execute("SELECT 1")

    def event_origin(self, aggregate_id: UUID, version: int) -> EventOrigin | None:
        """The position and the metadata of one stored event, if it exists."""
        query = SQL(
            "SELECT notification_id, state FROM {}.{}"
            " WHERE originator_id = %s AND originator_version = %s"
        ).format(Identifier(self.datastore.schema), Identifier(self.events_table_name))
        with self.datastore.get_connection() as conn:
            row = conn.execute(query, (aggregate_id, version)).fetchone()
        if row is None:
            return None
        meta = parse_json(bytes(row["state"])).get(META_KEY) or {}
        return EventOrigin(int(row["notification_id"]), dict(meta))

    def find_outcome(self, key: str) -> IdempotentOutcome | None:
        """What the command recorded under `key` did, if one was recorded."""
        with self.datastore.get_connection() as conn:
            return idempotency.find_outcome(conn, self.datastore.schema, key)
