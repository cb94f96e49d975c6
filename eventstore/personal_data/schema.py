"""The key tables: their own schema, owned by the administrator, reachable only through
one role, which is granted to the services that read personal data."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from eventstore.roles import ensure_private_schema

ROLE = "paystream_personal_data"
SCHEMA = "personal_data"
DATA_KEYS = "data_keys"
KEK_CHECK = "kek_check"
TABLES = (DATA_KEYS, KEK_CHECK)


def table(name: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(SCHEMA), sql.Identifier(name))


def create(conn: psycopg.Connection[Any], readers: list[str]) -> None:
    """Schema, tables and grants (idempotent): the role may read, add and update keys,
    never delete them; each of `readers` becomes a member of the role."""
    ident = sql.Identifier
    ensure_private_schema(conn, SCHEMA)
    conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (subject text PRIMARY KEY,"
            " key_id uuid NOT NULL UNIQUE, wrapped bytea, kek_id text,"
            " created_at timestamptz NOT NULL DEFAULT now(), destroyed_at timestamptz,"
            " CHECK ((wrapped IS NULL) = (destroyed_at IS NOT NULL)),"
            " CHECK ((wrapped IS NULL) = (kek_id IS NULL)))"
        ).format(table(DATA_KEYS))
    )
    conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (one_row boolean PRIMARY KEY DEFAULT true"
            " CHECK (one_row), kek_id text NOT NULL, sealed bytea NOT NULL,"
            " sealed_at timestamptz NOT NULL DEFAULT now())"
        ).format(table(KEK_CHECK))
    )
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(ident(SCHEMA), ident(ROLE)))
    for name in TABLES:
        conn.execute(
            sql.SQL("GRANT SELECT, INSERT, UPDATE ON {} TO {}").format(table(name), ident(ROLE))
        )
    for reader in readers:
        conn.execute(sql.SQL("GRANT {} TO {}").format(ident(ROLE), ident(reader)))
