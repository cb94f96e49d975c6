"""Group commit on a real PostgreSQL: commands saving together share one commit, yet each
keeps its own outcome. The eventsourcing library's own recorder test cases pass on the
recorder, and a conflict in a group fails that command alone."""

from __future__ import annotations

import itertools
import threading
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import DataError, IntegrityError, StoredEvent
from eventsourcing.tests.persistence import (
    ApplicationRecorderTestCase,
    NonInterleavingNotificationIDsBaseCase,
)

from eventstore.chain_check import BrokenLink, ChainChecker, stream_links
from eventstore.contexts import Context
from eventstore.datastore import datastore_on
from eventstore.idempotency import IdempotencyKeyTaken
from eventstore.metadata import CommandMetadata, command_metadata
from eventstore.recorder import Append, PaystreamRecorder
from scripts.benchmarks.appends import VARIANTS
from tests.support.cli import paystream
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

_schemas = itertools.count()


def fresh_recorder(stack: Stack, max_commands: int = 64) -> PaystreamRecorder:
    """A recorder on a schema of its own (an empty log), as the database's owner."""
    schema = f"group_commit_{next(_schemas)}"
    with stack.admin() as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    datastore = datastore_on(stack.db.admin_conninfo(), schema, 4)
    recorder = PaystreamRecorder(datastore, events_table_name=Context(schema).events_table)
    recorder.create_table()
    recorder.groups.max_items = max_commands
    return recorder


@pytest.fixture(scope="module")
def module_stack(stack: Stack) -> Stack:
    return stack


class LibraryCases:
    """The library's recorder cases, each test on a fresh log of the module's database."""

    stack: Stack

    @pytest.fixture(autouse=True)
    def _on_stack(self, module_stack: Stack) -> None:
        self.stack = module_stack

    def create_recorder(self) -> PaystreamRecorder:
        return fresh_recorder(self.stack)


class TestApplicationRecorderCase(LibraryCases, ApplicationRecorderTestCase[PaystreamRecorder]):
    INITIAL_VERSION = 1


class TestNonInterleavingNotificationIDs(LibraryCases, NonInterleavingNotificationIDsBaseCase):
    pass


def event(aggregate: UUID, version: int) -> StoredEvent:
    return StoredEvent(aggregate, version, "topic", f'{{"v": {version}}}'.encode())


class HeldWrites:
    """Holds the recorder's group writer at its start until released, so the appends
    submitted meanwhile queue up and are written as one group."""

    def __init__(self, recorder: PaystreamRecorder) -> None:
        self.recorder = recorder
        self.entered = threading.Event()
        self.release = threading.Event()
        self.groups: list[int] = []
        write = recorder.groups._write

        def held(appends: list[Append]) -> Any:
            self.groups.append(len(appends))
            self.entered.set()
            self.release.wait(timeout=30)
            return write(appends)

        recorder.groups._write = held

    def run(self, first: Any, rest: list[Any]) -> list[Any]:
        """Run `first` until it holds the writer, then every one of `rest` concurrently
        (queued behind it); release once all queued; each call's outcome, in order."""
        outcomes: list[Any] = [None] * (1 + len(rest))

        def call(index: int, job: Any) -> None:
            try:
                outcomes[index] = job()
            except Exception as error:  # the outcome under test
                outcomes[index] = error

        threads = [threading.Thread(target=call, args=(0, first))]
        threads[0].start()
        assert self.entered.wait(timeout=30)
        for index, job in enumerate(rest, start=1):
            threads.append(threading.Thread(target=call, args=(index, job)))
            threads[-1].start()
        queued = self.recorder.groups
        deadline = threading.Event()
        for _ in range(3000):
            with queued._turn:
                if len(queued._queue) == len(rest):
                    break
            deadline.wait(0.01)
        self.release.set()
        for thread in threads:
            thread.join(timeout=30)
        return outcomes


def appending(
    recorder: PaystreamRecorder, events: list[StoredEvent], key: str | None = None
) -> Any:
    def job() -> Any:
        if key is None:
            return recorder.insert_events(events)
        with command_metadata(CommandMetadata(idempotency_key=key, request_fingerprint="f")):
            return recorder.insert_events(events)

    return job


def test_queued_appends_share_one_commit_in_submission_order(module_stack: Stack) -> None:
    recorder = fresh_recorder(module_stack)
    held = HeldWrites(recorder)
    aggregates = [uuid4() for _ in range(6)]
    outcomes = held.run(
        appending(recorder, [event(aggregates[0], 1)]),
        [appending(recorder, [event(a, 1), event(a, 2)]) for a in aggregates[1:]],
    )
    assert held.groups == [1, 5]
    assert outcomes[0] == [1]
    later = outcomes[1:]
    assert [ids for ids in later] == [[2 + 2 * i, 3 + 2 * i] for i in range(5)]


def test_a_version_conflict_fails_its_command_alone(module_stack: Stack) -> None:
    recorder = fresh_recorder(module_stack)
    taken = uuid4()
    recorder.insert_events([event(taken, 1)])
    held = HeldWrites(recorder)
    others = [uuid4() for _ in range(3)]
    outcomes = held.run(
        appending(recorder, [event(uuid4(), 1)]),
        [
            appending(recorder, [event(others[0], 1)]),
            appending(recorder, [event(taken, 1), event(taken, 2)]),  # version 1 is taken
            appending(recorder, [event(others[1], 1)]),
            appending(recorder, [event(others[2], 1)]),
        ],
    )
    assert isinstance(outcomes[2], IntegrityError)
    written = [outcomes[i] for i in (0, 1, 3, 4)]
    assert all(isinstance(ids, list) and len(ids) == 1 for ids in written)
    assert [e.originator_version for e in recorder.select_events(taken)] == [1]
    for aggregate in others:
        assert len(recorder.select_events(aggregate)) == 1
    assert chain_ok(module_stack, recorder)


def test_two_commands_of_one_aggregate_in_one_group_conflict_once(module_stack: Stack) -> None:
    recorder = fresh_recorder(module_stack)
    aggregate = uuid4()
    held = HeldWrites(recorder)
    outcomes = held.run(
        appending(recorder, [event(uuid4(), 1)]),
        [appending(recorder, [event(aggregate, 1)]), appending(recorder, [event(aggregate, 1)])],
    )
    assert isinstance(outcomes[1], list)
    assert isinstance(outcomes[2], IntegrityError)
    assert len(recorder.select_events(aggregate)) == 1


def test_a_taken_idempotency_key_fails_its_command_alone(module_stack: Stack) -> None:
    recorder = fresh_recorder(module_stack)
    appending(recorder, [event(uuid4(), 1)], key="key-taken")()
    held = HeldWrites(recorder)
    mine = uuid4()
    outcomes = held.run(
        appending(recorder, [event(uuid4(), 1)]),
        [
            appending(recorder, [event(uuid4(), 1)], key="key-fresh"),
            appending(recorder, [event(mine, 1)], key="key-taken"),
            appending(recorder, [event(uuid4(), 1)], key="key-twice"),
            appending(recorder, [event(uuid4(), 1)], key="key-twice"),
        ],
    )
    assert isinstance(outcomes[2], IdempotencyKeyTaken)
    assert recorder.select_events(mine) == []
    # the two writers of one key join the group in the order their threads reach it
    assert sorted(type(o).__name__ for o in outcomes[3:]) == ["IdempotencyKeyTaken", "list"]
    assert recorder.find_outcome("key-fresh") is not None
    twice = recorder.find_outcome("key-twice")
    won = next(o for o in outcomes[3:] if isinstance(o, list))
    assert twice is not None and twice.position == won[0]
    assert chain_ok(module_stack, recorder)


def test_a_lone_conflict_is_refused_without_a_second_attempt(module_stack: Stack) -> None:
    recorder = fresh_recorder(module_stack)
    aggregate = uuid4()
    recorder.insert_events([event(aggregate, 1)])
    with pytest.raises(IntegrityError):
        recorder.insert_events([event(aggregate, 1)])
    with command_metadata(CommandMetadata(idempotency_key="k", request_fingerprint="f")):
        recorder.insert_events([event(uuid4(), 1)])
        with pytest.raises(IdempotencyKeyTaken):
            recorder.insert_events([event(uuid4(), 1)])


def test_many_writers_keep_order_and_chains(module_stack: Stack) -> None:
    """32 threads each append to their own aggregate 20 times: every append is stored,
    each aggregate's positions rise with its versions, every chain verifies, and groups
    of more than one command formed."""
    recorder = fresh_recorder(module_stack)
    aggregates = [uuid4() for _ in range(32)]
    groups: list[int] = []
    write = recorder.groups._write

    def counted(appends: list[Append]) -> Any:
        groups.append(len(appends))
        return write(appends)

    recorder.groups._write = counted

    def writer(aggregate: UUID) -> None:
        for version in range(1, 21):
            recorder.insert_events([event(aggregate, version)])

    threads = [threading.Thread(target=writer, args=(a,)) for a in aggregates]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for aggregate in aggregates:
        stored = recorder.select_events(aggregate)
        assert [e.originator_version for e in stored] == list(range(1, 21))
    notifications = recorder.select_notifications(start=None, limit=10_000)
    assert [n.id for n in notifications] == list(range(1, 32 * 20 + 1))
    assert sum(groups) == 32 * 20
    assert max(groups) > 1
    assert chain_ok(module_stack, recorder)


def chain_ok(stack: Stack, recorder: PaystreamRecorder) -> bool:
    """Every stored event's hash links to its aggregate's previous one."""
    broken: list[BrokenLink] = []
    checker = ChainChecker(broken.append)
    with stack.admin() as conn, conn.transaction():
        for link in stream_links(conn, Context(recorder.datastore.schema)):
            checker.check(link)
    checker.finish()
    assert broken == []
    return checker.events > 0


def test_bench_appends_runs_every_recorder_and_leaves_no_schema(module_stack: Stack) -> None:
    """`paystream bench appends` briefly: a row per recorder, nothing failed, its schemas
    dropped. The figures are the bench's business."""
    done = paystream(
        module_stack.db.admin_conninfo(),
        *("bench", "appends", "--writers", "4", "--seconds", "1", "--rounds", "1"),
    )
    assert done.returncode == 0, done.output
    rows = [line for line in done.stdout.splitlines() if line.startswith("│")]
    assert [row.split("│")[1].strip() for row in rows] == [v.name for v in VARIANTS]
    assert all(row.split("│")[-2].strip() == "0" for row in rows)
    with module_stack.admin() as conn:
        left = conn.execute(
            "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'bench_appends_%'"
        ).fetchone()
    assert left == (0,)


def test_a_value_postgresql_refuses_fails_its_command_alone(module_stack: Stack) -> None:
    """An idempotency key with a NUL character cannot be stored as text: that command is
    refused with the library's DataError, its group's other commands are stored."""
    recorder = fresh_recorder(module_stack)
    held = HeldWrites(recorder)
    stored, refused = uuid4(), uuid4()
    outcomes = held.run(
        appending(recorder, [event(uuid4(), 1)]),
        [
            appending(recorder, [event(refused, 1)], key="bad\x00key"),
            appending(recorder, [event(stored, 1)], key="good-key"),
        ],
    )
    assert isinstance(outcomes[1], DataError)
    assert recorder.select_events(refused) == []
    assert isinstance(outcomes[2], list)
    assert len(recorder.select_events(stored)) == 1
