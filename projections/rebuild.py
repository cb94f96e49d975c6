"""Rebuild a read model with no downtime (`paystream rebuild <projection>`).

A new build is made in a new schema straight from the event stores (batched reads,
one transaction per batch), while the live build keeps serving. When the new build
has caught up, one transaction takes the exclusive projection lock (so no live
batch is half-applied), applies the last events from the event stores, and
repoints the readers' views: readers never see a half-built model. The old build
is dropped afterwards. An interrupted rebuild leaves the live build untouched; the
next rebuild drops the leftover schema and starts clean.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection, AsyncCursor
from psycopg.sql import SQL, Identifier

from eventstore.contexts import Context
from eventstore.reader import max_position, read_events
from projections.dead_letters import skipped as skipped_events
from projections.projection import Projection
from projections.rebuild_failures import (
    CHECK_DEFERRED,
    BatchFailed,
    RebuildError,
    Skipped,
    failure_named,
)
from projections.tracking import WHOLE, bucket_positions, record_scanned
from projections.versions import create_build, install, lock_key, switch

__all__ = ["RebuildError", "rebuild"]

REPLAY_BATCH = 2000

Progress = Callable[[int], None]


@dataclass
class RebuildPlan:
    """What a rebuild will do."""

    projection: str
    active_schema: str
    new_schema: str
    events: dict[str, int]
    leftovers: list[str] = field(default_factory=list)

    @property
    def total_events(self) -> int:
        return sum(self.events.values())


@dataclass
class RebuildReport:
    plan: RebuildPlan
    applied: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.applied / self.seconds if self.seconds else 0.0


def rebuild_lock_key(projection: type[Projection]) -> int:
    return zlib.crc32(f"paystream-rebuild:{projection.name}".encode())


async def plan_rebuild(conn: AsyncConnection[Any], projection: type[Projection]) -> RebuildPlan:
    """The rebuild's plan, changing nothing (what --dry-run prints)."""
    active, _ = await install(conn, projection)
    # Microseconds: a build stamped in the same second as the active one must not take
    # its name (the rebuild would drop the build it just made).
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
    events = {source.name: await max_position(conn, source) for source in projection.sources}
    cursor = await conn.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s AND nspname <> %s"
        " AND pg_get_userbyid(nspowner) = current_user ORDER BY nspname",
        (f"{projection.name}\\_v%", active),
    )
    leftovers = [str(row[0]) for row in await cursor.fetchall()]
    return RebuildPlan(
        projection.name, active, f"{projection.versioned_schema()}_{stamp}", events, leftovers
    )


async def rebuild(
    projection: type[Projection], conninfo: str, on_progress: Progress | None = None
) -> RebuildReport:
    """Build a new version from the event stores and switch readers to it."""
    progress = on_progress or (lambda applied: None)
    async with await AsyncConnection.connect(conninfo, autocommit=True) as conn:
        held = await (
            await conn.execute("SELECT pg_try_advisory_lock(%s)", (rebuild_lock_key(projection),))
        ).fetchone()
        if not held or not held[0]:
            raise RebuildError(f"a rebuild of {projection.name} is already running")
        plan = await plan_rebuild(conn, projection)
        for leftover in plan.leftovers:
            await conn.execute(SQL("DROP SCHEMA {} CASCADE").format(Identifier(leftover)))
        started = time.monotonic()
        build = projection(plan.new_schema)
        async with conn.cursor() as cursor:
            await create_build(cursor, build)
        applied = await _replay(conn, build, await skipped_events(conn, projection), progress)
        skipped = await skipped_events(conn, projection)  # an operator may have skipped more
        applied += await _switch(conn, build, skipped, progress)
        await conn.execute(
            SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(Identifier(plan.active_schema))
        )
        return RebuildReport(plan, applied, time.monotonic() - started)


async def _replay(
    conn: AsyncConnection[Any], build: Projection, skipped: Skipped, progress: Progress
) -> int:
    """Apply history one batch per transaction until nothing is left (for now)."""
    applied = 0
    while True:
        done = 0
        for source in build.sources:
            try:
                async with conn.transaction(), conn.cursor() as cursor:
                    done += await _apply_batch(conn, cursor, build, source, skipped, progress)
            except BatchFailed as failed:
                raise await failure_named(conn, build, failed, skipped) from failed.error
        applied += done
        if done == 0:
            return applied


async def _switch(
    conn: AsyncConnection[Any], build: Projection, skipped: Skipped, progress: Progress
) -> int:
    """Under the exclusive lock: apply the last events, then repoint the views."""
    projection = type(build)
    applied = 0
    try:
        async with conn.transaction(), conn.cursor() as cursor:
            await cursor.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(projection),))
            while True:
                done = 0
                for source in build.sources:
                    done += await _apply_batch(conn, cursor, build, source, skipped, progress)
                applied += done
                if done == 0:
                    break
            await switch(cursor, projection, build.schema())
    except BatchFailed as failed:
        raise await failure_named(conn, build, failed, skipped) from failed.error
    return applied


async def _apply_batch(
    conn: AsyncConnection[Any],
    cursor: AsyncCursor[Any],
    build: Projection,
    source: Context,
    skipped: Skipped,
    progress: Progress,
) -> int:
    """Apply the next batch of `source` after the build's tracked position, but the events
    an operator skipped (exactly as the live projector does)."""
    reached = await bucket_positions(cursor, build, source.name, WHOLE.buckets)
    position = min(reached.values())
    batch = await read_events(conn, source, position, limit=REPLAY_BATCH)
    try:
        async with conn.pipeline():  # handlers' statements go out without a round trip each
            for envelope in batch:
                if (envelope.context, envelope.position) not in skipped:
                    await build.apply(cursor, envelope)
            await cursor.execute(CHECK_DEFERRED)  # fail here, named, rather than at commit
    except Exception as error:
        last = batch[-1].position if batch else position
        raise BatchFailed(source, position, last, error) from error
    if batch:
        last = batch[-1].position
        await record_scanned(cursor, build, source.name, WHOLE, last)
        progress(len(batch))
    return len(batch)
