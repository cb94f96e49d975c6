"""Rows of one context rewritten in place by the plaintext migration: events' and
snapshots' stored state and the events' recorded hashes, by (aggregate id, version)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
from psycopg.sql import SQL, Composed, Identifier

from eventstore.contexts import Context
from eventstore.hash_chain import TABLE as HASHES

BATCH = 1_000  # rows per UPDATE


class Updates:
    """The rewritten rows of one context (events, snapshots, hashes), sent BATCH at a time,
    each row found by (aggregate id, version)."""

    def __init__(self, conn: psycopg.Connection[Any], context: Context) -> None:
        self._conn = conn
        self._statements = {
            "events": _update(context, context.events_table, "state"),
            "snapshots": _update(context, context.snapshots_table, "state"),
            "hashes": _update(context, HASHES, "hash"),
        }
        self._pending: dict[str, list[tuple[UUID, int, bytes]]] = {}

    def event(self, aggregate_id: UUID, version: int, state: bytes) -> None:
        self._add("events", (aggregate_id, version, state))

    def snapshot(self, aggregate_id: UUID, version: int, state: bytes) -> None:
        self._add("snapshots", (aggregate_id, version, state))

    def hash(self, aggregate_id: UUID, version: int, digest: bytes) -> None:
        self._add("hashes", (aggregate_id, version, digest))

    def flush(self) -> None:
        for table in list(self._pending):
            self._send(table)

    def _add(self, table: str, row: tuple[UUID, int, bytes]) -> None:
        rows = self._pending.setdefault(table, [])
        rows.append(row)
        if len(rows) >= BATCH:
            self._send(table)

    def _send(self, table: str) -> None:
        rows = self._pending.pop(table, [])
        if rows:
            columns = [list(column) for column in zip(*rows, strict=True)]
            self._conn.execute(self._statements[table], columns)


def _update(context: Context, table: str, column: str) -> Composed:
    return SQL(
        "UPDATE {}.{} AS t SET {} = u.value"
        " FROM unnest(%s::uuid[], %s::bigint[], %s::bytea[]) AS u(id, version, value)"
        " WHERE t.originator_id = u.id AND t.originator_version = u.version"
    ).format(Identifier(context.schema), Identifier(table), Identifier(column))
