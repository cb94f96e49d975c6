"""Tracking: how far a build of a read model has applied each source's log.

Positions are kept per source and per bucket of aggregate ids (`<source>#<bucket>`,
16 buckets), so a read model can be projected by N partitions (a worker owns the
buckets b with b % N == i) and re-partitioned at any time without applying an event
twice. A worker sees every message of its source and moves all its buckets to the
last position it has scanned. The read model has reached position P of a source
when every bucket has.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg import AsyncCursor
from psycopg.sql import SQL, Composed, Identifier, Literal

from projections.projection import TRACKING_TABLE, Projection

BUCKETS = 16
_PARTITION = re.compile(r"^([0-9]{1,2})/([0-9]{1,2})$")


def bucket_of(aggregate_id: UUID) -> int:
    """The bucket of an aggregate: stable, so one aggregate's events stay in order."""
    return zlib.crc32(aggregate_id.bytes) % BUCKETS


@dataclass(frozen=True)
class Partition:
    """Partition `index` of `count`: the buckets one projector worker owns."""

    index: int = 0
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> Partition:
        """`i/N` with 0 <= i < N <= 16, or a ValueError saying so."""
        match = _PARTITION.match(text.strip())
        if not match or not 0 <= int(match[1]) < int(match[2]) <= BUCKETS:
            raise ValueError(f"a partition is i/N with 0 <= i < N <= {BUCKETS}, not {text!r}")
        return cls(int(match[1]), int(match[2]))

    @property
    def buckets(self) -> list[int]:
        return [b for b in range(BUCKETS) if b % self.count == self.index]

    @property
    def suffix(self) -> str:
        """What tells this partition's consumer apart ('' for a whole read model)."""
        return "" if self.count == 1 else f"_p{self.index}of{self.count}"


WHOLE = Partition()


def _key(source: str, bucket: int) -> str:
    return f"{source}#{bucket:02d}"


async def bucket_positions(
    cursor: AsyncCursor[Any], projection: Projection, source: str, buckets: list[int]
) -> dict[int, int]:
    """The position each of `buckets` has reached (0 if never), rows locked."""
    query = SQL("SELECT source, position FROM {}.{} WHERE source = ANY(%s) FOR UPDATE").format(
        Identifier(projection.schema()), Identifier(TRACKING_TABLE)
    )
    keys = {_key(source, bucket): bucket for bucket in buckets}
    await cursor.execute(query, (list(keys),))
    found = {keys[str(row[0])]: int(row[1]) for row in await cursor.fetchall()}
    return {bucket: found.get(bucket, 0) for bucket in buckets}


async def record_positions(
    cursor: AsyncCursor[Any], projection: Projection, source: str, positions: dict[int, int]
) -> None:
    query = SQL(
        "INSERT INTO {}.{} (source, position, updated_at)"
        " SELECT unnest(%s::text[]), unnest(%s::bigint[]), now()"
        " ON CONFLICT (source) DO UPDATE SET position = EXCLUDED.position, updated_at = now()"
    ).format(Identifier(projection.schema()), Identifier(TRACKING_TABLE))
    keys = [_key(source, bucket) for bucket in positions]
    await cursor.execute(query, (keys, list(positions.values())))


def reached_query(schema: str) -> Composed:
    """SQL (one parameter: the source) for the position every bucket has reached."""
    return SQL(
        "SELECT CASE WHEN count(*) < {buckets} THEN 0 ELSE min(position) END"
        " FROM {schema}.{table} WHERE source LIKE %s || '#%%'"
    ).format(buckets=Literal(BUCKETS), schema=Identifier(schema), table=Identifier(TRACKING_TABLE))
