"""Database, roles, schemas and grants: each service reaches only its own data."""

from __future__ import annotations

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from eventstore.contexts import Context


def ensure_database(admin_conninfo: str) -> None:
    """Create the database named in the admin URL when it does not exist yet."""
    dbname = str(conninfo_to_dict(admin_conninfo).get("dbname") or "postgres")
    maintenance = make_conninfo(admin_conninfo, dbname="postgres")
    with psycopg.connect(maintenance, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))


def ensure_role(conn: psycopg.Connection[object], role: str, password: str | None) -> None:
    """A login role with no privileges beyond what is granted to it explicitly."""
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    if not exists:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    if password:
        conn.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(password))
        )


def ensure_owned_schema(conn: psycopg.Connection[object], schema: str, owner: str) -> None:
    """A schema owned by one role; nobody else may use it unless granted."""
    conn.execute(
        sql.SQL("CREATE SCHEMA IF NOT EXISTS {} AUTHORIZATION {}").format(
            sql.Identifier(schema), sql.Identifier(owner)
        )
    )
    conn.execute(sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(sql.Identifier(schema)))


def lock_down_public(conn: psycopg.Connection[object], dbname: str) -> None:
    """No role may create objects in the public schema or use another's temp space."""
    conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
    conn.execute(
        sql.SQL("REVOKE TEMPORARY ON DATABASE {} FROM PUBLIC").format(sql.Identifier(dbname))
    )


def grant_event_reading(conn: psycopg.Connection[object], context: Context, reader: str) -> None:
    """Let a projector read a context's events table (gap repair, rebuild); nothing else."""
    ident = sql.Identifier
    conn.execute(
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(ident(context.schema), ident(reader))
    )
    conn.execute(
        sql.SQL("GRANT SELECT ON {}.{} TO {}").format(
            ident(context.schema), ident(context.events_table), ident(reader)
        )
    )


def grant_schema_reading(
    conn: psycopg.Connection[object], schema: str, owner: str, reader: str
) -> None:
    """Let a query API SELECT every table, present and future, of one schema; nothing else."""
    ident = sql.Identifier
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(ident(schema), ident(reader)))
    conn.execute(
        sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(
            ident(schema), ident(reader)
        )
    )
    conn.execute(
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT SELECT ON TABLES TO {}"
        ).format(ident(owner), ident(schema), ident(reader))
    )
