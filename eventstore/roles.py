"""Database, roles, schemas and grants: each service reaches only its own data."""

from __future__ import annotations

from typing import Any

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


def ensure_private_schema(conn: psycopg.Connection[Any], schema: str) -> None:
    """A schema owned by the administrator running this, closed to everyone else until
    granted (idempotent)."""
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    conn.execute(sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(sql.Identifier(schema)))


def lock_down_public(conn: psycopg.Connection[object], dbname: str) -> None:
    """No role may create objects in the public schema or use another's temp space."""
    conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
    conn.execute(
        sql.SQL("REVOKE TEMPORARY ON DATABASE {} FROM PUBLIC").format(sql.Identifier(dbname))
    )


BUILDS_SCHEMA = "paystream_builds"


def allow_build_schemas(conn: psycopg.Connection[object], owners: dict[str, str]) -> None:
    """Let each projector role create schemas for new builds of its own read model only.

    Roles get no CREATE on the database (that would let one take another's names);
    instead a SECURITY DEFINER function creates `<name>_v<n>[_<stamp>]` owned by the
    calling role, where <name> is the read model registered for that role."""
    ident = sql.Identifier
    ensure_private_schema(conn, BUILDS_SCHEMA)
    conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {}.owners (role name PRIMARY KEY, read_model text NOT NULL)"
        ).format(ident(BUILDS_SCHEMA))
    )
    conn.execute(
        sql.SQL(
            "CREATE OR REPLACE FUNCTION {}.create_build_schema(build text) RETURNS void"
            " LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$"
            " DECLARE model text;"
            " BEGIN"
            "  SELECT read_model INTO model FROM paystream_builds.owners WHERE role = session_user;"
            "  IF model IS NULL OR build !~ ('^' || model || '_v[0-9]+(_[0-9]+)?$') THEN"
            "   RAISE EXCEPTION 'role % may not create schema %', session_user, build"
            "   USING ERRCODE = '42501';"
            "  END IF;"
            "  EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I',"
            "   build, session_user);"
            " END $$"
        ).format(ident(BUILDS_SCHEMA))
    )
    conn.execute(
        sql.SQL("REVOKE ALL ON FUNCTION {}.create_build_schema(text) FROM PUBLIC").format(
            ident(BUILDS_SCHEMA)
        )
    )
    for role, read_model in owners.items():
        conn.execute(
            sql.SQL(
                "INSERT INTO {}.owners (role, read_model) VALUES (%s, %s)"
                " ON CONFLICT (role) DO UPDATE SET read_model = EXCLUDED.read_model"
            ).format(ident(BUILDS_SCHEMA)),
            (role, read_model),
        )
        conn.execute(
            sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(ident(BUILDS_SCHEMA), ident(role))
        )
        conn.execute(
            sql.SQL("GRANT EXECUTE ON FUNCTION {}.create_build_schema(text) TO {}").format(
                ident(BUILDS_SCHEMA), ident(role)
            )
        )


def grant_event_reading(conn: psycopg.Connection[object], context: Context, reader: str) -> None:
    """Let a projector (gap repair, rebuild) or a relay read a context's events table;
    nothing else."""
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


def grant_roles(conn: psycopg.Connection[object], member: str, roles: list[str]) -> None:
    """Make `member` a member of each of `roles`, inheriting their privileges (a projector
    process hosting a group of read models writes each with its own role's grants)."""
    for role in roles:
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(role), sql.Identifier(member)))
