"""Why a rebuild failed, down to the event: `<EventType> at <context>:<position>`.

A rebuild applies each batch pipelined, so a statement's error may surface at a later
statement or at the end of the batch, not at the event that caused it. When a batch
fails, it is replayed one event at a time, without the pipeline, in a transaction that
is rolled back, every constraint checked at once: the first event that fails there is
the one the error names.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from eventstore.contexts import Context
from eventstore.envelope import EventEnvelope
from eventstore.reader import read_events
from projections.projection import Projection

Skipped = set[tuple[str, int]]
DIAGNOSIS_PAGE = 500
# Checks deferred constraints now (they stay immediate for the rest of the transaction).
CHECK_DEFERRED = "SET CONSTRAINTS ALL IMMEDIATE"


class RebuildError(Exception):
    """A rebuild that cannot start (another is running...) or that failed on an event."""


class BatchFailed(Exception):
    """A batch of `source` in (after, last] failed somewhere; its transaction rolls back."""

    def __init__(self, source: Context, after: int, last: int, error: Exception) -> None:
        super().__init__(f"{source.name} batch ({after}, {last}]: {error}")
        self.source = source
        self.after = after
        self.last = last
        self.error = error


async def failure_named(
    conn: AsyncConnection[Any], build: Projection, failed: BatchFailed, skipped: Skipped
) -> RebuildError:
    """The rebuild's error, naming the event the failed batch broke on (when it breaks
    again alone) and what went wrong."""
    found = await first_failing_event(conn, build, failed, skipped)
    envelope, error = found if found else (None, failed.error)
    where = (
        f"{envelope.event_type} at {envelope.context}:{envelope.position}"
        if envelope
        else f"the events of {failed.source.name} after {failed.after} up to {failed.last}"
    )
    return RebuildError(
        f"rebuild of {build.name} failed on {where}: {type(error).__name__}: {error}"
    )


async def first_failing_event(
    conn: AsyncConnection[Any], build: Projection, failed: BatchFailed, skipped: Skipped
) -> tuple[EventEnvelope, Exception] | None:
    """Apply the failed range again, one event at a time, rolled back; the first failure."""
    async with conn.transaction(force_rollback=True), conn.cursor() as cursor:
        await cursor.execute(CHECK_DEFERRED)  # each statement checked as it runs
        after = failed.after
        while after < failed.last:
            batch = await read_events(
                conn, failed.source, after, before=failed.last + 1, limit=DIAGNOSIS_PAGE
            )
            if not batch:
                return None
            for envelope in batch:
                if (envelope.context, envelope.position) in skipped:
                    continue
                try:
                    await build.apply(cursor, envelope)
                except Exception as error:
                    return envelope, error
            after = batch[-1].position
    return None
