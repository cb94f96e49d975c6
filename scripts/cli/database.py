"""The database a command works on, checked before it starts: a server that does not
answer is the same one line in every command, after at most CONNECT_TIMEOUT_SECONDS
(a missing DATABASE_URL is a MissingSetting, reported by scripts/cli/errors.py)."""

from __future__ import annotations

import psycopg
from psycopg.conninfo import conninfo_to_dict

from eventstore.settings import DatabaseSettings
from scripts.cli.errors import CliError

CONNECT_TIMEOUT_SECONDS = 2


def reachable_database(role: str | None = None) -> DatabaseSettings:
    """DATABASE_URL's settings once the server takes a connection (as `role`, or as the
    administrator); a CliError saying what is wrong otherwise."""
    db = DatabaseSettings()
    conninfo = db.role_conninfo(role) if role else db.admin_conninfo()
    try:
        psycopg.connect(conninfo, connect_timeout=CONNECT_TIMEOUT_SECONDS).close()
    except psycopg.Error as error:
        raise unreachable(conninfo, error) from None
    return db


def unreachable(conninfo: str, error: psycopg.Error) -> CliError:
    """The one message for a PostgreSQL server that does not take a connection."""
    return CliError(f"cannot reach PostgreSQL at {server(conninfo)}: {why(error)}")


def why(error: psycopg.Error) -> str:
    """libpq's reason without its preamble: `Connection refused`, not `connection failed:
    connection to server at "127.0.0.1", port 9 failed: Connection refused`."""
    lines = str(error).strip().splitlines() or ["no detail"]
    return lines[0].rsplit(" failed: ", 1)[-1].removeprefix("FATAL:").strip()


def server(conninfo: str) -> str:
    """`host:port` of a connection string, without user or password."""
    params = conninfo_to_dict(conninfo)
    return f"{params.get('host') or 'localhost'}:{params.get('port') or 5432}"
