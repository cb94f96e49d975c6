"""`paystream bench aggregate-load`: how long loading an account takes with a long
history of completed payments, beside one with a short history.

In process, against the PostgreSQL of DATABASE_URL, as the accounts role, snapshotting
as the services do (PAYSTREAM_SNAPSHOT_INTERVAL, 100 by default). It writes two new
accounts: each opened, funded by one deposit, then debited by payments (the events a
payer's account records for payments that completed), SHORT and LONG events in all.
Then it loads each, alternately, and prints the median load of each, their ratio, and
the size of each account's latest snapshot.
"""

from __future__ import annotations

import statistics
import time
import uuid
from dataclasses import dataclass
from uuid import UUID

from rich.console import Console

from domains.accounts.aggregates import MAX_AMOUNT, Account
from domains.accounts.application import AccountsService
from domains.accounts.movements import PaymentMovement
from eventstore.contexts import ACCOUNTS
from eventstore.settings import DatabaseSettings
from scripts.composition.applications import open_command_service
from scripts.plural import counted

SAVE_BATCH = 1_000  # events saved per transaction while writing a history
OPENING_EVENTS = 2  # opened, then one deposit that funds every debit


@dataclass(frozen=True)
class LoadFigures:
    """Median seconds per load, and the bytes of the latest snapshot (0: none yet)."""

    events: int
    median_seconds: float
    snapshot_bytes: int


@dataclass(frozen=True)
class LoadComparison:
    short: LoadFigures
    long: LoadFigures

    @property
    def ratio(self) -> float:
        return self.long.median_seconds / self.short.median_seconds


def run_aggregate_load_bench(
    db: DatabaseSettings, short: int, long: int, loads: int, console: Console
) -> LoadComparison:
    """Write both histories, load each `loads` times, print and return the figures."""
    # Uncached: each load reconstructs the account, as the first one after a start does.
    service = open_command_service(ACCOUNTS, db, pool_size=1, cached=False)
    assert isinstance(service, AccountsService)
    try:
        with console.status(f"writing accounts of {short:,} and {long:,} events"):
            short_id, long_id = (write_history(service, n) for n in (short, long))
        with console.status(f"loading each account {counted(loads, 'time')}"):
            comparison = compare_loads(service, short_id, long_id, loads)
    finally:
        service.close()
    print_comparison(comparison, service.snapshotting_intervals.get(Account, 0), console)
    return comparison


def write_history(service: AccountsService, events: int) -> UUID:
    """A new account of `events` events: opened, one deposit, then one debit per payment."""
    if events < OPENING_EVENTS:
        raise ValueError(f"a history has at least {OPENING_EVENTS} events")
    debits = events - OPENING_EVENTS
    account_id = service.open_account(f"bench-load-{events}", "EUR").account_id
    service.deposit(account_id, min(MAX_AMOUNT, max(debits, 1)))
    while debits:
        account = service.get_account(account_id)
        for _ in range(min(SAVE_BATCH, debits)):
            account.debit(PaymentMovement(1, "EUR", str(uuid.uuid4()), str(uuid.uuid4()), ""))
        debits -= len(account.pending_events)
        service.save(account)
    return account_id


def compare_loads(
    service: AccountsService, short_id: UUID, long_id: UUID, loads: int
) -> LoadComparison:
    """Load the two accounts alternately (one warm-up load each, not counted)."""
    timings: dict[UUID, list[float]] = {short_id: [], long_id: []}
    for account_id in timings:
        service.get_account(account_id)
    for _ in range(loads):
        for account_id, taken in timings.items():
            started = time.perf_counter()
            service.get_account(account_id)
            taken.append(time.perf_counter() - started)
    short, long = (
        LoadFigures(
            service.get_account(account_id).version,
            statistics.median(taken),
            snapshot_bytes(service, account_id),
        )
        for account_id, taken in timings.items()
    )
    return LoadComparison(short, long)


def snapshot_bytes(service: AccountsService, account_id: UUID) -> int:
    """The stored size of the account's latest snapshot; 0 when it has none."""
    if service.snapshots is None:
        return 0
    latest = service.snapshots.recorder.select_events(account_id, desc=True, limit=1)
    return len(latest[0].state) if latest else 0


def print_comparison(comparison: LoadComparison, interval: int, console: Console) -> None:
    every = f"every {counted(interval, 'event')}" if interval else "off"
    console.print(f"snapshots: {every} (PAYSTREAM_SNAPSHOT_INTERVAL)")
    for figures in (comparison.short, comparison.long):
        console.print(
            f"account of {counted(figures.events, 'event')}:"
            f" {figures.median_seconds * 1000:.3f} ms per load (median),"
            f" latest snapshot {figures.snapshot_bytes:,} bytes"
        )
    console.print(f"ratio long/short: {comparison.ratio:.2f}")
