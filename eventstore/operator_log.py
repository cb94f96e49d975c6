"""The operator log: who ran which operating command (rebuild, dead letters, replay, the
audit commands), with what, when, and how it ended.

An append-only table: each action is a `started` row and, unless the process died, a
`succeeded` or `failed` row with the same action id. Its role may insert and read, never
change or delete (the table belongs to the administrator). The CLI writes it today; the
console will write the same rows for what it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from eventstore.roles import ensure_private_schema

ROLE = "paystream_operations"
SCHEMA = "paystream_operations"
TABLE = "actions"

Phase = Literal["started", "succeeded", "failed"]
STARTED: Phase = "started"
SUCCEEDED: Phase = "succeeded"
FAILED: Phase = "failed"


def _table() -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(SCHEMA), sql.Identifier(TABLE))


@dataclass(frozen=True)
class ActionRow:
    """One row of the log: one phase of one action."""

    id: int
    action_id: UUID
    recorded_at: datetime
    subject: str
    client_id: str | None
    roles: list[str]
    command: str
    arguments: dict[str, Any]
    phase: str
    detail: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "action_id": str(self.action_id),
            "recorded_at": self.recorded_at.isoformat(),
            "subject": self.subject,
            "client_id": self.client_id,
            "roles": self.roles,
            "command": self.command,
            "arguments": self.arguments,
            "phase": self.phase,
            "detail": self.detail,
        }


def create(conn: psycopg.Connection[Any]) -> None:
    """The schema and table, owned by the administrator running this; the log's role may
    add and read rows, nothing else. Idempotent."""
    ident = sql.Identifier
    ensure_private_schema(conn, SCHEMA)
    conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (id bigserial PRIMARY KEY, action_id uuid NOT NULL,"
            " recorded_at timestamptz NOT NULL DEFAULT now(), subject text NOT NULL,"
            " client_id text, roles text[] NOT NULL, command text NOT NULL,"
            " arguments jsonb NOT NULL, phase text NOT NULL CHECK (phase IN ({phases})),"
            " detail text)"
        ).format(
            _table(),
            phases=sql.SQL(", ").join(sql.Literal(phase) for phase in get_args(Phase)),
        )
    )
    conn.execute(
        sql.SQL("CREATE INDEX IF NOT EXISTS actions_by_time ON {} (recorded_at)").format(_table())
    )
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(ident(SCHEMA), ident(ROLE)))
    conn.execute(sql.SQL("GRANT SELECT, INSERT ON {} TO {}").format(_table(), ident(ROLE)))
    conn.execute(
        sql.SQL("GRANT USAGE ON SEQUENCE {} TO {}").format(
            sql.Identifier(SCHEMA, f"{TABLE}_id_seq"), ident(ROLE)
        )
    )


@dataclass(frozen=True)
class Actor:
    """Who runs an action: a verified subject, its client id and its roles."""

    subject: str
    client_id: str | None
    roles: tuple[str, ...]


def record(
    conn: psycopg.Connection[Any],
    action_id: UUID,
    actor: Actor,
    command: str,
    arguments: dict[str, Any],
    phase: Phase,
    detail: str | None = None,
) -> None:
    """Append one phase of an action."""
    conn.execute(
        sql.SQL(
            "INSERT INTO {} (action_id, subject, client_id, roles, command, arguments, phase,"
            " detail) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
        ).format(_table()),
        (
            action_id,
            actor.subject,
            actor.client_id,
            list(actor.roles),
            command,
            Jsonb(arguments),
            phase,
            detail,
        ),
    )


def recent(
    conn: psycopg.Connection[Any], limit: int, subject: str | None = None
) -> list[ActionRow]:
    """The newest `limit` rows (of `subject` only, when given), oldest first."""
    with conn.cursor(row_factory=class_row(ActionRow)) as cursor:
        cursor.execute(
            sql.SQL(
                "SELECT * FROM (SELECT id, action_id, recorded_at, subject, client_id, roles,"
                " command, arguments, phase, detail FROM {} WHERE %(subject)s::text IS NULL"
                " OR subject = %(subject)s ORDER BY id DESC LIMIT %(limit)s) newest ORDER BY id"
            ).format(_table()),
            {"subject": subject, "limit": limit},
        )
        return cursor.fetchall()
