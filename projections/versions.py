"""Builds of a read model and the one readers see.

Each build of a read model lives in a schema of its own (`<name>_v<version>`, or
`<name>_v<version>_<stamp>` for a rebuild). The stable schema `read_<name>` holds one
view per table of the active build, the row `active_build` naming it, and the dead
letters. Readers only use the views, so switching builds is one transaction: repoint the views.
Projector batches hold a shared advisory lock and a switch an exclusive one, so a
switch never lands in the middle of a batch.
"""

from __future__ import annotations

import zlib
from typing import Any

from psycopg import AsyncConnection, AsyncCursor
from psycopg.sql import SQL, Identifier

from projections import dead_letters
from projections.projection import TRACKING_TABLE, Projection
from projections.tracking import positions_from, rows_of

ACTIVE_TABLE = "active_build"


def lock_key(projection: type[Projection]) -> int:
    """The advisory lock that orders batches (shared) against a switch (exclusive)."""
    return zlib.crc32(f"paystream-projection:{projection.name}".encode())


async def install(conn: AsyncConnection[Any], projection: type[Projection]) -> tuple[str, int]:
    """Make sure the read model exists; the active build's schema and version."""
    stable = Identifier(projection.read_schema())
    async with conn.transaction(), conn.cursor() as cursor:
        await cursor.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(projection),))
        await cursor.execute(
            SQL(
                "CREATE TABLE IF NOT EXISTS {}.{} (single boolean PRIMARY KEY DEFAULT true"
                " CHECK (single), schema text NOT NULL, version int NOT NULL,"
                " switched_at timestamptz NOT NULL DEFAULT now())"
            ).format(stable, Identifier(ACTIVE_TABLE))
        )
        await dead_letters.create_table(cursor, projection)
        active = await active_build(cursor, projection)
        if active is not None:
            return active
        target = projection.versioned_schema()
        await create_build(cursor, projection(target))
        await switch(cursor, projection, target)
        return target, projection.version


async def active_build(
    cursor: AsyncCursor[Any], projection: type[Projection]
) -> tuple[str, int] | None:
    """The schema and version of the build readers see, if one is installed."""
    await cursor.execute(
        SQL("SELECT schema, version FROM {}.{}").format(
            Identifier(projection.read_schema()), Identifier(ACTIVE_TABLE)
        )
    )
    row = await cursor.fetchone()
    return (str(row[0]), int(row[1])) if row else None


async def active_build_positions(
    cursor: AsyncCursor[Any], projection: type[Projection], source: str, buckets: list[int]
) -> tuple[tuple[str, int], dict[int, int]] | None:
    """The active build (as `active_build`) and the position each of `buckets` of
    `source` has reached in it (as `tracking.bucket_positions`), in one round trip: its
    tracking rows read through the read schema's view, which a switch repoints in the
    transaction that records the build. None when no build is installed."""
    read = Identifier(projection.read_schema())
    await cursor.execute(
        SQL(
            "SELECT a.schema, a.version, t.source, t.position FROM {}.{} a"
            " LEFT JOIN {}.{} t ON left(t.source, %s) = ANY(%s)"
        ).format(read, Identifier(ACTIVE_TABLE), read, Identifier(TRACKING_TABLE)),
        rows_of(source),
    )
    rows = await cursor.fetchall()
    if not rows:
        return None
    tracked = [(key, position) for _, _, key, position in rows if key is not None]
    return (str(rows[0][0]), int(rows[0][1])), positions_from(tracked, source, buckets)


async def create_build(cursor: AsyncCursor[Any], projection: Projection) -> None:
    """A schema with the read model's empty tables, for `projection.schema()`."""
    await cursor.execute("SELECT paystream_builds.create_build_schema(%s)", (projection.schema(),))
    for statement in projection.ddl():
        await cursor.execute(statement)


async def switch(cursor: AsyncCursor[Any], projection: type[Projection], target: str) -> None:
    """Make `target` the build readers see: repoint every view, record it (call inside a
    transaction holding the exclusive lock)."""
    stable = projection.read_schema()
    await cursor.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s"
        " AND table_type = 'VIEW'",
        (stable,),
    )
    for (view,) in await cursor.fetchall():
        await cursor.execute(SQL("DROP VIEW {}.{}").format(Identifier(stable), Identifier(view)))
    await cursor.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s"
        " AND table_type = 'BASE TABLE'",
        (target,),
    )
    for (table,) in await cursor.fetchall():
        await cursor.execute(
            SQL("CREATE VIEW {}.{} AS SELECT * FROM {}.{}").format(
                Identifier(stable), Identifier(table), Identifier(target), Identifier(table)
            )
        )
    await cursor.execute(
        SQL(
            "INSERT INTO {}.{} (single, schema, version) VALUES (true, %s, %s)"
            " ON CONFLICT (single) DO UPDATE SET schema = EXCLUDED.schema,"
            " version = EXCLUDED.version, switched_at = now()"
        ).format(Identifier(stable), Identifier(ACTIVE_TABLE)),
        (target, projection.version),
    )
