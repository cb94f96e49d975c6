"""`paystream bench nats-sync`: JetStream publish rate with the server's default
`sync_interval` (fsync every 2 minutes) and with `always` (fsync before each ack).

In one run, each setting gets a fresh embedded nats-server (or cluster, --nodes 3) in a
temporary directory on the same disk, and a stream configured like a context's. Two
rates: the relay's way (pipelined batches of BATCH_SIZE, each message with its msg id
and the expected-last-msg-id chain) and one publish at a time, each awaiting its ack
(what a lone event sees).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import nats
from nats.js import JetStreamContext
from rich.console import Console
from rich.table import Table

from eventstore.contexts import Context
from eventstore.envelope import H_EXPECTED_LAST_MSG_ID, H_MSG_ID
from eventstore.relay import BATCH_SIZE
from eventstore.settings import nats_servers
from eventstore.streams import ensure_stream
from scripts.devstack.embedded import EmbeddedNats, EmbeddedNatsCluster, free_port

SETTINGS = ("2m", "always")
BENCH = Context("bench")
BODY = b"x" * 400  # about a stored event's size


def run_nats_sync_bench(messages: int, nodes: int, console: Console) -> None:
    table = Table(title=f"JetStream publishes per second, {nodes} node(s), R{nodes} stream")
    table.add_column("sync_interval")
    table.add_column(f"pipelined (batches of {BATCH_SIZE})", justify="right")
    table.add_column("one at a time", justify="right")
    for sync_interval in SETTINGS:
        with tempfile.TemporaryDirectory() as folder:
            server = _server(Path(folder), sync_interval, nodes)
            with console.status(f"sync_interval {sync_interval}: {messages} messages"):
                try:
                    url = server.start()
                    pipelined, single = asyncio.run(_measure(url, messages, nodes))
                finally:
                    server.stop()
        table.add_row(sync_interval, f"{pipelined:,.0f}", f"{single:,.0f}")
    console.print(table)


def _server(folder: Path, sync_interval: str, nodes: int) -> EmbeddedNats | EmbeddedNatsCluster:
    if nodes == 1:
        return EmbeddedNats(folder, free_port(), sync_interval=sync_interval)
    ports = [free_port() for _ in range(nodes)]
    return EmbeddedNatsCluster(folder, ports, sync_interval=sync_interval)


async def _measure(url: str, messages: int, nodes: int) -> tuple[float, float]:
    nc = await nats.connect(nats_servers(url))
    try:
        js = nc.jetstream()
        await ensure_stream(js, BENCH, nodes)
        started = time.perf_counter()
        await _publish_pipelined(js, 1, messages)
        pipelined = messages / (time.perf_counter() - started)
        singles = max(1, messages // 10)
        started = time.perf_counter()
        for position in range(messages + 1, messages + singles + 1):
            await js.publish(BENCH.subject("Bench.v1"), BODY, headers=_headers(position))
        return pipelined, singles / (time.perf_counter() - started)
    finally:
        await nc.close()


async def _publish_pipelined(js: JetStreamContext, first: int, count: int) -> None:
    for start in range(first, first + count, BATCH_SIZE):
        positions = range(start, min(start + BATCH_SIZE, first + count))
        futures = [
            await js.publish_async(BENCH.subject("Bench.v1"), BODY, headers=_headers(position))
            for position in positions
        ]
        await asyncio.gather(*futures)


def _headers(position: int) -> dict[str, str]:
    headers = {H_MSG_ID: BENCH.msg_id(position)}
    if position > 1:
        headers[H_EXPECTED_LAST_MSG_ID] = BENCH.msg_id(position - 1)
    return headers
