"""A write the database refuses only at commit (a deferred constraint) is still a handler
failure naming its event: the live projector dead-letters that event, keeping those
before it, logging each attempt under the event's correlation id, and halts (its
metrics say so); a rebuild's error names it; once skipped, a rebuild passes it by."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from logging import WARNING
from typing import Any

import pytest
from prometheus_client import REGISTRY
from psycopg import AsyncConnection, AsyncCursor
from psycopg.sql import SQL, Identifier

from eventstore.contexts import ACCOUNTS
from eventstore.envelope import EventEnvelope
from eventstore.metadata import CommandMetadata, command_metadata
from projections import dead_letters
from projections.account_summary import AccountSummaryProjection
from projections.rebuild import RebuildError, rebuild
from tests.support.log_records import paystream_records
from tests.support.stack import Stack, wait_until
from tests.support.workload import ProjectorThread, accounts_service, summary_rows, tracked_position

pytestmark = pytest.mark.integration
REFUSED_AT_COMMIT = 13
OF_THE_PROJECTION = {"projection": AccountSummaryProjection.name}
OF_ITS_SOURCE = {**OF_THE_PROJECTION, "source": ACCOUNTS.name}
POISON_CORRELATION_ID = "deposit-refused-at-commit"


class DeferredCheckSummary(AccountSummaryProjection):
    """The account summary, marking each deposit of 13 twice against a unique constraint
    checked only at commit. A new version, so the projector builds it with that table."""

    version = AccountSummaryProjection.version + 1
    tables = (  # type: ignore[assignment]
        *AccountSummaryProjection.tables,
        "CREATE TABLE IF NOT EXISTS {schema}.marks (amount int,"
        " CONSTRAINT marked_once UNIQUE (amount) DEFERRABLE INITIALLY DEFERRED)",
    )

    async def money_deposited(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        await super().money_deposited(cursor, event)
        if event.state()["amount"] == REFUSED_AT_COMMIT:
            insert = SQL("INSERT INTO {}.marks VALUES (%s)").format(Identifier(self.schema()))
            for _ in range(2):
                await cursor.execute(insert, (REFUSED_AT_COMMIT,))


def conninfo(stack: Stack) -> str:
    return stack.db.role_conninfo(AccountSummaryProjection.role())


def open_letters(stack: Stack) -> list[dead_letters.DeadLetter]:
    async def read() -> list[dead_letters.DeadLetter]:
        async with await AsyncConnection.connect(conninfo(stack), autocommit=True) as conn:
            return await dead_letters.letters(conn, DeferredCheckSummary, status="open")

    return asyncio.run(read())


def skip(stack: Stack, position: int) -> None:
    async def resolve() -> None:
        async with await AsyncConnection.connect(conninfo(stack), autocommit=True) as conn:
            await dead_letters.resolve(conn, DeferredCheckSummary, "skipped", "test", position)

    asyncio.run(resolve())


def metric(name: str, labels: dict[str, str]) -> float:
    """A metric of the projector running in this process."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def check_failure_lines_name_the_event(logged: list[logging.LogRecord]) -> None:
    """The projector's lines about a failing event carry that event's correlation id."""
    failures = [r for r in logged if r.name == "paystream.projector" and r.levelno >= WARNING]
    assert len(failures) == 3, failures  # two attempts, then halted
    assert {record.correlation_id for record in failures} == {POISON_CORRELATION_ID}  # type: ignore[attr-defined]


@pytest.fixture
def logged() -> Iterator[list[logging.LogRecord]]:
    with paystream_records() as records:
        yield records


def test_a_write_refused_at_commit_is_dead_lettered_and_named_by_rebuild(
    stack: Stack, logged: list[logging.LogRecord]
) -> None:
    dead_letters_before = metric("paystream_projection_dead_letters_total", OF_THE_PROJECTION)
    redeliveries_before = metric("paystream_projection_redeliveries_total", OF_ITS_SOURCE)
    stack.start("relay-accounts")
    projector = ProjectorThread(stack, DeferredCheckSummary(), max_attempts=2)
    projector.start()
    try:  # built (as the new version, on an empty store) and following the stream
        status = projector.projector.status
        wait_until(lambda: ACCOUNTS.name in status.subscribed, 60, "the projector to follow")
        service = accounts_service(stack)
        account = service.open_account("deferred", "EUR").account_id
        service.deposit(account, 5)
        with command_metadata(CommandMetadata(correlation_id=POISON_CORRELATION_ID)):
            poison = service.deposit(account, REFUSED_AT_COMMIT).position
        assert poison is not None
        service.deposit(account, 7)

        wait_until(lambda: bool(open_letters(stack)), 60, "the event to be dead-lettered")
        check_failure_lines_name_the_event(logged)
        [letter] = open_letters(stack)
        assert (letter.position, letter.event_type) == (poison, "MoneyDeposited.v1")
        assert "UniqueViolation" in letter.error
        assert tracked_position(stack) == poison - 1  # the events before it were kept
        assert summary_rows(stack)[account]["balance"] == 5
        halted = "paystream_projection_halted"
        wait_until(lambda: metric(halted, OF_THE_PROJECTION) == 1, 10, "the halted gauge at 1")
        dead_letters_now = metric("paystream_projection_dead_letters_total", OF_THE_PROJECTION)
        assert dead_letters_now == dead_letters_before + 1

        with pytest.raises(RebuildError, match=f"MoneyDeposited.v1 at accounts:{poison}"):
            asyncio.run(rebuild(DeferredCheckSummary, conninfo(stack)))

        skip(stack, poison)
        asyncio.run(rebuild(DeferredCheckSummary, conninfo(stack)))
        assert summary_rows(stack)[account]["balance"] == 5 + 7
        wait_until(lambda: not status.halted, 60, "the projector to resume")
        assert metric(halted, OF_THE_PROJECTION) == 0
        service.deposit(account, 1)
        wait_until(lambda: tracked_position(stack) >= stack.max_position(ACCOUNTS), 60, "catch up")
        assert summary_rows(stack)[account]["balance"] == 5 + 7 + 1
        # The batches handed back while it was halted came again once it resumed.
        redeliveries = metric("paystream_projection_redeliveries_total", OF_ITS_SOURCE)
        assert redeliveries > redeliveries_before
    finally:
        projector.finish()


def test_rebuilds_within_one_second_each_keep_the_read_model(stack: Stack) -> None:
    before = summary_rows(stack)
    for _ in range(3):  # quick on a small store: the same second, before stamps had µs
        asyncio.run(rebuild(DeferredCheckSummary, conninfo(stack)))
        assert summary_rows(stack) == before
