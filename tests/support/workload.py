"""Writing events straight through the accounts application, and checking read models
against a fold of the event store."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domains.accounts.application import AccountsService
from domains.accounts.errors import AccountError
from eventstore.contexts import ACCOUNTS, application_env
from projections.account_summary import AccountSummaryProjection
from projections.projection import Projection
from projections.runtime import Projector
from projections.tracking import reached_query
from tests.support.stack import Stack


def accounts_service(stack: Stack) -> AccountsService:
    return AccountsService(env=application_env(ACCOUNTS, stack.db, pool_size=2))


def write_events(
    service: AccountsService, accounts: int, movements: int, seed: int = 7
) -> list[UUID]:
    """Open `accounts` accounts, then make `movements` random deposits and withdrawals."""
    rng = random.Random(seed)
    ids = [service.open_account(f"owner-{i}", "EUR").account_id for i in range(accounts)]
    for _ in range(movements):
        account_id = rng.choice(ids)
        try:
            if rng.random() < 0.6:
                service.deposit(account_id, rng.randint(1, 10_000))
            else:
                service.withdraw(account_id, rng.randint(1, 5_000))
        except AccountError:
            pass  # overdrafts are refused and store nothing
    return ids


class CheckedThread(threading.Thread):
    """A thread whose exception fails the test that waits for it (not lost on stderr)."""

    def __init__(self, target: Callable[..., Any], *args: Any) -> None:
        super().__init__(daemon=True)
        self._work, self._args = target, args
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self._work(*self._args)
        except BaseException as error:
            self.error = error

    def finish(self, timeout: float = 300) -> Any:
        """Wait for the thread; fail if it raised or is still running."""
        self.join(timeout=timeout)
        assert not self.is_alive(), f"{self._work.__name__} still running after {timeout:.0f}s"
        if self.error is not None:
            raise AssertionError(f"{self._work.__name__} failed: {self.error!r}") from self.error
        return self.result


class BackgroundWriter(CheckedThread):
    """Keeps writing events while a test kills and restarts a worker."""

    def __init__(self, service: AccountsService, accounts: int, movements: int) -> None:
        super().__init__(write_events, service, accounts, movements)

    def finish(self, timeout: float = 300) -> list[UUID]:
        ids: list[UUID] = super().finish(timeout)
        return ids


@dataclass(frozen=True)
class Interrupted:
    """Where a worker stood when it was killed: what it had done and what was stored."""

    done: int
    stored: int


def kill_mid_work(
    kill: Callable[[], None],
    done: Callable[[], int],
    stored: Callable[[], int],
    writer: BackgroundWriter,
    timeout: float = 60.0,
) -> Interrupted:
    """Kill -9 a worker while it is working: it has moved since the first look, more is
    stored than it has done (work waiting for it), and the writer is still writing.

    Fails past `timeout` if that moment never comes, so a kill can never silently land on
    an idle worker."""
    first = done()
    deadline = time.monotonic() + timeout
    while True:
        position, backlog_end = done(), stored()
        if position > first and backlog_end > position and writer.is_alive():
            kill()
            return Interrupted(position, backlog_end)
        if time.monotonic() > deadline:
            raise AssertionError(
                f"the worker never was busy: done {position}, stored {backlog_end},"
                f" writer alive {writer.is_alive()}"
            )
        time.sleep(0.02)


def summary_rows(stack: Stack) -> dict[UUID, dict[str, Any]]:
    schema = AccountSummaryProjection.read_schema()
    with stack.admin() as conn:
        cursor = conn.execute(
            "SELECT account_id, owner, holder, currency, balance, status, version"
            f" FROM {schema}.accounts"
        )
        columns = [c.name for c in cursor.description or []]
        return {row[0]: dict(zip(columns, row, strict=True)) for row in cursor.fetchall()}


def folded_rows(service: AccountsService, ids: list[UUID]) -> dict[UUID, dict[str, Any]]:
    """What the summary must say: each account folded from its events."""
    rows = {}
    for account_id in ids:
        account = service.get_account(account_id)
        rows[account_id] = {
            "account_id": account_id,
            "owner": account.owner,
            "holder": account.holder,
            "currency": account.currency,
            "balance": account.balance,
            "status": account.status,
            "version": account.version,
        }
    return rows


def tracked_position(stack: Stack) -> int:
    """The account summary's position in the accounts log (every bucket has reached it)."""
    with stack.admin() as conn:
        query = reached_query(AccountSummaryProjection.read_schema())
        row = conn.execute(query, (ACCOUNTS.name,)).fetchone()
    return int(row[0]) if row else 0


class ProjectorThread(threading.Thread):
    """A projector worker in-process, on the real NATS and PostgreSQL."""

    def __init__(self, stack: Stack, projection: Projection, **options: Any) -> None:
        super().__init__(daemon=True)
        conninfo = stack.db.role_conninfo(projection.role())
        self.projector = Projector(projection, conninfo, stack.nats_url, **options)
        self.loop = asyncio.new_event_loop()
        self.stop = asyncio.Event()

    def run(self) -> None:
        self.loop.run_until_complete(self.projector.run(self.stop))

    def finish(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.join(30)
