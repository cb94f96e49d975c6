"""A group of projections in one projector process: every event applied to every member
once (each read model equals its rebuild), a poison event halting only its own member,
a kill -9 mid-batch losing and doubling nothing, and a rebuild of one member switching
while the others keep going."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest
from psycopg import AsyncConnection, AsyncCursor

from eventstore.contexts import ACCOUNTS, PAYMENTS, Context
from eventstore.envelope import EventEnvelope
from projections import dead_letters
from projections.account_statement import AccountStatementProjection
from projections.account_summary import AccountSummaryProjection
from projections.analytics import AnalyticsProjection
from projections.group import GROUP_ROLE, ProjectorGroup
from projections.notifications import NotificationsProjection
from projections.projection import Projection
from projections.rebuild import rebuild
from projections.tracking import reached_query
from scripts.devstack.services import ACCOUNT_PROJECTIONS
from tests.support.stack import Stack, wait_until
from tests.support.workload import (
    BackgroundWriter,
    accounts_service,
    folded_rows,
    kill_mid_work,
    summary_rows,
    write_events,
)

pytestmark = pytest.mark.integration
MEMBERS: tuple[type[Projection], ...] = (
    AccountSummaryProjection,
    AccountStatementProjection,
    AnalyticsProjection,
    NotificationsProjection,
)
POISON = 13


class PoisonedStatement(AccountStatementProjection):
    """The account statement, failing on deposits of 13 (the others of the group do not)."""

    async def money_deposited(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        if event.state()["amount"] == POISON:
            raise ValueError("cannot handle 13")
        await super().money_deposited(cursor, event)


class DatabasePoisonedStatement(AccountStatementProjection):
    """The account statement, its deposits of 13 refused by the database itself: pipelined,
    that error surfaces at a later statement (another member's, possibly), not its own."""

    async def money_deposited(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        if event.state()["amount"] == POISON:
            await cursor.execute("SELECT 1 / 0")
        await super().money_deposited(cursor, event)


class GroupThread(threading.Thread):
    """A group projector in-process, on the real NATS and PostgreSQL."""

    def __init__(self, stack: Stack, projections: list[Projection], **options: Any) -> None:
        super().__init__(daemon=True)
        roles = [GROUP_ROLE, *(p.role() for p in projections)]
        conninfos = {role: stack.db.role_conninfo(role) for role in roles}
        self.group = ProjectorGroup.of(projections, conninfos, stack.nats_url, **options)
        self.loop = asyncio.new_event_loop()
        self.stop = asyncio.Event()

    def run(self) -> None:
        self.loop.run_until_complete(self.group.run(self.stop))

    def finish(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.join(30)


def reached(stack: Stack, projection: type[Projection], source: Context = ACCOUNTS) -> int:
    with stack.admin() as conn:
        row = conn.execute(reached_query(projection.read_schema()), (source.name,)).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def contents(stack: Stack, projection: type[Projection]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table readers see, sorted (the tracking rows aside: their time
    is when they were written)."""
    schema = projection.read_schema()
    with stack.admin() as conn:
        views = conn.execute(
            "SELECT table_name FROM information_schema.views WHERE table_schema = %s", (schema,)
        ).fetchall()
        return {
            view: sorted(conn.execute(f'SELECT * FROM {schema}."{view}"').fetchall(), key=repr)
            for (view,) in views
            if view != "tracking"
        }


def rebuilt(stack: Stack, projection: type[Projection]) -> None:
    asyncio.run(rebuild(projection, stack.db.role_conninfo(projection.role())))


def caught_up(stack: Stack, members: tuple[type[Projection], ...]) -> bool:
    heads = {source: stack.max_position(source) for source in (ACCOUNTS, PAYMENTS)}
    return all(reached(stack, m, s) >= heads[s] for m in members for s in m.sources)


def test_a_group_applies_every_event_to_every_member_once(stack: Stack) -> None:
    service = accounts_service(stack)
    stack.start("relay-accounts")
    ids = write_events(service, accounts=20, movements=400, seed=31)
    group = GroupThread(stack, [m() for m in MEMBERS])
    group.start()
    wait_until(lambda: caught_up(stack, MEMBERS), 60, "every member to catch up")
    group.finish()

    final = stack.max_position(ACCOUNTS)
    for member in group.group.members:
        assert member.status.applied == final, member.projection.name  # each event once
    rows = summary_rows(stack)  # the stack's other tests' accounts aside
    assert {i: rows[i] for i in ids} == folded_rows(service, ids)
    for projection in MEMBERS:
        projected = contents(stack, projection)
        rebuilt(stack, projection)
        assert contents(stack, projection) == projected, projection.name


@pytest.mark.parametrize(
    "poisoned", [PoisonedStatement, DatabasePoisonedStatement], ids=["handler", "database"]
)
def test_a_poison_event_halts_only_its_member(
    stack: Stack, poisoned: type[AccountStatementProjection], caplog: pytest.LogCaptureFixture
) -> None:
    """Named exactly, whether the handler raises or the database refuses its statement
    (the batch is pipelined: it is applied again one statement at a time to name it)."""
    caplog.set_level(logging.INFO, "paystream.projector")
    service = accounts_service(stack)
    stack.start("relay-accounts")
    projections = [AccountSummaryProjection(), poisoned(), AnalyticsProjection()]
    group = GroupThread(stack, projections, max_attempts=2)
    group.start()
    account = service.open_account("poisoned", "EUR").account_id
    service.deposit(account, 5)
    poison = service.deposit(account, POISON).position
    assert poison is not None
    service.deposit(account, 7)
    statement = group.group.members[1]

    wait_until(lambda: statement.status.halted, 60, "the statement to halt")
    final = stack.max_position(ACCOUNTS)
    others = (AccountSummaryProjection, AnalyticsProjection)
    wait_until(lambda: caught_up(stack, others), 60, "the others to go on")
    assert reached(stack, AccountStatementProjection) == poison - 1
    [letter] = [
        each for each in letters(stack, AccountStatementProjection) if each.status == "open"
    ]
    assert letter.position == poison
    assert "applying it one statement at a time" in caplog.text

    skip(stack, AccountStatementProjection, poison)
    wait_until(
        lambda: reached(stack, AccountStatementProjection) >= final, 60, "the statement to resume"
    )
    group.finish()
    assert not statement.status.halted


def letters(stack: Stack, projection: type[Projection]) -> list[dead_letters.DeadLetter]:
    async def read() -> list[dead_letters.DeadLetter]:
        conninfo = stack.db.role_conninfo(projection.role())
        async with await AsyncConnection.connect(conninfo, autocommit=True) as conn:
            return await dead_letters.letters(conn, projection)

    return asyncio.run(read())


def skip(stack: Stack, projection: type[Projection], position: int) -> None:
    async def resolve() -> None:
        conninfo = stack.db.role_conninfo(projection.role())
        async with await AsyncConnection.connect(conninfo, autocommit=True) as conn:
            await dead_letters.resolve(conn, projection, dead_letters.SKIPPED, "test", position)

    asyncio.run(resolve())


def test_a_group_process_killed_mid_batch_loses_and_doubles_nothing(stack: Stack) -> None:
    service = accounts_service(stack)
    stack.start("relay-accounts")
    stack.start("relay-payments")
    process = stack.start("projector-accounts-group")
    writer = BackgroundWriter(service, accounts=15, movements=1200)
    writer.start()
    summary = AccountSummaryProjection
    wait_until(lambda: reached(stack, summary) >= 200, 60, "the group to apply 200 events")

    killed = kill_mid_work(
        process.kill, lambda: reached(stack, summary), lambda: stack.max_position(ACCOUNTS), writer
    )
    assert killed.stored > killed.done, "the group was killed with events left to apply"
    stack.start("projector-accounts-group")
    ids = writer.finish()
    wait_until(lambda: caught_up(stack, MEMBERS), 90, "the group to catch up")

    rows = summary_rows(stack)  # the stack's other tests' accounts aside
    assert {i: rows[i] for i in ids} == folded_rows(service, ids)
    for projection in MEMBERS:
        projected = contents(stack, projection)
        rebuilt(stack, projection)
        assert contents(stack, projection) == projected, projection.name


def test_a_rebuild_of_one_member_switches_while_the_others_go_on(stack: Stack) -> None:
    service = accounts_service(stack)
    stack.start("relay-accounts")
    group = GroupThread(stack, [m() for m in MEMBERS])
    group.start()
    write_events(service, accounts=5, movements=100, seed=32)
    wait_until(lambda: caught_up(stack, MEMBERS), 60, "every member to catch up")

    rebuilt(stack, AccountStatementProjection)
    switched = active_schema(stack, AccountStatementProjection)
    ids = write_events(service, accounts=5, movements=100, seed=33)
    wait_until(lambda: caught_up(stack, MEMBERS), 60, "every member to follow the switch")
    group.finish()

    statement = group.group.members[1].projection
    assert statement.schema() == switched  # the group writes into the new build
    assert set(folded_rows(service, ids)) <= set(summary_rows(stack))
    projected = contents(stack, AccountStatementProjection)
    rebuilt(stack, AccountStatementProjection)
    assert contents(stack, AccountStatementProjection) == projected


def active_schema(stack: Stack, projection: type[Projection]) -> str:
    with stack.admin() as conn:
        row = conn.execute(f"SELECT schema FROM {projection.read_schema()}.active_build").fetchone()
    assert row is not None
    return str(row[0])


def test_the_accounts_group_serves_the_four_account_projections() -> None:
    assert tuple(m.name for m in MEMBERS) == ACCOUNT_PROJECTIONS
