"""The projector's batch rule, on real PostgreSQL: duplicates skipped, gaps repaired (and
counted in its metrics)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from prometheus_client import REGISTRY
from psycopg import AsyncConnection

from eventstore.contexts import ACCOUNTS
from eventstore.envelope import EventEnvelope
from eventstore.reader import read_events
from projections.account_summary import AccountSummaryProjection
from projections.runtime import Projector
from tests.support.stack import Stack
from tests.support.workload import accounts_service, folded_rows, summary_rows, write_events

pytestmark = pytest.mark.integration
OF_ITS_SOURCE = {"projection": AccountSummaryProjection.name, "source": ACCOUNTS.name}


def metric(name: str) -> float:
    """A metric of the projectors of this process, for the account summary's accounts."""
    return REGISTRY.get_sample_value(name, OF_ITS_SOURCE) or 0.0


def projector_for(stack: Stack) -> Projector:
    projection = AccountSummaryProjection()
    return Projector(projection, stack.db.role_conninfo(projection.role()), stack.nats_url)


def stored_envelopes(stack: Stack) -> list[EventEnvelope]:
    async def read() -> list[EventEnvelope]:
        async with await AsyncConnection.connect(stack.database_url) as conn:
            return await read_events(conn, ACCOUNTS, 0, limit=100_000)

    return asyncio.run(read())


def apply(projector: Projector, stack: Stack, envelopes: list[EventEnvelope]) -> None:
    async def run() -> None:
        conninfo = projector.conninfo
        async with await AsyncConnection.connect(conninfo) as conn:
            await projector.apply_batch(conn, ACCOUNTS, envelopes)

    asyncio.run(run())


@pytest.fixture
def history(stack: Stack) -> tuple[Any, list[Any]]:
    service = accounts_service(stack)
    ids = write_events(service, accounts=4, movements=60, seed=3)
    return service, ids


def test_a_redelivered_batch_changes_nothing(stack: Stack, history: tuple[Any, list[Any]]) -> None:
    service, ids = history
    projector = projector_for(stack)
    envelopes = stored_envelopes(stack)

    apply(projector, stack, envelopes)
    apply(projector, stack, envelopes)

    assert projector.status.applied == len(envelopes)
    assert projector.status.skipped_duplicates == len(envelopes)
    assert summary_rows(stack) == folded_rows(service, ids)


def test_a_gap_in_a_batch_is_filled_from_the_event_store(
    stack: Stack, history: tuple[Any, list[Any]]
) -> None:
    service, _ = history
    projector = projector_for(stack)
    apply(projector, stack, stored_envelopes(stack))
    more = write_events(service, accounts=2, movements=20, seed=5)
    fresh = [e for e in stored_envelopes(stack) if e.aggregate_id in set(more)]
    holed = fresh[:3] + fresh[8:]
    applied_before = projector.status.applied
    repaired_before = metric("paystream_projection_repaired_events_total")
    events_before = metric("paystream_projection_events_applied_total")

    apply(projector, stack, holed)

    assert projector.status.repaired == 5
    assert metric("paystream_projection_repaired_events_total") == repaired_before + 5
    assert metric("paystream_projection_events_applied_total") == events_before + len(holed) + 5
    assert projector.status.applied - applied_before == len(holed) + 5  # repaired count too
    rows = summary_rows(stack)
    assert {k: rows[k] for k in more} == folded_rows(service, more)
