"""`paystream replay <context> --verify`, run as operators run it, on a real event store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import LiteralString
from uuid import UUID

import pytest
from psycopg.sql import SQL, Identifier

from domains.accounts.application import AccountsService
from domains.service import SNAPSHOT_INTERVAL
from eventstore.contexts import ACCOUNTS, application_env
from tests.support.cli import CliRun, paystream
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

ACCOUNTS_OPENED = 12
INTERVAL = 3


@pytest.fixture(scope="module")
def account_ids(stack: Stack) -> list[UUID]:
    """Accounts with 1 to 12 events each; snapshots every 3 events."""
    env = application_env(ACCOUNTS, stack.db, pool_size=2)
    service = AccountsService(env={**env, SNAPSHOT_INTERVAL: str(INTERVAL)})
    ids = []
    for n in range(ACCOUNTS_OPENED):
        account_id = service.open_account(f"owner {n}", "EUR").account_id
        for _ in range(n):
            service.deposit(account_id, 100)
        ids.append(account_id)
    service.close()
    return ids


def replay(stack: Stack, *args: str) -> CliRun:
    return paystream(stack.database_url, "replay", *args)


@contextmanager
def tampered(
    stack: Stack, table: str, aggregate_id: UUID, version: int, new_state: LiteralString
) -> Iterator[None]:
    """One stored row's state set to `new_state` (SQL, as the administrator), then restored."""
    target = SQL("{}.{}").format(Identifier(ACCOUNTS.schema), Identifier(table))
    where = SQL("WHERE originator_id = %s AND originator_version = %s")
    key = (aggregate_id, version)
    with stack.admin() as conn:
        found = conn.execute(SQL("SELECT state FROM {} {}").format(target, where), key).fetchone()
        assert found is not None
        change = SQL("UPDATE {} SET state = {} {}").format(target, SQL(new_state), where)
        conn.execute(change, key)
    try:
        yield
    finally:
        with stack.admin() as conn:
            restore = SQL("UPDATE {} SET state = %s {}").format(target, where)
            conn.execute(restore, (found[0], *key))


def test_every_account_folds_and_matches_its_snapshot(
    stack: Stack, account_ids: list[UUID]
) -> None:
    events = ACCOUNTS_OPENED * (ACCOUNTS_OPENED + 1) // 2

    result = replay(stack, "accounts", "--verify")

    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        f"accounts: {ACCOUNTS_OPENED} aggregates folded and checked against snapshots,"
        f" {events} events," in result.stdout
    )
    assert "aggregates/s" in result.stdout and "events/s" in result.stdout
    assert "FAILED" not in result.stdout


def test_an_event_that_does_not_decode_fails_its_aggregate(
    stack: Stack, account_ids: list[UUID]
) -> None:
    broken = account_ids[5]

    with tampered(stack, ACCOUNTS.events_table, broken, 4, "convert_to('{not json', 'UTF8')"):
        result = replay(stack, "accounts", "--verify")

    assert result.returncode == 1, result.stdout + result.stderr
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1
    assert failed[0].startswith(f"FAILED {broken} version 4: MapperDeserialisationError")
    assert f"accounts: {ACCOUNTS_OPENED} aggregates folded" in result.stdout
    assert f"1 of {ACCOUNTS_OPENED} aggregates failed to load" in result.stdout


def test_verify_reports_a_snapshot_that_disagrees_with_the_events(
    stack: Stack, account_ids: list[UUID]
) -> None:
    wrong = account_ids[7]  # version 8; its latest snapshot is version 6, balance 500
    forged = (
        "convert_to(replace(convert_from(state, 'UTF8'), '\"balance\":500', '\"balance\":999'),"
        " 'UTF8')"
    )

    with tampered(stack, ACCOUNTS.snapshots_table, wrong, 6, forged):
        plain = replay(stack, "accounts")
        verified = replay(stack, "accounts", "--verify")

    assert plain.returncode == 0, plain.stdout + plain.stderr  # replay alone ignores snapshots
    assert verified.returncode == 1, verified.stdout + verified.stderr
    assert (
        f"FAILED {wrong} version 8: with snapshot differs: balance 1199 != 700" in verified.stdout
    )


def test_an_unknown_context_is_one_line_on_stderr(stack: Stack) -> None:
    result = replay(stack, "ledger", "--verify")

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: unknown context 'ledger'; known: accounts, payments"
    ]
    assert result.stdout == ""
