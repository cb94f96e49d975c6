"""A read model projected by two partitions equals the one a single projector builds."""

from __future__ import annotations

import pytest

from eventstore.contexts import ACCOUNTS
from projections.account_summary import AccountSummaryProjection
from projections.tracking import WHOLE, Partition
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


def test_two_partitions_give_the_same_read_model_as_one(stack: Stack) -> None:
    service = accounts_service(stack)
    stack.start("relay-accounts")
    ids = write_events(service, accounts=30, movements=600, seed=21)
    workers = [
        ProjectorThread(stack, AccountSummaryProjection(), partition=Partition(i, 2))
        for i in range(2)
    ]
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
    single = ProjectorThread(stack, AccountSummaryProjection(), partition=WHOLE)
    single.start()

    final = stack.max_position(ACCOUNTS)
    wait_until(lambda: tracked_position(stack) >= final, 60, "the single worker to catch up")
    single.finish()

    assert summary_rows(stack) == folded_rows(service, ids + more)
