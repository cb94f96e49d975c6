"""Where each read model stands: the figures `projections status` prints (and, later,
/metrics exports), computed in one place."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from psycopg import AsyncConnection

from eventstore.contexts import Context
from eventstore.reader import max_position, read_events
from projections import dead_letters
from projections.projection import Projection
from projections.reached import reached_position
from projections.rebuild import rebuild_lock_key
from projections.versions import active_build

ProjectionState = Literal["running", "rebuilding", "halted"]
RUNNING: ProjectionState = "running"
REBUILDING: ProjectionState = "rebuilding"
HALTED: ProjectionState = "halted"


@dataclass(frozen=True)
class SourceProgress:
    """How far one source's log has been applied, and how far behind that is."""

    source: str
    position: int
    head: int
    lag_events: int
    lag_seconds: float


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    version: int | None
    active_schema: str | None
    state: ProjectionState
    sources: list[SourceProgress] = field(default_factory=list)
    dead_letters: list[dead_letters.DeadLetter] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


async def projection_status(
    conn: AsyncConnection[Any], projection: type[Projection]
) -> ProjectionStatus:
    """The status of one read model, read as its projector's role."""
    async with conn.cursor() as cursor:
        active = await active_build(cursor, projection)
    letters = await dead_letters.letters(conn, projection)
    sources = [await _progress(conn, projection, source) for source in projection.sources]
    state: ProjectionState
    if any(letter.status == dead_letters.OPEN for letter in letters):
        state = HALTED
    elif await _rebuilding(conn, projection):
        state = REBUILDING
    else:
        state = RUNNING
    return ProjectionStatus(
        projection.name,
        active[1] if active else None,
        active[0] if active else None,
        state,
        sources,
        letters,
    )


async def _progress(
    conn: AsyncConnection[Any], projection: type[Projection], source: Context
) -> SourceProgress:
    position = await reached_position(conn, projection, source.name)
    head = await max_position(conn, source)
    lag_seconds = 0.0
    if head > position:
        oldest = await read_events(conn, source, position, limit=1)
        if oldest:
            recorded = datetime.fromisoformat(oldest[0].metadata()["recorded_at"])
            lag_seconds = max(0.0, (datetime.now(UTC) - recorded).total_seconds())
    return SourceProgress(source.name, position, head, max(0, head - position), lag_seconds)


async def _rebuilding(conn: AsyncConnection[Any], projection: type[Projection]) -> bool:
    row = await (
        await conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s::oid"
            " AND classid = 0::oid",
            (rebuild_lock_key(projection),),
        )
    ).fetchone()
    return bool(row and row[0])
