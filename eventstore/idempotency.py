"""Idempotency keys: recorded in the same transaction as the events they produced."""

from __future__ import annotations

from typing import Any

from psycopg import Connection
from psycopg.sql import SQL, Composed, Identifier

from domains.command_records import IdempotentOutcome

TABLE = "idempotency_keys"
# The fingerprint of a record whose request held an erased person's data (gdpr erase): a
# retry under its key is answered from the record, its body unchecked.
ERASED_FINGERPRINT = "erased"


def create_table_statement(schema: str) -> Composed:
    """DDL of a context's idempotency table."""
    return SQL(
        "CREATE TABLE IF NOT EXISTS {}.{} ("
        " key text PRIMARY KEY,"
        " request_fingerprint text NOT NULL,"
        " aggregate_id uuid NOT NULL,"
        " aggregate_version bigint NOT NULL,"
        " position bigint NOT NULL,"
        " recorded_at timestamptz NOT NULL DEFAULT now())"
    ).format(Identifier(schema), Identifier(TABLE))


def insert_statement(schema: str) -> Composed:
    """The INSERT of many commands' keys: key, fingerprint, aggregate id and version of
    the last event, and its position, each a column."""
    return SQL(
        "INSERT INTO {}.{} (key, request_fingerprint, aggregate_id, aggregate_version, position)"
        " SELECT * FROM unnest(%s::text[], %s::text[], %s::uuid[], %s::bigint[], %s::bigint[])"
    ).format(Identifier(schema), Identifier(TABLE))


class IdempotencyKeyTaken(Exception):
    """Another command with the same key committed first; nothing of this one was stored."""


def find_outcome(conn: Connection[Any], schema: str, key: str) -> IdempotentOutcome | None:
    """The first outcome recorded under `key`, if any."""
    row = conn.execute(
        SQL(
            "SELECT key, request_fingerprint, aggregate_id, aggregate_version, position,"
            " recorded_at FROM {}.{} WHERE key = %s"
        ).format(Identifier(schema), Identifier(TABLE)),
        (key,),
    ).fetchone()
    if row is None:
        return None
    values = list(row.values()) if isinstance(row, dict) else list(row)
    return IdempotentOutcome(*values)
