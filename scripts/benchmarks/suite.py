"""`paystream bench suite`: every figure of the performance targets and its baseline,
measured in one run on the servers of a running `paystream up`, as one table (or JSON).

In order: the idle stack's CPU; appends in process, the library's stock recorder and
ours with group commit (on the stack's PostgreSQL, in schemas of their own); commands
through the gateway at full load (closed loop); commands at half that rate (paced), for
the time from a command's answer to a query showing it and the stack's CPU per command;
payments end to end; GETs of the account summary through the gateway against its
hello-world route (`paystream up --bench`), alternating; the accounts relay and a
projector catching up on a backlog (the relay against raw JetStream publishing); a
rebuild against a raw scan of the same events; loading an account of a long history
beside one of 10 events. A figure not measured (the soak, unless asked for) is listed
as such, so the table always shows every target.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import Progress, TaskID
from rich.table import Table

from eventstore.settings import DatabaseSettings
from projections.account_summary import AccountSummaryProjection
from scripts.benchmarks.aggregate_load import run_aggregate_load_bench
from scripts.benchmarks.appends import VARIANTS, measure_appends
from scripts.benchmarks.catch_up import (
    CATCH_UP_PROCESS,
    CATCH_UP_PROJECTIONS,
    CATCH_UP_READ_MODELS,
    measure_catch_up,
)
from scripts.benchmarks.commands import (
    Tally,
    bench_client,
    deposit,
    deposit_then_read,
    open_account,
    run_phase,
)
from scripts.benchmarks.latency import percentile
from scripts.benchmarks.payments import measure_payments
from scripts.benchmarks.query_gets import measure_query_gets, spread
from scripts.benchmarks.rebuild import combined_rate, measure_rebuild, rebuild_rate
from scripts.benchmarks.stack_usage import CpuSample, resident_by_name
from scripts.devstack.services import BENCH_HELLO


@dataclass(frozen=True)
class Plan:
    """How long and how hard each part runs."""

    gateway_url: str
    data_dir: Path
    clients: int = 64
    seconds: float = 15.0
    idle_seconds: float = 10.0
    rounds: int = 2  # of the in-process appends
    payment_clients: int = 32
    long_history: int = 10_000  # events of the long account loaded beside a 10-event one
    backlog: int = 20_000  # events the relay and a projector catch up on
    soak_minutes: float = 0.0  # 0: no soak


@dataclass(frozen=True)
class Figure:
    """One target: what was measured, its baseline, and whether it passed."""

    name: str
    unit: str
    measured: float | None
    target: str
    passed: bool | None  # None: not measured
    baseline: float | None = None
    baseline_name: str = ""
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.measured is None or not self.baseline:
            return None
        return self.measured / self.baseline


def at_least(value: float | None, bound: float) -> bool | None:
    return None if value is None else value >= bound


def at_most(value: float | None, bound: float) -> bool | None:
    return None if value is None else value <= bound


def not_measured(name: str, target: str, why: str) -> Figure:
    return Figure(name, "", None, target, None, note=why)


@dataclass
class Measured:
    """The raw results of the run, from which the figures are made."""

    idle_ms_per_second: float = 0.0
    idle_by_process: dict[str, float] | None = None
    library_appends: float = 0.0
    group_appends: float = 0.0
    commands_per_second: float = 0.0
    commands_failed: int = 0
    paced_rate: float = 0.0
    paced_commands: int = 0
    visibility_ms: tuple[float, ...] = ()
    cpu_ms_per_command: float = 0.0
    cpu_by_process: dict[str, float] | None = None
    payments_per_second: float = 0.0
    query_gets_per_second: float = 0.0
    hello_gets_per_second: float = 0.0
    gets_failed: int = 0
    query_get_latency: str = ""  # p50 / p99
    hello_get_latency: str = ""
    relay_rate: float = 0.0
    raw_publish_rate: float = 0.0
    catch_up_rate: float = 0.0
    scan_rate: float = 0.0
    rebuild_rate: float = 0.0
    # the catch-up's baseline: rebuilding every read model of the catching-up process
    # (one event through all of them), when it is a group; else account_summary's
    projector_rebuild_rate: float = 0.0
    short_load_ms: float = 0.0
    long_load_ms: float = 0.0
    soak_memory_change: dict[str, float] | None = None  # service -> change, first fifth to end


def run_suite(plan: Plan, db: DatabaseSettings, token: str, console: Console) -> Measured:
    """Measure every part in turn (make the figures with `figures`)."""
    measured = Measured()
    with step(console, f"idle stack: CPU over {plan.idle_seconds:.0f}s"):
        before = CpuSample.take(plan.data_dir)
        time.sleep(plan.idle_seconds)  # the figure is what the stack burns meanwhile
        spent = CpuSample.take(plan.data_dir).since(before)
    measured.idle_by_process = {
        k: v * 1000 / plan.idle_seconds for k, v in spent.items() if k not in NOT_THE_SYSTEM
    }
    measured.idle_ms_per_second = sum(measured.idle_by_process.values())
    library, group = VARIANTS[0], VARIANTS[-1]
    tallies = measure_appends(
        db, plan.clients, plan.seconds, plan.rounds, console, variants=(library, group)
    )
    measured.library_appends = tallies[library.name].rate()
    measured.group_appends = tallies[group.name].rate()
    asyncio.run(_commands(plan, token, console, measured))
    payments = asyncio.run(
        measure_payments(
            *(plan.gateway_url,) * 3, plan.payment_clients, plan.seconds, console, token
        )
    )
    measured.payments_per_second = payments.completed_per_second
    gets = asyncio.run(
        measure_query_gets(plan.gateway_url, token, plan.clients, plan.seconds, console)
    )
    measured.query_gets_per_second = gets.rate(gets.query)
    measured.hello_gets_per_second = gets.rate(gets.hello)
    measured.gets_failed = gets.query.failed + gets.hello.failed
    measured.query_get_latency, measured.hello_get_latency = spread(gets.query), spread(gets.hello)
    with step(console, f"relay and projector catching up on {plan.backlog:,} events"):
        caught_up = measure_catch_up(db, plan.data_dir, plan.backlog)
    measured.relay_rate = caught_up.relay_rate
    measured.raw_publish_rate = caught_up.raw_publish_rate
    measured.catch_up_rate = caught_up.projector_rate
    rebuilt = measure_rebuild(AccountSummaryProjection, db, 0, console)
    measured.scan_rate, measured.rebuild_rate = rebuilt.scan_rate, rebuilt.report.rate
    others = [p for p in CATCH_UP_PROJECTIONS if p is not AccountSummaryProjection]
    rates = [rebuilt.report.rate, *(rebuild_rate(p, db, console) for p in others)]
    measured.projector_rebuild_rate = combined_rate(rates)
    loads = run_aggregate_load_bench(db, 10, plan.long_history, 200, console)
    measured.short_load_ms = loads.short.median_seconds * 1000
    measured.long_load_ms = loads.long.median_seconds * 1000
    if plan.soak_minutes:
        asyncio.run(_soak(plan, token, console, measured))
    return measured


@contextmanager
def step(console: Console, title: str) -> Iterator[None]:
    with console.status(title):
        yield
    console.print(f"done: {title}")


async def _commands(plan: Plan, token: str, console: Console, measured: Measured) -> None:
    """Full load, then half of it paced, through the gateway, as one customer."""
    url = plan.gateway_url
    async with bench_client(token, plan.clients) as http:
        accounts = list(
            await asyncio.gather(*(open_account(http, url, i) for i in range(plan.clients)))
        )
        full = Tally()
        with _progress(console, "commands at full load", plan.seconds) as (progress, task):
            await run_phase(
                progress, task, plan.seconds, accounts, lambda a: deposit(http, url, a, full)
            )
        measured.commands_per_second = full.accepted / plan.seconds
        measured.commands_failed = full.failed
        rate = max(1.0, measured.commands_per_second / 2)
        paced = Tally()
        before = CpuSample.take(plan.data_dir)
        with _progress(console, f"commands paced at {rate:.0f}/s", plan.seconds):
            await paced_deposits(http, url, accounts, rate, plan.seconds, paced)
        spent = CpuSample.take(plan.data_dir).since(before)
    measured.paced_rate = rate
    measured.paced_commands = paced.accepted
    measured.visibility_ms = tuple(paced.visibility_ms)
    if paced.accepted:
        measured.cpu_by_process = {
            k: v * 1000 / paced.accepted for k, v in spent.items() if k not in NOT_THE_SYSTEM
        }
        measured.cpu_ms_per_command = sum(measured.cpu_by_process.values())


async def _soak(plan: Plan, token: str, console: Console, measured: Measured) -> None:
    """Commands paced at half the full rate for the soak's minutes; each service's memory
    after a fifth of it (minute 2 of 10) and at its end."""
    seconds = plan.soak_minutes * 60
    async with bench_client(token, plan.clients) as http:
        accounts = list(
            await asyncio.gather(
                *(open_account(http, plan.gateway_url, i) for i in range(plan.clients))
            )
        )
        load = asyncio.create_task(
            paced_deposits(http, plan.gateway_url, accounts, measured.paced_rate, seconds, Tally())
        )
        with _progress(console, f"soak: {plan.soak_minutes:g} minutes", seconds):
            await asyncio.sleep(seconds / 5)  # the soak's first fifth, then the first sample
            early = resident_by_name(plan.data_dir)
            await load
        late = resident_by_name(plan.data_dir)
    measured.soak_memory_change = {
        name: late.get(name, 0) / before - 1
        for name, before in early.items()
        if before and name not in (*SERVERS, *NOT_THE_SYSTEM)
    }


SERVERS = ("postgres", "nats-server", "envoy")  # not services: the soak watches services
# Started by `up --bench` for the query GET figure's baseline: no part of the system, so
# no part of its CPU or memory figures.
NOT_THE_SYSTEM = (BENCH_HELLO.name,)

READ_BACK_EVERY = 10  # commands; the others are not read back


async def paced_deposits(
    http: httpx.AsyncClient,
    url: str,
    accounts: list[str],
    rate: float,
    seconds: float,
    tally: Tally,
) -> None:
    """Deposits started at `rate` per second for `seconds` (open loop: a slow answer does
    not slow the next start), round-robin over `accounts`, one at a time per account;
    every READ_BACK_EVERY-th is read back with its consistency token (visibility)."""
    locks = {account: asyncio.Lock() for account in accounts}
    started = time.monotonic()
    tasks: list[asyncio.Task[None]] = []

    async def one(index: int) -> None:
        account = accounts[index % len(accounts)]
        async with locks[account]:
            if index % READ_BACK_EVERY == 0:
                await deposit_then_read(http, url, url, account, tally)
            else:
                await deposit(http, url, account, tally)

    for index in range(int(rate * seconds)):
        delay = started + index / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)  # pacing the load, not waiting for a result
        tasks.append(asyncio.create_task(one(index)))
    await asyncio.gather(*tasks)


@contextmanager
def _progress(console: Console, title: str, seconds: float) -> Iterator[tuple[Progress, TaskID]]:
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(title, total=seconds)
        yield progress, task
    console.print(f"done: {title}")


def figures(plan: Plan, m: Measured) -> list[Figure]:
    library = "library's stock recorder in process, same writers"
    p50 = percentile(m.visibility_ms, 50) if m.visibility_ms else None
    p99 = percentile(m.visibility_ms, 99) if m.visibility_ms else None
    gateway_commands = f"commands/s through the gateway, {plan.clients} clients"
    ratio: Callable[[float, float], float | None] = lambda a, b: a / b if b else None  # noqa: E731
    return [
        Figure(
            f"appends in process, {plan.clients} writers, group commit",
            "appends/s",
            m.group_appends,
            ">= 8x baseline",
            at_least(ratio(m.group_appends, m.library_appends), 8),
            m.library_appends,
            library,
        ),
        Figure(
            gateway_commands,
            "commands/s",
            m.commands_per_second,
            ">= 2x baseline",
            at_least(ratio(m.commands_per_second, m.library_appends), 2),
            m.library_appends,
            library,
            note=f"{m.commands_failed} failed",
        ),
        Figure(
            f"command -> visible in the query API, p50, paced at {m.paced_rate:.0f}/s",
            "ms",
            p50,
            "<= 15 ms",
            at_most(p50, 15),
            note=f"{len(m.visibility_ms)} read back",
        ),
        Figure(
            f"command -> visible in the query API, p99, paced at {m.paced_rate:.0f}/s",
            "ms",
            p99,
            "<= 100 ms",
            at_most(p99, 100),
        ),
        Figure(
            "payments completed end to end",
            "payments/s",
            m.payments_per_second,
            ">= 0.25x baseline",
            at_least(ratio(m.payments_per_second, m.commands_per_second), 0.25),
            m.commands_per_second,
            gateway_commands,
        ),
        Figure(
            "rebuild of account_summary",
            "events/s",
            m.rebuild_rate,
            ">= 0.25x baseline",
            at_least(ratio(m.rebuild_rate, m.scan_rate), 0.25),
            m.scan_rate,
            "raw batched scan of the same events",
        ),
        Figure(
            f"{CATCH_UP_PROCESS} catching up on {plan.backlog:,} events",
            "events/s",
            m.catch_up_rate,
            ">= 0.5x baseline",
            at_least(ratio(m.catch_up_rate, m.projector_rebuild_rate), 0.5),
            m.projector_rebuild_rate,
            f"rebuilding {CATCH_UP_READ_MODELS}",
        ),
        Figure(
            f"the accounts relay publishing a backlog of {plan.backlog:,} events",
            "events/s",
            m.relay_rate,
            ">= 0.5x baseline",
            at_least(ratio(m.relay_rate, m.raw_publish_rate), 0.5),
            m.raw_publish_rate,
            "raw publish_async, same server, same stream settings",
        ),
        Figure(
            f"query GET through the gateway, {plan.clients} connections",
            "GETs/s",
            m.query_gets_per_second,
            ">= 0.5x baseline",
            at_least(ratio(m.query_gets_per_second, m.hello_gets_per_second), 0.5),
            m.hello_gets_per_second,
            "GET /bench/hello: hello-world route, same server stack and gateway",
            note=f"query {m.query_get_latency}, hello {m.hello_get_latency};"
            f" {m.gets_failed} failed",
        ),
        Figure(
            f"loading an account of {plan.long_history:,} events",
            "ms",
            m.long_load_ms,
            "<= 2x baseline",
            at_most(ratio(m.long_load_ms, m.short_load_ms), 2),
            m.short_load_ms,
            "loading one of 10 events",
        ),
        Figure(
            f"CPU per command, whole stack, paced at {m.paced_rate:.0f}/s",
            "ms",
            m.cpu_ms_per_command if m.paced_commands else None,
            "<= 5 ms",
            at_most(m.cpu_ms_per_command if m.paced_commands else None, 5),
            note=f"every {READ_BACK_EVERY}th command read back",
        ),
        Figure(
            "idle stack CPU",
            "ms per s",
            m.idle_ms_per_second,
            "<= 20 ms per s",
            at_most(m.idle_ms_per_second, 20),
        ),
        soak_figure(plan, m),
    ]


def soak_figure(plan: Plan, m: Measured) -> Figure:
    """The service whose memory changed most between the soak's first fifth and its end."""
    name = f"soak: each service's memory, minute {plan.soak_minutes / 5:g} to {plan.soak_minutes:g}"
    if not m.soak_memory_change:
        return not_measured(
            "soak: each service's memory, minute 2 to 10", "within 10%", "run with --soak"
        )
    service, change = max(m.soak_memory_change.items(), key=lambda item: abs(item[1]))
    return Figure(
        name,
        "% change",
        change * 100,
        "within 10%",
        abs(change) <= 0.10,
        note=f"most: {service}",
    )


def report(console: Console, found: list[Figure], measured: Measured) -> None:
    """The table, then where the CPU went."""
    table = Table(title="paystream bench suite")
    for column in ("figure", "measured", "baseline", "ratio", "target", "result"):
        table.add_column(column, justify="left" if column == "figure" else "right")
    for figure in found:
        result = {True: "pass", False: "FAIL", None: "not measured"}[figure.passed]
        table.add_row(
            figure.name + (f" ({figure.note})" if figure.note else ""),
            "-" if figure.measured is None else f"{figure.measured:,.1f} {figure.unit}",
            "-" if figure.baseline is None else f"{figure.baseline:,.1f}",
            "-" if figure.ratio is None else f"{figure.ratio:.2f}x",
            figure.target,
            result,
        )
    console.print(table)
    breakdowns = {
        "idle CPU, ms per second": measured.idle_by_process,
        "CPU per paced command, ms": measured.cpu_by_process,
        "soak, memory change per service, %": {
            name: change * 100 for name, change in (measured.soak_memory_change or {}).items()
        },
    }
    for title, per_process in breakdowns.items():
        if per_process:
            shares = ", ".join(f"{k} {v:.2f}" for k, v in sorted(per_process.items()))
            console.print(f"{title}: {shares}")


def as_json(found: list[Figure], measured: Measured) -> dict[str, object]:
    """The figures and the raw results, for machines."""
    raw = asdict(measured) | {"visibility_ms": len(measured.visibility_ms)}
    return {
        "figures": [asdict(figure) | {"ratio": figure.ratio} for figure in found],
        "measured": raw,
    }
