"""How fast the accounts relay and a live projector catch up on a backlog, on a running
`paystream up`, against raw JetStream publishing on the same server.

The accounts relay and the account_summary projector are paused (SIGSTOP; `up` sees
them still running), `events` deposit events are written in process, then the relay is
resumed and timed until its published position (its `/metrics`) reaches the log's end;
then the projector is resumed and timed until its read models' tracking rows do (read
from PostgreSQL over one held connection: polling its `/metrics` page 20 times a second
cost the measured process a tenth of its CPU). The other projectors consume meanwhile,
as they would. Both are always resumed, whatever
happens. The baseline is nats-py's `publish_async` of as many messages of the events'
mean size to a scratch stream of the same configuration, every acknowledgement awaited.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import nats
import psycopg
from prometheus_client.parser import text_string_to_metric_families

from eventstore import chain_check
from eventstore.contexts import ACCOUNTS
from eventstore.settings import DatabaseSettings, NatsSettings, nats_servers
from eventstore.streams import stream_config
from projections.registry import PROJECTIONS
from projections.tracking import reached_query
from scripts.benchmarks.gateway_stack import UnexpectedAnswer
from scripts.benchmarks.rebuild import prefill
from scripts.benchmarks.stack_usage import stack_processes
from scripts.devstack.layout import read_targets
from scripts.devstack.services import ACCOUNT_PROJECTORS

# The process projecting account_summary in the layout `up` runs: its own, or the group
# of the accounts projections (then timed until every projection of it has caught up).
RELAY, PROJECTOR = "relay-accounts", ACCOUNT_PROJECTORS[0].name
PROCESS_NAMES = {RELAY: "relay accounts", PROJECTOR: " ".join(ACCOUNT_PROJECTORS[0].serve_args)}
CATCH_UP_PROJECTIONS = [PROJECTIONS[n] for n in ACCOUNT_PROJECTORS[0].serve_args[1].split(",")]
GROUPED = len(CATCH_UP_PROJECTIONS) > 1
CATCH_UP_PROCESS = (
    f"the account projector group ({len(CATCH_UP_PROJECTIONS)} read models)"
    if GROUPED
    else "account_summary's projector"
)
CATCH_UP_READ_MODELS = (
    f"its {len(CATCH_UP_PROJECTIONS)} read models, one after another"
    if GROUPED
    else "account_summary"
)
RELAY_POSITION_METRIC = "paystream_relay_published_position"
POLL_SECONDS = 0.05  # at most 20 times a second
CATCH_UP_TIMEOUT_SECONDS = 600.0
PUBLISH_WINDOW = 1_000  # raw publishes in flight at most


@dataclass(frozen=True)
class CatchUpFigures:
    events: int
    relay_seconds: float
    projector_seconds: float
    raw_publish_seconds: float

    @staticmethod
    def rate(events: int, seconds: float) -> float:
        return events / seconds if seconds > 0 else 0.0

    @property
    def relay_rate(self) -> float:
        return self.rate(self.events, self.relay_seconds)

    @property
    def projector_rate(self) -> float:
        return self.rate(self.events, self.projector_seconds)

    @property
    def raw_publish_rate(self) -> float:
        return self.rate(self.events, self.raw_publish_seconds)


def measure_catch_up(db: DatabaseSettings, data_dir: Path, events: int) -> CatchUpFigures:
    """Backlog the relay and the projector, time each catching up, then raw publishing."""
    urls = {t.name: t.metrics_url for t in read_targets(data_dir) if t.metrics_url}
    if RELAY not in urls:
        raise UnexpectedAnswer(f"{data_dir} records no {RELAY}")
    pids = _pids(data_dir)
    with (
        httpx.Client(timeout=5) as http,
        psycopg.connect(db.admin_conninfo(), autocommit=True) as conn,
        paused(pids[RELAY]),
        paused(pids[PROJECTOR]),
    ):
        prefill(db, events)
        end = _log_end(db)
        relay_seconds = _resume_until(pids[RELAY], lambda: _published(http, urls[RELAY]), end)
        projector_seconds = _resume_until(pids[PROJECTOR], lambda: _applied(conn), end)
    size = _mean_event_bytes(db, events)
    raw = asyncio.run(_raw_publish(events, size))
    return CatchUpFigures(events, relay_seconds, projector_seconds, raw)


def _pids(data_dir: Path) -> dict[str, int]:
    found = {p.name: p.pid for p in stack_processes(data_dir)}
    pids = {name: found.get(process) for name, process in PROCESS_NAMES.items()}
    absent = [name for name, pid in pids.items() if pid is None]
    if absent:
        raise UnexpectedAnswer(f"no running {' or '.join(absent)} uses {data_dir}")
    return {name: pid for name, pid in pids.items() if pid is not None}


@contextmanager
def paused(pid: int) -> Iterator[None]:
    """The process stopped (SIGSTOP) inside the block, and continued after it (also
    when it was already continued, or when the block fails)."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def _resume_until(pid: int, position: Callable[[], float], end: int) -> float:
    """Continue `pid` and the seconds until `position()` reaches `end`."""
    started = time.perf_counter()
    os.kill(pid, signal.SIGCONT)
    deadline = time.monotonic() + CATCH_UP_TIMEOUT_SECONDS
    while position() < end:
        if time.monotonic() > deadline:
            raise TimeoutError(f"process {pid} did not reach position {end} in time")
        time.sleep(POLL_SECONDS)
    return time.perf_counter() - started


def _published(http: httpx.Client, metrics_url: str) -> float:
    """The relay's published position of the accounts log, from its `/metrics`."""
    try:
        page = http.get(metrics_url).text
    except httpx.TransportError:
        return 0.0  # still waking up
    values = [
        sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
        if sample.name == RELAY_POSITION_METRIC
        and sample.labels.get("source", ACCOUNTS.name) == ACCOUNTS.name
    ]
    return min(values, default=0.0)


def _applied(conn: psycopg.Connection[Any]) -> float:
    """The lowest position of the accounts log every read model of the projector has
    applied, from their tracking rows."""
    reached = []
    for projection in CATCH_UP_PROJECTIONS:
        query = reached_query(projection.read_schema())
        row = conn.execute(query, (ACCOUNTS.name,)).fetchone()
        reached.append(int(row[0]) if row and row[0] is not None else 0)
    return min(reached)


def _log_end(db: DatabaseSettings) -> int:
    with psycopg.connect(db.admin_conninfo()) as conn:
        return chain_check.max_position(conn, ACCOUNTS)


def _mean_event_bytes(db: DatabaseSettings, events: int) -> int:
    """The mean stored size of the last `events` events of the accounts log."""
    with psycopg.connect(db.admin_conninfo()) as conn:
        row = conn.execute(
            f"SELECT coalesce(avg(length(state)), 0) FROM (SELECT state FROM"
            f" {ACCOUNTS.schema}.{ACCOUNTS.events_table} ORDER BY notification_id DESC"
            " LIMIT %s) AS last",
            (events,),
        ).fetchone()
    return int(row[0]) if row else 0


async def _raw_publish(messages: int, size: int) -> float:
    """Seconds to publish `messages` of `size` bytes with publish_async to a scratch stream
    configured as the accounts stream, at most PUBLISH_WINDOW unacknowledged."""
    name = f"BENCH_RAW_{uuid.uuid4().hex[:8].upper()}"
    config = stream_config(ACCOUNTS)
    config.name, config.subjects = name, [f"bench.raw.{name}.>"]
    nc = await nats.connect(nats_servers(NatsSettings().url()))
    js = nc.jetstream(publish_async_max_pending=PUBLISH_WINDOW)
    await js.add_stream(config)
    try:
        body = b"x" * size
        started = time.perf_counter()
        for _ in range(messages):
            await js.publish_async(f"bench.raw.{name}.event", body, wait_stall=30)
        await js.publish_async_completed()
        return time.perf_counter() - started
    finally:
        await js.delete_stream(name)
        await nc.close()
