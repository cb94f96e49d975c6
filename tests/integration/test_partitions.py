"""A read model projected by two partitions equals the one a single projector builds."""

from __future__ import annotations

import asyncio
import threading

import pytest

from eventstore.contexts import ACCOUNTS
from projections.account_summary import AccountSummaryProjection
from projections.runtime import Projector
from projections.tracking import WHOLE, Partition
from tests.stack import Stack, wait_until
from tests.workload import (
    accounts_service,
    folded_rows,
    summary_rows,
    tracked_position,
    write_events,
)

pytestmark = pytest.mark.integration


class ProjectorThread(threading.Thread):
    """One projector worker in-process, on the real NATS and PostgreSQL."""

    def __init__(self, stack: Stack, partition: Partition) -> None:
        super().__init__(daemon=True)
        role = AccountSummaryProjection.role()
        self.projector = Projector(
            AccountSummaryProjection(),
            stack.db.role_conninfo(role),
            stack.nats_url,
            partition=partition,
        )
        self.loop = asyncio.new_event_loop()
        self.stop = asyncio.Event()

    def run(self) -> None:
        self.loop.run_until_complete(self.projector.run(self.stop))

    def finish(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.join(30)


def test_two_partitions_give_the_same_read_model_as_one(stack: Stack) -> None:
    service = accounts_service(stack)
    stack.start("relay-accounts")
    ids = write_events(service, accounts=30, movements=600, seed=21)
    workers = [ProjectorThread(stack, Partition(i, 2)) for i in range(2)]
    for worker in workers:
        worker.start()

    final = stack.max_position(ACCOUNTS)
    wait_until(lambda: tracked_position(stack) >= final, 60, "both partitions to catch up")
    for worker in workers:
        worker.finish()

    assert summary_rows(stack) == folded_rows(service, ids)
    applied = [worker.projector.status.applied for worker in workers]
    assert all(applied) and sum(applied) == final  # each event applied once, by one of them


def test_repartitioning_to_one_worker_applies_nothing_twice(stack: Stack) -> None:
    service = accounts_service(stack)
    stack.start("relay-accounts")
    ids = list(summary_rows(stack))
    more = write_events(service, accounts=5, movements=100, seed=22)
    single = ProjectorThread(stack, WHOLE)
    single.start()

    final = stack.max_position(ACCOUNTS)
    wait_until(lambda: tracked_position(stack) >= final, 60, "the single worker to catch up")
    single.finish()

    assert summary_rows(stack) == folded_rows(service, ids + more)
