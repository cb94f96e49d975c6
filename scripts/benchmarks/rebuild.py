"""`paystream bench rebuild`: how fast a rebuild applies history, against a raw scan.

In one run, on the same data: (1) a raw batched scan of the read model's sources
(the same batched reads a rebuild does, decoding every event, writing nothing);
(2) a real rebuild of the read model (reads, handlers, writes, switch). With
--prefill N, N deposit events are written first (100 per transaction).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from psycopg import AsyncConnection
from rich.console import Console

from domains.accounts.aggregates import Account
from eventstore.contexts import ACCOUNTS
from eventstore.reader import read_events
from eventstore.settings import DatabaseSettings
from projections.projection import Projection
from projections.rebuild import REPLAY_BATCH, RebuildReport, rebuild
from scripts.composition.applications import open_command_service
from scripts.plural import counted

EVENTS_PER_ACCOUNT = 100


@dataclass(frozen=True)
class RebuildFigures:
    scanned: int
    scan_seconds: float
    report: RebuildReport

    @property
    def scan_rate(self) -> float:
        return self.scanned / self.scan_seconds if self.scan_seconds > 0 else 0.0


def run_rebuild_bench(
    projection: type[Projection], db: DatabaseSettings, prefill: int, console: Console
) -> None:
    """Prefill, scan, rebuild, and print both rates."""
    figures = measure_rebuild(projection, db, prefill, console)
    report = figures.report
    console.print(f"events in the sources: {figures.scanned:,}")
    console.print(
        f"raw batched scan (read + decode, batches of {REPLAY_BATCH}):"
        f" {figures.scan_rate:,.0f} events/s ({figures.scan_seconds:.2f}s)"
    )
    console.print(
        f"rebuild of {projection.name} (read + handlers + writes + switch):"
        f" {report.rate:,.0f} events/s ({report.seconds:.2f}s, {counted(report.applied, 'event')})"
    )


def measure_rebuild(
    projection: type[Projection], db: DatabaseSettings, events: int, console: Console
) -> RebuildFigures:
    """Write `events` deposit events first, then a raw batched scan and a rebuild of
    the same events."""
    if events:
        with console.status(f"writing {counted(events, 'event')}"):
            prefill(db, events)
    conninfo = db.role_conninfo(projection.role())
    with console.status("raw batched scan of the event stores"):
        scanned, scan_seconds = asyncio.run(_scan(projection, conninfo))
    with console.status(f"rebuilding {projection.name}"):
        report = asyncio.run(rebuild(projection, conninfo))
    return RebuildFigures(scanned, scan_seconds, report)


def rebuild_rate(projection: type[Projection], db: DatabaseSettings, console: Console) -> float:
    """A rebuild of `projection` on the events there are: its events per second."""
    with console.status(f"rebuilding {projection.name}"):
        report = asyncio.run(rebuild(projection, db.role_conninfo(projection.role())))
    return report.rate


def combined_rate(rates: list[float]) -> float:
    """The rate of one process doing each of the works of `rates` per event in turn."""
    return 1 / sum(1 / rate for rate in rates) if rates and all(rates) else 0.0


def prefill(db: DatabaseSettings, events: int) -> None:
    service = open_command_service(ACCOUNTS, db, pool_size=2)
    try:
        for i in range(0, events, EVENTS_PER_ACCOUNT):
            account = Account.open(f"bench-{i}", "EUR")
            for _ in range(min(EVENTS_PER_ACCOUNT, events - i) - 1):
                account.deposit(1)
            service.save(account)
    finally:
        service.close()


async def _scan(projection: type[Projection], conninfo: str) -> tuple[int, float]:
    async with await AsyncConnection.connect(conninfo, autocommit=True) as conn:
        started = time.perf_counter()
        total = 0
        for source in projection.sources:
            position = 0
            while batch := await read_events(conn, source, position, limit=REPLAY_BATCH):
                for envelope in batch:
                    envelope.state()
                total += len(batch)
                position = batch[-1].position
        return total, time.perf_counter() - started
