"""`paystream bench appends`: appends per second in process at N concurrent writers.

Three recorders on the same server, in one run: the eventsourcing library's stock
PostgreSQL application recorder (the baseline: no hash chain, no idempotency keys),
Paystream's recorder with every append committed alone, and Paystream's recorder with
group commit. Paystream's appends carry the hash chain and an idempotency key each. Each
writer thread appends one deposit-sized event at a time to an aggregate of its own; each
recorder gets a fresh schema (dropped afterwards) and the same pool; the variants take
turns over the rounds, so drift on the machine touches them alike.
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from eventstore.contexts import Context
from eventstore.datastore import datastore_on
from eventstore.metadata import CommandMetadata, command_metadata
from eventstore.recorder import PaystreamRecorder
from eventstore.settings import DatabaseSettings
from scripts.benchmarks.latency import percentile

POOL_SIZE = 8  # per recorder, up to twice as many connections
TOPIC = "domains.accounts.aggregates:Account.MoneyDeposited"
STATE = (
    b'{"amount":{"_type_":"int","_data_":1},"__meta__":{"actor":"bench",'
    b'"correlation_id":"3f1c6a52-2b9e-4f0c-9a53-6f0b1d2c9e11","causation_id":null,'
    b'"recorded_at":"2026-12-02T06:00:00+00:00"},"timestamp":"2026-12-02T06:00:00+00:00"}'
)


@dataclass(frozen=True)
class Variant:
    name: str
    make: Callable[[str, str], PostgresApplicationRecorder]  # (conninfo, schema) -> recorder
    keyed: bool  # each append carries an idempotency key


def _library(conninfo: str, schema: str) -> PostgresApplicationRecorder:
    datastore = datastore_on(conninfo, schema, POOL_SIZE)
    return PostgresApplicationRecorder(datastore, events_table_name=Context(schema).events_table)


def _paystream(max_commands: int) -> Callable[[str, str], PostgresApplicationRecorder]:
    def make(conninfo: str, schema: str) -> PostgresApplicationRecorder:
        datastore = datastore_on(conninfo, schema, POOL_SIZE)
        recorder = PaystreamRecorder(datastore, events_table_name=Context(schema).events_table)
        recorder.groups.max_items = max_commands
        return recorder

    return make


VARIANTS = (
    Variant("library's stock recorder", _library, keyed=False),
    Variant("paystream, each append commits alone", _paystream(1), keyed=True),
    Variant("paystream, group commit", _paystream(64), keyed=True),
)


@dataclass
class Tally:
    appends: list[int] = field(default_factory=list)  # per round
    seconds: list[float] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    failed: int = 0

    def rate(self) -> float:
        """The median over rounds of appends per second."""
        return statistics.median(n / s for n, s in zip(self.appends, self.seconds, strict=True))

    def percentile(self, percent: float) -> float:
        """Of the append latencies, in ms (nearest rank); 0 without any."""
        return percentile(self.latencies_ms, percent) if self.latencies_ms else 0.0


def run_appends_bench(
    db: DatabaseSettings, writers: int, seconds: float, rounds: int, console: Console
) -> None:
    """Run every variant `rounds` times, taking turns, and print the table."""
    tallies = measure_appends(db, writers, seconds, rounds, console)
    _report(console, writers, seconds, rounds, tallies)


def measure_appends(
    db: DatabaseSettings,
    writers: int,
    seconds: float,
    rounds: int,
    console: Console,
    variants: tuple[Variant, ...] = VARIANTS,
) -> dict[str, Tally]:
    """Each variant's tally over `rounds` rounds, the variants taking turns."""
    conninfo = db.admin_conninfo()
    tallies = {variant.name: Tally() for variant in variants}
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("appending", total=rounds * len(variants) * seconds)
        for round_number in range(rounds):
            for variant in variants:
                progress.update(task, description=f"round {round_number + 1}: {variant.name}")
                with fresh_schema(conninfo) as schema:
                    recorder = variant.make(conninfo, schema)
                    recorder.create_table()
                    try:
                        _round(recorder, variant.keyed, writers, seconds, tallies[variant.name])
                    finally:
                        recorder.datastore.close()
                progress.advance(task, seconds)
    return tallies


@contextmanager
def fresh_schema(conninfo: str) -> Iterator[str]:
    """A new, empty schema, dropped with everything in it afterwards."""
    schema = f"bench_appends_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield schema
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _round(
    recorder: PostgresApplicationRecorder, keyed: bool, writers: int, seconds: float, tally: Tally
) -> None:
    """`writers` threads append for `seconds`; the round's count and latencies."""
    counts = [0] * writers
    latencies: list[list[float]] = [[] for _ in range(writers)]
    failures = [0] * writers
    start = threading.Barrier(writers + 1)
    deadline = 0.0

    def writer(index: int) -> None:
        aggregate = uuid.uuid4()
        version = 0
        start.wait()
        while time.monotonic() < deadline:
            event = StoredEvent(aggregate, version + 1, TOPIC, STATE)
            began = time.perf_counter()
            try:
                if keyed:
                    metadata = CommandMetadata(
                        idempotency_key=str(uuid.uuid4()), request_fingerprint="bench"
                    )
                    with command_metadata(metadata):
                        recorder.insert_events([event])
                else:
                    recorder.insert_events([event])
            except Exception:  # counted, not raised: the figure says how many failed
                failures[index] += 1
                continue
            latencies[index].append((time.perf_counter() - began) * 1000)
            counts[index] += 1
            version += 1

    threads = [threading.Thread(target=writer, args=(i,), daemon=True) for i in range(writers)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + seconds
    began = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join()
    tally.seconds.append(time.perf_counter() - began)
    tally.appends.append(sum(counts))
    tally.latencies_ms.extend(ms for per_writer in latencies for ms in per_writer)
    tally.failed += sum(failures)


def _report(
    console: Console, writers: int, seconds: float, rounds: int, tallies: dict[str, Tally]
) -> None:
    baseline = tallies[VARIANTS[0].name].rate()
    table = Table(title=f"appends in process: {writers} writers, {rounds} x {seconds:.0f}s each")
    for column in ("recorder", "appends/s", "vs library", "p50 ms", "p99 ms", "failed"):
        table.add_column(column, justify="left" if column == "recorder" else "right")
    for variant in VARIANTS:
        tally = tallies[variant.name]
        rate = tally.rate()
        table.add_row(
            variant.name,
            f"{rate:,.0f}",
            f"{rate / baseline:.2f}x" if baseline else "-",
            f"{tally.percentile(50):.1f}",
            f"{tally.percentile(99):.1f}",
            str(tally.failed),
        )
    console.print(table)
