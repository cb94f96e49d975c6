"""Tracking rows on real PostgreSQL: a batch moves one row, rows written before issue 13
still count, the reached position is the same read in SQL or in Python, and workers whose
partitions overlap apply nothing twice."""

from __future__ import annotations

import asyncio
import random

import pytest
from psycopg import AsyncConnection
from psycopg.sql import SQL, Identifier

from eventstore.contexts import ACCOUNTS
from eventstore.envelope import EventEnvelope
from eventstore.reader import read_events
from projections.account_summary import AccountSummaryProjection
from projections.projection import TRACKING_TABLE
from projections.runtime import Projector
from projections.tracking import BUCKETS, WHOLE, Partition, bucket_positions, reached_query
from tests.support.stack import Stack, wait_until
from tests.support.workload import (
    ProjectorThread,
    accounts_service,
    folded_rows,
    summary_rows,
    tracked_position,
    write_events,
)

pytestmark = pytest.mark.integration
SCHEMA = AccountSummaryProjection.versioned_schema()


def stored_envelopes(stack: Stack) -> list[EventEnvelope]:
    async def read() -> list[EventEnvelope]:
        async with await AsyncConnection.connect(stack.database_url) as conn:
            return await read_events(conn, ACCOUNTS, 0, limit=100_000)

    return asyncio.run(read())


def apply(stack: Stack, envelopes: list[EventEnvelope], partition: Partition = WHOLE) -> None:
    projection = AccountSummaryProjection()
    conninfo = stack.db.role_conninfo(projection.role())
    projector = Projector(projection, conninfo, stack.nats_url, partition=partition)

    async def run() -> None:
        await projector.prepare()
        async with await AsyncConnection.connect(conninfo) as conn:
            await projector.apply_batch(conn, ACCOUNTS, envelopes)

    asyncio.run(run())


def tracking_rows(stack: Stack) -> dict[str, tuple[int, int]]:
    """Each tracking row's position and the transaction that wrote it last."""
    with stack.admin() as conn:
        query = SQL("SELECT source, position, xmin::text::bigint FROM {}").format(
            Identifier(SCHEMA, TRACKING_TABLE)
        )
        return {str(row[0]): (int(row[1]), int(row[2])) for row in conn.execute(query)}


def set_rows(stack: Stack, rows: dict[str, int]) -> None:
    with stack.admin() as conn:
        table = Identifier(SCHEMA, TRACKING_TABLE)
        conn.execute(SQL("DELETE FROM {}").format(table))
        for key, position in rows.items():
            conn.execute(
                SQL("INSERT INTO {} (source, position) VALUES (%s, %s)").format(table),
                (key, position),
            )


def python_reached(stack: Stack) -> dict[int, int]:
    async def read() -> dict[int, int]:
        async with await AsyncConnection.connect(stack.database_url) as conn:
            projection = AccountSummaryProjection()
            async with conn.cursor() as cursor:
                return await bucket_positions(
                    cursor, projection, ACCOUNTS.name, list(range(BUCKETS))
                )

    return asyncio.run(read())


def sql_reached(stack: Stack) -> int:
    with stack.admin() as conn:
        row = conn.execute(reached_query(SCHEMA), (ACCOUNTS.name,)).fetchone()
    return int(row[0]) if row else -1


def test_a_batch_moves_one_tracking_row_and_reaches_its_last_position(stack: Stack) -> None:
    service = accounts_service(stack)
    ids = write_events(service, accounts=6, movements=40, seed=31)
    apply(stack, stored_envelopes(stack))
    before = tracking_rows(stack)
    last = stack.max_position(ACCOUNTS)

    one = write_events(service, accounts=1, movements=0, seed=32)
    apply(stack, [e for e in stored_envelopes(stack) if e.position > last])

    after = tracking_rows(stack)
    moved = [key for key in after if after[key] != before.get(key)]
    assert moved == ["accounts@0/1"]  # one row for one batch, whatever its buckets
    assert sql_reached(stack) == stack.max_position(ACCOUNTS)  # the untouched buckets too
    assert summary_rows(stack) == folded_rows(service, ids + one)


@pytest.mark.parametrize("seed", range(6))
def test_old_bucket_rows_and_partition_rows_read_the_same_in_sql_and_python(
    stack: Stack, seed: int
) -> None:
    rng = random.Random(seed)
    rows = {f"accounts#{b:02d}": rng.randint(0, 500) for b in range(BUCKETS) if rng.random() < 0.9}
    for count in rng.sample(range(1, BUCKETS + 1), 3):
        rows[f"accounts@{rng.randrange(count)}/{count}"] = rng.randint(0, 500)
    rows["payments@0/1"] = 10_000  # another source's row speaks for none of these buckets
    set_rows(stack, rows)

    per_bucket = python_reached(stack)

    assert sql_reached(stack) == min(per_bucket.values())
    for bucket, position in per_bucket.items():
        covering = [p for key, p in rows.items() if key == f"accounts#{bucket:02d}"] + [
            p
            for key, p in rows.items()
            if key.startswith("accounts@")
            and bucket % int(key.split("/")[1]) == int(key[9:].split("/")[0])
        ]
        assert position == max(covering, default=0)


def test_overlapping_partitions_running_at_once_apply_each_event_once(stack: Stack) -> None:
    set_rows(stack, {})
    with stack.admin() as conn:
        conn.execute(SQL("DELETE FROM {}").format(Identifier(SCHEMA, "accounts")))
    service = accounts_service(stack)
    stack.start("relay-accounts")
    workers = [
        ProjectorThread(stack, AccountSummaryProjection(), partition=partition)
        for partition in (Partition(0, 2), Partition(1, 2), WHOLE, Partition(1, 3))
    ]
    for worker in workers:
        worker.start()
    write_events(service, accounts=8, movements=300, seed=33)

    final = stack.max_position(ACCOUNTS)
    wait_until(lambda: tracked_position(stack) >= final, 60, "the workers to catch up")
    for worker in workers:
        worker.finish()

    stored = stored_envelopes(stack)
    assert sum(worker.projector.status.applied for worker in workers) == len(stored)
    ids = list({envelope.aggregate_id for envelope in stored})
    assert summary_rows(stack) == folded_rows(service, ids)
