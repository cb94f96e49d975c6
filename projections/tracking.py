"""Tracking: how far a build of a read model has applied each source's log.

Positions are kept per source and per bucket of aggregate ids (16 buckets), so a read
model can be projected by N partitions (a worker owns the buckets b with b % N == i) and
re-partitioned at any time without applying an event twice. A tracking row states a fact
about a set of buckets: `<source>@<i>/<N>` (written by partition i/N: every event of its
buckets up to the position is applied) or `<source>#<bucket>` (one bucket; written before
issue 13, still read). A bucket has reached the highest position of the rows covering it,
and the read model has reached position P of a source when every bucket has. A worker
sees every message of its source and moves its one row to the last position it scanned.
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


def _scanned_key(source: str, partition: Partition) -> str:
    return f"{source}@{partition.index}/{partition.count}"


def covered(source: str, key: str) -> list[int]:
    """The buckets a tracking row of `source` speaks for (none if it is another's)."""
    if key.startswith(f"{source}#"):
        return [int(key[len(source) + 1 :])]
    if key.startswith(f"{source}@"):
        index, count = key[len(source) + 1 :].split("/")
        return Partition(int(index), int(count)).buckets
    return []


def _lock_key(projection: Projection, source: str) -> int:
    """The first of the two advisory-lock keys of `source`'s buckets (a signed int4)."""
    key = zlib.crc32(f"paystream-tracking:{projection.name}:{source}".encode())
    return key - 2**32 if key >= 2**31 else key


async def lock_buckets(
    cursor: AsyncCursor[Any],
    projection: Projection,
    source: str,
    buckets: list[int],
    then_shared: int,
) -> None:
    """Hold `buckets` of `source` until the transaction ends, in ascending order, so two
    workers whose partitions overlap (during a re-partitioning) take turns; then the
    advisory lock `then_shared`, shared (what a switch of builds waits on). One round trip."""
    await cursor.execute(
        "SELECT pg_advisory_xact_lock_shared(%s) FROM ("
        " SELECT count(pg_advisory_xact_lock(%s, b)) FROM unnest(%s::int[]) AS b) AS buckets",
        (then_shared, _lock_key(projection, source), sorted(buckets)),
    )


async def bucket_positions(
    cursor: AsyncCursor[Any], projection: Projection, source: str, buckets: list[int]
) -> dict[int, int]:
    """The position each of `buckets` has reached (0 if never): the highest of the rows
    covering it. Callers that write take `lock_buckets` first."""
    query = SQL("SELECT source, position FROM {}.{} WHERE left(source, %s) = ANY(%s)").format(
        Identifier(projection.schema()), Identifier(TRACKING_TABLE)
    )
    await cursor.execute(query, rows_of(source))
    return positions_from(await cursor.fetchall(), source, buckets)


def rows_of(source: str) -> tuple[int, list[str]]:
    """The parameters that pick `source`'s tracking rows (`left(source, %s) = ANY(%s)`)."""
    return len(source) + 1, [f"{source}#", f"{source}@"]


def positions_from(rows: list[Any], source: str, buckets: list[int]) -> dict[int, int]:
    """The position each of `buckets` has reached, from `source`'s tracking rows (key,
    position): the highest of the rows covering it."""
    reached = dict.fromkeys(range(BUCKETS), 0)
    for key, position in rows:
        for bucket in covered(source, str(key)):
            reached[bucket] = max(reached[bucket], int(position))
    return {bucket: reached[bucket] for bucket in buckets}


# The channel a live projector notifies, with its read model's name, in each transaction
# that moves the read model on (delivered at commit); query APIs listen on it to wake
# their consistency waits (api/reached_signal.py).
REACHED_CHANNEL = "paystream_reached"


async def record_scanned(
    cursor: AsyncCursor[Any],
    projection: Projection,
    source: str,
    partition: Partition,
    position: int,
    announce: bool = False,
) -> None:
    """Every event of `partition`'s buckets up to `position` is applied: one row; with
    `announce`, in the same statement, a notification on REACHED_CHANNEL."""
    upsert = SQL(
        "INSERT INTO {table} AS t (source, position, updated_at) VALUES (%s, %s, now())"
        " ON CONFLICT (source) DO UPDATE"
        " SET position = greatest(t.position, EXCLUDED.position), updated_at = now()"
    ).format(table=Identifier(projection.schema(), TRACKING_TABLE))
    params: tuple[Any, ...] = (_scanned_key(source, partition), position)
    if not announce:
        await cursor.execute(upsert, params)
        return
    announced = SQL("WITH recorded AS ({} RETURNING 1) SELECT pg_notify(%s, %s) FROM recorded")
    await cursor.execute(
        announced.format(upsert), (*params, REACHED_CHANNEL, type(projection).name)
    )


def reached_query(schema: str) -> Composed:
    """SQL (one parameter: the source) for the position every bucket has reached: per
    bucket the highest row covering it (`#<bucket>`, or `@<i>/<N>` when b % N == i)."""
    return SQL(
        "WITH p AS (SELECT %s::text AS source),"
        " parsed AS ("
        "  SELECT t.position, substr(t.source, length(p.source) + 1, 1) AS kind,"
        "   split_part(substr(t.source, length(p.source) + 2), '/', 1)::int AS first,"
        "   nullif(split_part(substr(t.source, length(p.source) + 2), '/', 2), '')::int AS n"
        "  FROM {schema}.{table} t, p"
        "  WHERE left(t.source, length(p.source) + 1) IN (p.source || '#', p.source || '@')),"
        " per_bucket AS ("
        "  SELECT coalesce(max(r.position), 0) AS reached FROM generate_series(0, {last}) b"
        "  LEFT JOIN parsed r ON (r.kind = '#' AND r.first = b)"
        "   OR (r.kind = '@' AND b %% r.n = r.first)"
        "  GROUP BY b)"
        " SELECT min(reached) FROM per_bucket"
    ).format(last=Literal(BUCKETS - 1), schema=Identifier(schema), table=Identifier(TRACKING_TABLE))
