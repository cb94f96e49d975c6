"""A PostgreSQL datastore of the eventsourcing library on a connection string and a schema,
for work outside a context's application (benchmarks, tests); the services get theirs
from `eventstore.contexts.application_env`."""

from __future__ import annotations

from eventsourcing.postgres import PostgresDatastore
from psycopg.conninfo import conninfo_to_dict


def datastore_on(conninfo: str, schema: str, pool_size: int) -> PostgresDatastore:
    """A datastore connecting as `conninfo` says, keeping its tables in `schema`, with up
    to twice `pool_size` connections."""
    params = conninfo_to_dict(conninfo)
    return PostgresDatastore(
        dbname=str(params.get("dbname", "")),
        host=str(params.get("host") or "127.0.0.1"),
        port=str(params.get("port") or "5432"),
        user=str(params.get("user") or ""),
        password=str(params.get("password") or ""),
        schema=schema,
        pool_size=pool_size,
        max_overflow=pool_size,
    )
