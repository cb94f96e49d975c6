"""Tamper evidence: every stored event has a hash chained to its aggregate's previous event.

hash(v) = sha256(DOMAIN, hash(v - 1), position, aggregate id, version, topic, state), each
field length-prefixed; version 1 chains from GENESIS. The state is the stored bytes, so the
metadata (`__meta__`) is covered too. Hashes live in `<schema>.event_hashes`, written in the
same transaction as their events (see PaystreamRecorder); `paystream audit verify` recomputes
them.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

TABLE = "event_hashes"
DOMAIN = b"paystream.event-hash.v1"
GENESIS = hashlib.sha256(b"paystream.event-hash.v1 genesis").digest()


# Each event's position, by (aggregate id, version): what its insert answered.
Positions = dict[tuple[UUID | str, int], int]

_NUMBERS = struct.Struct(">Qq Q16s Qq")  # position, aggregate id, version, length-prefixed


def length_prefixed(data: bytes) -> bytes:
    return len(data).to_bytes(8, "big") + data


def link_hash(
    previous: bytes, position: int, aggregate_id: UUID, version: int, topic: str, state: bytes
) -> bytes:
    """The hash of one event, chained to `previous` (its aggregate's hash at version - 1):
    each field as its 8-byte big-endian length, then its bytes; integers as signed 64-bit."""
    numbers = _NUMBERS.pack(8, position, 16, aggregate_id.bytes, 8, version)
    fields = (
        DOMAIN,
        length_prefixed(previous),
        numbers,
        length_prefixed(topic.encode()),
        length_prefixed(state),
    )
    return hashlib.sha256(b"".join(fields)).digest()


def create_table_statement(schema: str) -> Composed:
    """DDL of a context's hash table (created with its events table, owned by its role)."""
    return SQL(
        "CREATE TABLE IF NOT EXISTS {}.{} ("
        " notification_id bigint PRIMARY KEY,"
        " originator_id uuid NOT NULL,"
        " originator_version bigint NOT NULL,"
        " hash bytea NOT NULL,"
        " UNIQUE (originator_id, originator_version))"
    ).format(Identifier(schema), Identifier(TABLE))


class ChainWriter:
    """Hashes events chained to what is already recorded, in their own transaction: one
    SELECT of the previous hashes (sent with the events' INSERT), one multi-row INSERT.
    The caller holds the events table's lock, so no other writer can extend these chains
    meanwhile."""

    def __init__(self, schema: str) -> None:
        table = SQL("{}.{}").format(Identifier(schema), Identifier(TABLE))
        self._select_previous = SQL(
            "SELECT h.originator_id, h.originator_version, h.hash FROM {} h"
            " JOIN unnest(%s::uuid[], %s::bigint[]) AS p(id, version)"
            " ON h.originator_id = p.id AND h.originator_version = p.version"
        ).format(table)
        self._insert = SQL(
            "INSERT INTO {} (notification_id, originator_id, originator_version, hash)"
            " SELECT * FROM unnest(%s::bigint[], %s::uuid[], %s::bigint[], %s::bytea[])"
        ).format(table)

    def ask_previous(self, curs: Cursor[DictRow], events: Sequence[StoredEvent]) -> bool:
        """Send the query for the recorded hash before each aggregate's first of `events`
        (read it with `previous`); False when every chain starts here."""
        firsts: dict[UUID, int] = {}
        for event in events:
            assert isinstance(event.originator_id, UUID)
            first = firsts.setdefault(event.originator_id, event.originator_version)
            firsts[event.originator_id] = min(first, event.originator_version)
        wanted = [(aggregate, version - 1) for aggregate, version in firsts.items() if version > 1]
        if not wanted:
            return False
        curs.execute(self._select_previous, ([w[0] for w in wanted], [w[1] for w in wanted]))
        return True

    @staticmethod
    def previous(curs: Cursor[DictRow]) -> dict[tuple[UUID, int], bytes]:
        """The answer to `ask_previous`: hash by (aggregate id, version)."""
        return {
            (row["originator_id"], row["originator_version"]): bytes(row["hash"])
            for row in curs.fetchall()
        }

    def insert(
        self,
        curs: Cursor[DictRow],
        events: Sequence[StoredEvent],
        positions: Positions,
        previous: dict[tuple[UUID, int], bytes],
    ) -> None:
        """Send the INSERT of each of `events`' hash, now their positions are known."""
        ordered = sorted(events, key=lambda e: (e.originator_id, e.originator_version))
        chain = dict(previous)
        columns: tuple[list[int], list[UUID], list[int], list[bytes]] = ([], [], [], [])
        ids, aggregate_ids, versions, hashes = columns
        for event in ordered:
            aggregate_id, version = event.originator_id, event.originator_version
            assert isinstance(aggregate_id, UUID)
            previous_hash = chain.get((aggregate_id, version - 1), GENESIS)
            position = positions[(aggregate_id, version)]
            digest = link_hash(
                previous_hash, position, aggregate_id, version, event.topic, event.state
            )
            chain[(aggregate_id, version)] = digest
            ids.append(position)
            aggregate_ids.append(aggregate_id)
            versions.append(version)
            hashes.append(digest)
        curs.execute(self._insert, columns)
