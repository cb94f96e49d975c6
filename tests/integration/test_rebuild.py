"""Rebuilding a read model while the system runs: readers never see a half-built model."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from uuid import UUID

import httpx
import pytest

from domains.accounts.aggregates import Account
from eventstore.contexts import ACCOUNTS
from projections.account_summary import AccountSummaryProjection
from projections.runtime import Projector
from tests.support.operator_token import operator_env
from tests.support.payments_workload import (
    Ledger,
    all_finished,
    open_funded_accounts,
    send_payments,
)
from tests.support.stack import Stack, wait_until
from tests.support.workload import (
    BackgroundWriter,
    CheckedThread,
    accounts_service,
    folded_rows,
    summary_rows,
    tracked_position,
)

pytestmark = pytest.mark.integration
NAME = AccountSummaryProjection.name


def rebuild(stack: Stack, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "DATABASE_URL": stack.database_url, **operator_env()}
    return subprocess.Popen(
        [sys.executable, "-m", "scripts.cli", "rebuild", NAME, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def active_schema(stack: Stack) -> str:
    with stack.admin() as conn:
        row = conn.execute(
            f"SELECT schema FROM {AccountSummaryProjection.read_schema()}.active_build"
        ).fetchone()
    assert row is not None
    return str(row[0])


def build_schemas(stack: Stack) -> list[str]:
    with stack.admin() as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s ORDER BY 1", (f"{NAME}\\_v%",)
        ).fetchall()
    return [str(row[0]) for row in rows]


def many_events(stack: Stack, accounts: int, deposits: int) -> list[UUID]:
    """Accounts with long histories, saved in big batches (fast to write)."""
    service = accounts_service(stack)
    ids = []
    for i in range(accounts):
        account = Account.open(f"long-{i}", "EUR")
        for _ in range(deposits):
            account.deposit(1)
        service.save(account)
        ids.append(account.id)
    return ids


class Reader(CheckedThread):
    """Reads accounts on the query API throughout, noting any 5xx or going backwards."""

    def __init__(self, url: str, ids: list[UUID], auth: dict[str, str]) -> None:
        super().__init__(self.read)
        self.url, self.ids, self.auth = url, ids, auth
        self.stop = threading.Event()
        self.reads = 0
        self.problems: list[str] = []
        self.first: dict[UUID, int] = {}  # the version each account had at its first read
        self.seen: dict[UUID, int] = {}

    def versions_seen_change(self, ids: list[UUID]) -> bool:
        """Whether the reader saw every one of `ids` move (traffic reached what it reads)."""
        return all(self.seen.get(i, 0) > self.first.get(i, 0) for i in ids)

    def read(self) -> None:
        seen = self.seen
        with httpx.Client(base_url=self.url, timeout=10, headers=self.auth) as http:
            while not self.stop.is_set():
                for account_id in self.ids:
                    response = http.get(f"/accounts/{account_id}")
                    self.reads += 1
                    if response.status_code != 200:
                        self.problems.append(f"{response.status_code} {response.text[:80]}")
                        continue
                    version = response.json()["version"]
                    if version < seen.get(account_id, 0):
                        self.problems.append(f"{account_id} went back to version {version}")
                    seen[account_id] = version
                    self.first.setdefault(account_id, version)


def test_a_rebuild_under_traffic_ends_equal_to_the_event_store(stack: Stack) -> None:
    service = accounts_service(stack)
    for name in (
        "relay-accounts",
        "relay-payments",
        "projector-account-summary",
        "accounts-api",
        "payments-api",
        "saga",
    ):
        stack.start(name)
    query = stack.start("account-summary-query-api")
    ids = many_events(stack, accounts=10, deposits=300)
    ledger = Ledger()
    token = open_funded_accounts(stack.url_of("accounts-api"), 10, ledger, stack.auth())
    wait_until(lambda: tracked_position(stack) >= stack.max_position(ACCOUNTS), 60, "catch-up")
    before = active_schema(stack)
    paid = [UUID(a) for a in ledger.accounts]  # the payments below keep changing these
    reader = Reader(query.url, ids + paid, stack.auth("audrey", "auditor"))
    reader.start()
    writer = BackgroundWriter(service, accounts=5, movements=400)
    writer.start()
    payments_url = next(p.url for p in stack.processes if p.spec.name == "payments-api")
    payer = CheckedThread(send_payments, payments_url, ledger, 150, token, 5, stack.auth())
    payer.start()

    result = rebuild(stack)
    out, err = result.communicate(timeout=300)
    more = writer.finish()
    payer.finish(120)
    wait_until(lambda: all_finished(stack, ledger), 120, "every payment to finish")
    wait_until(
        lambda: reader.versions_seen_change(paid), 60, "the reader to see payments move accounts"
    )
    reader.stop.set()
    reader.finish(30)

    assert result.returncode == 0, err
    assert "readers switched" in out
    assert active_schema(stack) != before and before not in build_schemas(stack)
    assert reader.reads > 0 and reader.problems == []
    final = stack.max_position(ACCOUNTS)
    wait_until(lambda: tracked_position(stack) >= final, 60, "the projector on the new build")
    ids += more + [UUID(a) for a in ledger.accounts]
    assert summary_rows(stack) == folded_rows(service, ids)


def test_an_interrupted_rebuild_leaves_the_live_build_and_the_next_one_succeeds(
    stack: Stack,
) -> None:
    service = accounts_service(stack)
    query = stack.start("account-summary-query-api")
    many_events(stack, accounts=20, deposits=1000)
    before = active_schema(stack)

    first = rebuild(stack)
    wait_until(lambda: len(build_schemas(stack)) > 1, 60, "the rebuild to start building")
    first.kill()
    first.wait()

    assert active_schema(stack) == before
    assert httpx.get(f"{query.url}/readyz").status_code == 200
    second = rebuild(stack)
    _, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    assert build_schemas(stack) == [active_schema(stack)]
    ids = list(summary_rows(stack))
    assert summary_rows(stack) == folded_rows(service, ids)


def test_dry_run_changes_nothing_and_a_bad_name_is_one_line(stack: Stack) -> None:
    before = build_schemas(stack)
    dry = rebuild(stack, "--dry-run")
    out, _ = dry.communicate(timeout=60)
    assert dry.returncode == 0 and "nothing was changed" in out
    assert build_schemas(stack) == before

    env = {**os.environ, "DATABASE_URL": stack.database_url}
    bad = subprocess.run(
        [sys.executable, "-m", "scripts.cli", "rebuild", "nope"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("error: unknown projection")
    assert len(bad.stderr.strip().splitlines()) == 1


class SummaryV2(AccountSummaryProjection):
    """The next version of the account summary (a change of shape would go here)."""

    version = AccountSummaryProjection.version + 1


def test_a_new_version_builds_itself_from_history_when_its_projector_starts(
    stack: Stack,
) -> None:
    service = accounts_service(stack)
    ids = many_events(stack, accounts=3, deposits=50)
    conninfo = stack.db.role_conninfo(SummaryV2.role())
    projector = Projector(SummaryV2(), conninfo, stack.nats_url)

    asyncio.run(projector.prepare())

    with stack.admin() as conn:
        row = conn.execute(
            f"SELECT schema, version FROM {SummaryV2.read_schema()}.active_build"
        ).fetchone()
    assert row is not None and row[1] == SummaryV2.version
    assert str(row[0]).startswith(f"{NAME}_v{SummaryV2.version}_")
    assert summary_rows(stack) == folded_rows(service, list(summary_rows(stack)))
    assert set(ids) <= set(summary_rows(stack))
