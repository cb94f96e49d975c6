"""The PostgreSQL application recorder of every context: events, their chained hashes and the
command's idempotency key, in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import (
    DatabaseError,
    DataError,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    PersistenceError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg import Connection, Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from domains.command_records import EventOrigin, IdempotentOutcome
from eventstore import hash_chain, idempotency
from eventstore.group_commit import CommitGroups
from eventstore.hash_chain import Positions
from eventstore.metadata import META_KEY, current_idempotency
from eventstore.reconnect import POOL_RECONNECT_GIVE_UP_SECONDS
from eventstore.settings import GroupCommitSettings
from eventstore.store_metrics import measured_append, observe_group
from eventstore.transcoder import parse_json

PING_TIMEOUT_SECONDS = 2
# Events in one group commit at most: more than this waits for the next (a lone append of
# more is written alone).
MAX_EVENTS_PER_GROUP = 5_000


@dataclass(frozen=True)
class Append:
    """One command's events, and the (key, fingerprint) of its Idempotency-Key if it has
    one: what a caller hands to the next group commit."""

    events: Sequence[StoredEvent]
    key: tuple[str, str] | None

    def key_row(self, positions: Positions) -> tuple[Any, ...] | None:
        """The idempotency record of this append, once its events' positions are known."""
        if self.key is None:
            return None
        last = self.events[-1]
        position = max(positions[(e.originator_id, e.originator_version)] for e in self.events)
        return (*self.key, last.originator_id, last.originator_version, position)


# What a command's own failure is raised as, as the library's datastore would raise it.
_PERSISTENCE_ERRORS: tuple[tuple[type[psycopg.Error], type[PersistenceError]], ...] = (
    (psycopg.IntegrityError, IntegrityError),
    (psycopg.DataError, DataError),
    (psycopg.ProgrammingError, ProgrammingError),
    (psycopg.InternalError, InternalError),
    (psycopg.NotSupportedError, NotSupportedError),
)


def refusal(error: psycopg.DatabaseError, append: Append) -> Exception:
    """What refused one command's append: its idempotency key taken, a version taken
    (IntegrityError), or another error of its own data, as the library raises them."""
    if (
        isinstance(error, psycopg.errors.UniqueViolation)
        and error.diag.table_name == idempotency.TABLE
        and append.key is not None
    ):
        return idempotency.IdempotencyKeyTaken(append.key[0])
    for raised, ours in _PERSISTENCE_ERRORS:
        if isinstance(error, raised):
            return ours(str(error))
    return DatabaseError(str(error))


class PaystreamRecorder(PostgresApplicationRecorder):
    """Records each event's chained hash and the running command's idempotency key in the
    events' own transaction, so both exist exactly when the events they describe exist.

    Group commit (eventstore/group_commit.py): commands saving at the same time share
    one transaction, one lock and one commit. A group is first written whole; when one of
    its commands fails on its own data (a version taken, an idempotency key taken, a value
    PostgreSQL refuses) the group is written again with each command in a savepoint of
    its own, so that command alone fails. Appends are measured under its schema's name
    (the context's)."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        datastore.pool.reconnect_timeout = POOL_RECONNECT_GIVE_UP_SECONDS
        if datastore.enable_db_functions:
            raise ValueError("POSTGRES_ENABLE_DB_FUNCTIONS would bypass the hash chain")
        schema = self.datastore.schema
        self.sql_create_statements.append(idempotency.create_table_statement(schema))
        self.sql_create_statements.append(hash_chain.create_table_statement(schema))
        self._insert_keys = idempotency.insert_statement(schema)
        self._chain = hash_chain.ChainWriter(schema)
        # Each inserted row answers with its key too, so positions pair with events exactly.
        self.insert_events_statement += SQL(", originator_id, originator_version")
        settings = GroupCommitSettings()
        self.groups: CommitGroups[Append, Sequence[int]] = CommitGroups(
            self._write_group,
            max_items=settings.paystream_group_commit_max_commands,
            max_size=MAX_EVENTS_PER_GROUP,
            size=lambda append: len(append.events),
        )

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return None
        append = Append(stored_events, current_idempotency())
        ids: Sequence[int] = measured_append(
            self.datastore.schema, len(stored_events), partial(self.groups.submit, append)
        )
        return ids

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _write_group(self, appends: list[Append]) -> list[Sequence[int] | Exception]:
        """Each append's positions, or what refused it: the whole group in one
        transaction, or each in a savepoint of its own when one of them conflicts."""
        with self.datastore.get_connection() as conn:
            try:
                with conn.pipeline(), conn.transaction():
                    together = self._write(conn, appends)
            except psycopg.OperationalError:
                raise  # the connection, not a command: the whole group is tried again
            except psycopg.DatabaseError as error:
                if len(appends) == 1:
                    return [refusal(error, appends[0])]
            else:
                observe_group(self.datastore.schema, len(appends))
                return list(together)
            outcomes: list[Sequence[int] | Exception] = []
            with conn.transaction():
                self._lock(conn)  # outside the savepoints: rolling one back keeps the lock
                for append in appends:
                    try:
                        with conn.transaction():  # a savepoint: a refusal undoes this one
                            outcomes.extend(self._write(conn, [append], lock=False))
                    except psycopg.OperationalError:
                        raise
                    except psycopg.DatabaseError as error:
                        outcomes.append(refusal(error, append))
            observe_group(self.datastore.schema, len(appends))
            return outcomes

    def _lock(self, conn: Connection[DictRow]) -> None:
        """Lock the events table for this transaction, and wake the relay at its commit."""
        with conn.cursor() as curs:
            self._lock_table(curs)
            self._notify_channel(curs)

    def _write(
        self, conn: Connection[DictRow], appends: list[Append], *, lock: bool = True
    ) -> list[Sequence[int]]:
        """Insert the appends' events, their hashes and their idempotency keys (having
        locked the events table, unless told the transaction did); each append's
        positions. In pipeline mode the lock, the query for the previous hashes and the
        events' INSERT go in one round trip, the hashes and keys with the commit."""
        events = [event for append in appends for event in append.events]
        if lock:
            self._lock(conn)
        with conn.cursor() as asked, conn.cursor() as inserted:
            previous_asked = self._chain.ask_previous(asked, events)
            inserted.execute(self.insert_events_statement, (self._pg_events(events),))
            previous = self._chain.previous(asked) if previous_asked else {}
            positions = self._positions(inserted, events)
        with conn.cursor() as curs:
            self._chain.insert(curs, events, positions, previous)
        keys = [row for append in appends if (row := append.key_row(positions))]
        if keys:
            with conn.cursor() as curs:
                curs.execute(
                    self._insert_keys, [list(column) for column in zip(*keys, strict=True)]
                )
        return [
            [positions[(e.originator_id, e.originator_version)] for e in append.events]
            for append in appends
        ]

    def _pg_events(self, events: Sequence[StoredEvent]) -> list[Any]:
        return [
            self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
            for e in events
        ]

    @staticmethod
    def _positions(curs: Cursor[DictRow], events: Sequence[StoredEvent]) -> Positions:
        """Each inserted event's position, by (aggregate id, version)."""
        rows = curs.fetchall()
        if len(rows) != len(events):
            raise ProgrammingError(f"inserted {len(rows)} events of {len(events)}")
        return {
            (row["originator_id"], row["originator_version"]): row["notification_id"]
            for row in rows
        }

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
