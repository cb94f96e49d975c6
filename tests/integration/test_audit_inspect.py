"""`paystream audit history|state|trace|export` on a real event store, read as operators
read it: the CLI's own entry point for errors, its commands in-process for the rest."""

from __future__ import annotations

import gc
import os
import resource
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast
from uuid import UUID, uuid4

import orjson
import pytest

from domains.accounts.application import AccountsService
from eventstore import audit_queries
from eventstore.contexts import ACCOUNTS, CONTEXTS, application_env
from eventstore.mapper import MetadataMapper
from eventstore.metadata import CommandMetadata, command_metadata
from scripts.cli.audit_inspect import write_export
from tests.support.cli import CliRun, paystream, paystream_process
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

BULK_ACCOUNTS = 1_000
BULK_EVENTS_EACH = 100  # the opening and 99 deposits
EXPORT_GROWTH_BOUND_MB = 30


@dataclass
class Written:
    """An account written with known metadata, and times taken between its writes."""

    account_id: UUID
    before: datetime  # before it was opened
    after: list[datetime] = field(default_factory=list)  # after version 1, 2, ...


@pytest.fixture(scope="module")
def account(stack: Stack) -> Written:
    """Opened by alice, deposit by alice, withdrawal by a teller, frozen by compliance."""
    service = AccountsService(env=application_env(ACCOUNTS, stack.db, pool_size=1))
    before = datetime.now(UTC)
    with command_metadata(CommandMetadata(actor="alice", correlation_id="corr-1")):
        written = Written(service.open_account("Alice", "EUR").account_id, before)
    written.after.append(datetime.now(UTC))
    commands: list[tuple[str, Callable[[UUID], object]]] = [
        ("alice", lambda account_id: service.deposit(account_id, 10_000)),
        ("teller-7", lambda account_id: service.withdraw(account_id, 2_500)),
        ("compliance", service.freeze_account),
    ]
    for number, (actor, command) in enumerate(commands, start=2):
        with command_metadata(CommandMetadata(actor=actor, correlation_id=f"corr-{number}")):
            command(written.account_id)
        written.after.append(datetime.now(UTC))
    service.close()
    return written


def audit(stack: Stack, *args: str) -> CliRun:
    """Run `paystream audit ...` in this process."""
    return paystream(stack.database_url, "audit", *args)


def audit_json(stack: Stack, *args: str) -> Any:
    result = audit(stack, *args, "--json")
    assert result.returncode == 0, result.output
    return orjson.loads(result.stdout)


def run_cli(stack: Stack, *args: str) -> CliRun:
    """Run `paystream audit ...` as its own process, through the CLI's entry point."""
    return paystream_process(stack.database_url, "audit", *args, timeout=60)


def test_history_lists_every_event_in_order_with_who_and_why(
    stack: Stack, account: Written
) -> None:
    events = audit_json(stack, "history", str(account.account_id))

    assert [e["version"] for e in events] == [1, 2, 3, 4]
    assert [e["type"] for e in events] == [
        "AccountOpened.v1",
        "MoneyDeposited.v1",
        "MoneyWithdrawn.v1",
        "AccountFrozen.v1",
    ]
    assert [e["actor"] for e in events] == ["alice", "alice", "teller-7", "compliance"]
    assert [e["correlation_id"] for e in events] == ["corr-1", "corr-2", "corr-3", "corr-4"]
    assert events[0]["payload"]["owner"] == "Alice"
    assert [e["payload"].get("amount") for e in events[1:3]] == [10_000, 2_500]
    assert all("__meta__" not in e["payload"] for e in events)
    times = [datetime.fromisoformat(e["recorded_at"]) for e in events]
    assert times == sorted(times) and all(t.utcoffset() == UTC.utcoffset(None) for t in times)

    table = audit(stack, "history", str(account.account_id))
    assert table.returncode == 0
    for text in ("AccountOpened.v1", "MoneyWithdrawn.v1", "teller-7", "corr-3", "amount=2500"):
        assert text in table.stdout


def balance_at(stack: Stack, account: Written, at: str) -> tuple[int, int, str]:
    report = audit_json(stack, "state", str(account.account_id), "--at", at)
    assert report["latest_version"] == 4 and report["type"] == "Account"
    return report["version"], report["state"]["balance"], report["state"]["status"]


def test_state_at_a_version_is_the_balance_then(stack: Stack, account: Written) -> None:
    assert balance_at(stack, account, "1") == (1, 0, "open")
    assert balance_at(stack, account, "2") == (2, 10_000, "open")
    assert balance_at(stack, account, "3") == (3, 7_500, "open")
    assert balance_at(stack, account, "4") == (4, 7_500, "frozen")


def test_state_at_a_time_is_the_last_version_recorded_by_then(
    stack: Stack, account: Written
) -> None:
    between = [moment.isoformat() for moment in account.after]
    naive_utc = account.after[1].replace(tzinfo=None).isoformat()
    in_paris = account.after[2].astimezone(timezone(timedelta(hours=1)))

    assert balance_at(stack, account, between[0]) == (1, 0, "open")
    assert balance_at(stack, account, between[1]) == (2, 10_000, "open")
    assert balance_at(stack, account, naive_utc) == (2, 10_000, "open")  # no zone: UTC
    assert balance_at(stack, account, in_paris.isoformat()) == (3, 7_500, "open")
    assert balance_at(stack, account, between[3]) == (4, 7_500, "frozen")

    table = audit(stack, "state", str(account.account_id), "--at", between[2])
    assert table.returncode == 0
    assert "at version 3 of 4" in table.stdout and "7500" in table.stdout
    too_early = audit(stack, "state", str(account.account_id), "--at", account.before.isoformat())
    assert too_early.returncode == 2 and "did not exist yet" in too_early.stderr


def test_trace_looks_up_the_correlation_id_through_its_index(stack: Stack) -> None:
    for context in CONTEXTS.values():
        audit_queries.ensure_correlation_index(stack.db, context)
        with audit_queries.connect(stack.db, context) as conn:
            conn.execute("SET enable_seqscan = off")  # tiny tables: make the choice visible
            plan = conn.execute(
                f"EXPLAIN SELECT * FROM {context.schema}.{context.events_table}"
                f" WHERE {context.schema}.event_correlation_id(state) = 'x'"
            ).fetchall()
        assert f"{context.events_table}_correlation_idx" in " ".join(row[0] for row in plan)


# --- export ---------------------------------------------------------------------------------


def test_export_streams_json_lines_within_a_time_range(stack: Stack, account: Written) -> None:
    since, until = account.after[0].isoformat(), account.after[2].isoformat()

    result = run_cli(stack, "export", "--context", "accounts", "--since", since, "--until", until)

    assert result.returncode == 0, result.stderr
    lines = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [(e["type"], e["version"]) for e in lines] == [
        ("MoneyDeposited.v1", 2),
        ("MoneyWithdrawn.v1", 3),
    ]
    first = lines[0]
    assert set(first) == {
        "context",
        "position",
        "aggregate_id",
        "version",
        "type",
        "recorded_at",
        "metadata",
        "payload",
    }
    assert first["context"] == "accounts" and first["aggregate_id"] == str(account.account_id)
    assert first["metadata"]["actor"] == "alice" and first["payload"]["amount"] == 10_000


@pytest.fixture(scope="module")
def bulk_store(stack: Stack) -> int:
    """100,000 more account events: 1,000 accounts of 100 events (an opening, 99 deposits)

    One account is written through the application; its two stored rows are copied (new
    aggregate ids and versions, the same state bytes) with COPY, far faster than saving
    100,000 events one aggregate at a time, and each row is a real stored event."""
    service = AccountsService(env=application_env(ACCOUNTS, stack.db, pool_size=1))
    # Stored as before sealing: a sealed owner copied to another aggregate would not open.
    cast(MetadataMapper, service.mapper).sealing = None
    template = service.open_account("bulk owner", "EUR").account_id
    service.deposit(template, 100)
    service.close()
    table = f"{ACCOUNTS.schema}.{ACCOUNTS.events_table}"
    with stack.admin() as conn:
        rows = conn.execute(
            f"SELECT topic, state FROM {table} WHERE originator_id = %s"
            " ORDER BY originator_version",
            (template,),
        ).fetchall()
        (opened_topic, opened), (deposit_topic, deposit) = rows
        columns = "originator_id, originator_version, topic, state"
        with conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for _ in range(BULK_ACCOUNTS):
                aggregate_id = uuid4()
                copy.write_row((aggregate_id, 1, opened_topic, opened))
                for version in range(2, BULK_EVENTS_EACH + 1):
                    copy.write_row((aggregate_id, version, deposit_topic, deposit))
    return sum(stack.event_count(context) for context in CONTEXTS.values())


class CheckingSink:
    """A file-like object that checks and counts JSON lines and keeps none of them."""

    def __init__(self) -> None:
        self.lines = 0
        self.bytes = 0
        self.positions: dict[str, int] = {}
        self._partial = b""

    def write(self, data: bytes) -> int:
        self.bytes += len(data)
        *complete, self._partial = (self._partial + data).split(b"\n")
        for line in complete:
            event = orjson.loads(line)
            last = self.positions.get(event["context"], 0)
            assert event["position"] > last, "positions must increase within a context"
            self.positions[event["context"]] = event["position"]
            self.lines += 1
        return len(data)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def current_rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_export_of_100k_events_runs_in_bounded_memory(stack: Stack, bulk_store: int) -> None:
    gc.collect()
    sink = CheckingSink()
    before = current_rss_mb()

    written = write_export(stack.db, sink, CONTEXTS.values())  # type: ignore[arg-type]

    # An upper bound on the growth: the peak may also be an older one, from the writes.
    growth = peak_rss_mb() - before
    assert written == sink.lines == bulk_store >= BULK_ACCOUNTS * BULK_EVENTS_EACH
    assert sink.bytes > EXPORT_GROWTH_BOUND_MB * 2**20  # holding the output alone would fail
    # holding the rows takes ~160 MiB, events ~250
    assert growth < EXPORT_GROWTH_BOUND_MB, f"RSS {before:.0f} MiB, then grew {growth:.1f} MiB"


# --- errors ---------------------------------------------------------------------------------


@contextmanager
def damaged(stack: Stack, account: Written, version: int) -> Iterator[None]:
    """One stored event of the account replaced by bytes that are not JSON, then restored."""
    table = f"{ACCOUNTS.schema}.{ACCOUNTS.events_table}"
    where = "WHERE originator_id = %s AND originator_version = %s"
    key = (account.account_id, version)
    with stack.admin() as conn:
        row = conn.execute(f"SELECT state FROM {table} {where}", key).fetchone()
        assert row is not None
        conn.execute(f"UPDATE {table} SET state = 'not json'::bytea {where}", key)
    try:
        yield
    finally:
        with stack.admin() as conn:
            conn.execute(f"UPDATE {table} SET state = %s {where}", (row[0], *key))


def test_a_damaged_event_is_named_in_one_line_and_exit_1(stack: Stack, account: Written) -> None:
    audit_queries.ensure_correlation_index(stack.db, ACCOUNTS)  # must not refuse the damage
    with damaged(stack, account, 3):
        history = run_cli(stack, "history", str(account.account_id))
        state = run_cli(stack, "state", str(account.account_id), "--at", "4")

    for result in (history, state):
        assert result.returncode == 1, result.stdout + result.stderr
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "cannot decode event accounts:" in history.stderr
    assert f"({account.account_id} version 3)" in history.stderr
    assert f"cannot fold {account.account_id} to version 4" in state.stderr


ERRORS = {
    "malformed id": (["history", "not-a-uuid"], "is not an aggregate id"),
    "unknown id": (["history", str(UUID(int=1))], "no aggregate"),
    "unknown id for state": (["state", str(UUID(int=1)), "--at", "1"], "no aggregate"),
    "version 0": (["state", "{account}", "--at", "0"], "versions start at 1"),
    "version too high": (["state", "{account}", "--at", "99"], "there is no version 99"),
    "bad time": (["state", "{account}", "--at", "yesterday"], "neither a version"),
    "before it existed": (["state", "{account}", "--at", "2000-01-01"], "did not exist yet"),
    "unknown correlation": (["trace", "no-such-request"], "no event has correlation id"),
    "empty correlation": (["trace", " "], "cannot be empty"),
    "since after until": (
        ["export", "--since", "2026-02-01", "--until", "2026-01-01"],
        "is after --until",
    ),
    "bad since": (["export", "--since", "last week"], "not an ISO 8601 time"),
    "unknown context": (["export", "--context", "ledger"], "unknown context 'ledger'"),
}


@pytest.fixture(scope="module")
def error_runs(stack: Stack, account: Written) -> dict[str, CliRun]:
    """Every error case, run once."""
    return {
        name: audit(stack, *[arg.format(account=account.account_id) for arg in args])
        for name, (args, _) in ERRORS.items()
    }


@pytest.mark.parametrize("case", ERRORS)
def test_bad_requests_get_one_line_and_exit_2(case: str, error_runs: dict[str, CliRun]) -> None:
    run = error_runs[case]

    assert run.returncode == 2, run.output
    assert run.stdout == ""
    assert run.stderr.startswith("error: ") and run.stderr.count("\n") == 1, run.stderr
    assert ERRORS[case][1] in run.stderr


def test_state_without_at_is_the_state_now(stack: Stack, account: Written) -> None:
    now = audit(stack, "state", str(account.account_id), "--json")
    assert now.returncode == 0, now.output
    report = orjson.loads(now.stdout)

    assert (report["version"], report["state"]["balance"], report["state"]["status"]) == (
        4,
        7_500,
        "frozen",
    )
    assert balance_at(stack, account, "now") == (4, 7_500, "frozen")


def test_history_at_80_columns_keeps_each_type_whole_on_one_line(
    stack: Stack, account: Written
) -> None:
    result = paystream(stack.database_url, "audit", "history", str(account.account_id), columns=80)

    assert result.returncode == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"{account.account_id} (accounts): 4 events"
    assert all(len(line) <= 80 for line in lines), result.stdout
    for event_type in ("AccountOpened.v1", "MoneyDeposited.v1", "MoneyWithdrawn.v1"):
        assert any(event_type in line for line in lines), (event_type, result.stdout)
    assert "teller-7" in result.stdout and "amount=2500" in result.stdout
