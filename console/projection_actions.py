"""What the projections page reads and does, with the functions `paystream projections
status|retry|skip` use: each read model's status and dead letters, and resolving them."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from eventstore.settings import DatabaseSettings
from projections import dead_letters
from projections.dead_letters import DeadLetter, NoSuchLetter
from projections.projection import Projection
from projections.registry import PROJECTIONS
from projections.status import ProjectionStatus, projection_status


async def _connect(projection: type[Projection]) -> AsyncConnection[Any]:
    conninfo = DatabaseSettings().role_conninfo(projection.role())
    return await AsyncConnection.connect(conninfo, autocommit=True, connect_timeout=5)


async def statuses() -> list[ProjectionStatus]:
    """Every read model's status, by name (what `projections status` shows)."""
    shown = []
    for name in sorted(PROJECTIONS):
        async with await _connect(PROJECTIONS[name]) as conn:
            shown.append(await projection_status(conn, PROJECTIONS[name]))
    return shown


async def open_letter(projection: type[Projection], position: int) -> DeadLetter:
    """The open dead letter of `projection` at `position`; NoSuchLetter otherwise."""
    async with await _connect(projection) as conn:
        letters = await dead_letters.letters(conn, projection, dead_letters.OPEN)
    for letter in letters:
        if letter.position == position:
            return letter
    raise NoSuchLetter(f"{projection.name} has no open dead letter at position {position}")


async def open_letters(projection: type[Projection]) -> list[DeadLetter]:
    async with await _connect(projection) as conn:
        return await dead_letters.letters(conn, projection, dead_letters.OPEN)


async def resolve(projection: type[Projection], status: str, by: str, position: int | None) -> int:
    """Retry or skip (the one at `position`, when given) as `by`; NoSuchLetter when
    there was none to resolve."""
    async with await _connect(projection) as conn:
        return await dead_letters.resolve(conn, projection, status, by, position)
