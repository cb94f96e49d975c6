"""The four projections of the accounts source as four projector processes or as one
group process: CPU per event and CPU at idle of the projector processes, both layouts in
the same run on the same embedded PostgreSQL and NATS.

`python -m scripts.benchmarks.projector_layouts [--deposits N] [--rate R] [--idle S]
[--rounds K]`. Per round and layout: start the layout's processes (and the accounts relay
once, for the whole run), let them settle, sum their utime+stime (/proc/<pid>/stat) over
`--idle` seconds with nothing written, then over N deposits written at R a second until
every projection's tracking has reached the last one. Layouts alternate (single, group,
single, group...) so a drift of the machine falls on both. Deposits are written in this
process; only the projector processes are counted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import nats
import psycopg

from domains.accounts.application import AccountsService
from eventstore.chain_check import max_position
from eventstore.contexts import ACCOUNTS, application_env
from eventstore.settings import DatabaseSettings
from projections.group import group_consumer_name
from projections.registry import get_projection
from projections.tracking import reached_query
from scripts.devstack.embedded import EmbeddedNats, EmbeddedPostgres, free_port
from scripts.devstack.services import (
    ACCOUNT_PROJECTIONS,
    ALL_SPECS,
    GROUPED_ACCOUNT_PROJECTORS,
    SINGLE_ACCOUNT_PROJECTORS,
    ServiceSpec,
)
from scripts.devstack.supervisor import ServiceProcess, service_env
from scripts.provision import provision

LAYOUTS = {"single": SINGLE_ACCOUNT_PROJECTORS, "group": GROUPED_ACCOUNT_PROJECTORS}
TICK = os.sysconf("SC_CLK_TCK")
SETTLE_SECONDS = 3.0


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def total_cpu(processes: list[ServiceProcess]) -> float:
    return sum(cpu_seconds(p.process.pid) for p in processes if p.process is not None)


def reached(database_url: str) -> int:
    """The lowest position of the accounts log the four projections have all reached."""
    with psycopg.connect(database_url) as conn:
        return min(
            int(row[0]) if (row := conn.execute(query, (ACCOUNTS.name,)).fetchone()) else 0
            for query in (
                reached_query(get_projection(name).read_schema()) for name in ACCOUNT_PROJECTIONS
            )
        )


def head(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        return max_position(conn, ACCOUNTS)


def consumers(specs: tuple[ServiceSpec, ...]) -> list[str]:
    names = [spec.serve_args[1].split(",") for spec in specs]
    projections = [[get_projection(name)() for name in group] for group in names]
    return [
        group_consumer_name(group) if len(group) > 1 else group[0].consumer_name()
        for group in projections
    ]


def wait_drained(nats_url: str, names: list[str], timeout: float = 120.0) -> None:
    """Until the accounts consumers of `names` have nothing pending or unacked (a consumer
    idle during the other layout's turn is handed that turn's messages first)."""

    async def drained() -> bool:
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            infos = [await js.consumer_info(ACCOUNTS.stream, name) for name in names]
        finally:
            await nc.close()
        return all(i.num_pending == 0 and i.num_ack_pending == 0 for i in infos)

    deadline = time.monotonic() + timeout
    while not asyncio.run(drained()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"consumers {names} not drained after {timeout:.0f}s")
        time.sleep(0.2)


def wait_for(database_url: str, position: int, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while reached(database_url) < position:
        if time.monotonic() > deadline:
            raise TimeoutError(f"projections not at {position} after {timeout:.0f}s")
        time.sleep(0.05)


@contextmanager
def running(
    specs: tuple[ServiceSpec, ...], env: dict[str, str], logs: Path
) -> Iterator[list[ServiceProcess]]:
    processes = [ServiceProcess(spec, free_port(), env, logs) for spec in specs]
    try:
        for process in processes:
            process.start()
        for process in processes:
            process.wait_ready(60)
        yield processes
    finally:
        for process in processes:
            process.stop()


def measure(args: argparse.Namespace) -> list[dict[str, object]]:
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="projector-layouts-") as work, ExitStack() as stack:
        root = Path(work)
        postgres = EmbeddedPostgres(root / "postgres", free_port())
        stack.callback(postgres.stop)
        database_url = postgres.start()
        nats_server = EmbeddedNats(root / "nats", free_port())
        stack.callback(nats_server.stop)
        nats_url = nats_server.start()
        db = DatabaseSettings(database_url=database_url)
        provision(db, nats_url)
        env = service_env(database_url, nats_url)
        relay = stack.enter_context(running((ALL_SPECS["relay-accounts"],), env, root / "logs"))
        assert relay
        service = AccountsService(env=application_env(ACCOUNTS, db))
        stack.callback(service.close)
        accounts = [service.open_account(f"owner-{i}", "EUR").account_id for i in range(10)]
        for round_ in range(args.rounds):
            for layout, specs in LAYOUTS.items():
                with running(specs, env, root / "logs") as processes:
                    wait_for(database_url, head(database_url))
                    wait_drained(nats_url, consumers(specs))
                    time.sleep(SETTLE_SECONDS)
                    before = total_cpu(processes)
                    time.sleep(args.idle)
                    idle = (total_cpu(processes) - before) / args.idle
                    before, started = total_cpu(processes), time.monotonic()
                    for i in range(args.deposits):
                        service.deposit(accounts[i % len(accounts)], 1)
                        pause = started + (i + 1) / args.rate - time.monotonic()
                        if pause > 0:
                            time.sleep(pause)
                    wait_for(database_url, head(database_url))
                    busy = total_cpu(processes) - before
                results.append(
                    {
                        "round": round_ + 1,
                        "layout": layout,
                        "processes": len(processes),
                        "cpu_ms_per_event": round(busy * 1000 / args.deposits, 3),
                        "idle_cpu_ms_per_s": round(idle * 1000, 2),
                    }
                )
                print(json.dumps(results[-1]), flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deposits", type=int, default=600)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--idle", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=2)
    measure(parser.parse_args())


if __name__ == "__main__":
    main()
