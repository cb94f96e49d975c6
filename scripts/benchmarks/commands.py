"""`paystream bench commands`: throughput of the command API and time to visibility.

Phase 1: `clients` concurrent clients post deposits for `seconds`; commands/s counts
accepted (2xx) commands (an answer of another status, or a connection the server closed
under the request, is a failed one), and each accepted one's latency (request sent to
answer read) is kept. Phase 2: the same clients post a deposit, then read the account
from the query API with the command's consistency token; the figure is the
time from the command's answer to the query's answer showing it (p50/p99).

`measure_commands` runs both phases and returns the figures; `paystream bench commands`
prints them, `paystream bench observability` (scripts/benchmarks/observability.py)
compares them across configurations.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
from rich.console import Console
from rich.progress import Progress, TaskID

from api.consistency import HEADER as TOKEN_HEADER
from scripts.benchmarks.gateway_stack import bearer, expect
from scripts.benchmarks.latency import percentile
from scripts.plural import counted

KEEPALIVE_SECONDS = 2.0
# A connection the server closed under a request: that request failed, the bench goes on
# (a service that is gone, ConnectError, or never answers, a timeout, still ends it).
DROPPED = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)


@dataclass
class Tally:
    accepted: int = 0
    failed: int = 0
    latency_ms: list[float] = field(default_factory=list)  # of each accepted command
    visibility_ms: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class CommandFigures:
    """What one run of both phases measured."""

    clients: int
    seconds: float
    throughput: Tally  # phase 1
    visibility: Tally  # phase 2

    @property
    def per_second(self) -> float:
        return self.throughput.accepted / self.seconds


def run_command_bench(
    command_url: str, query_url: str, clients: int, seconds: float, console: Console, token: str
) -> None:
    """Run both phases against running services, as the customer whose bearer `token` it
    is (the accounts are theirs), and print the figures."""
    figures = asyncio.run(
        measure_commands(command_url, query_url, clients, seconds, console, token)
    )
    _report(console, figures)


async def measure_commands(
    command_url: str,
    query_url: str,
    clients: int,
    seconds: float,
    console: Console,
    token: str,
    title: str = "",
) -> CommandFigures:
    """Both phases against running services, each shown as a progress bar while it runs
    (`title` before each phase's name)."""
    async with bench_client(token, clients) as http:
        accounts = await asyncio.gather(
            *(open_account(http, command_url, i) for i in range(clients))
        )
        throughput, visibility = Tally(), Tally()
        phases: list[tuple[str, Callable[[str], Awaitable[object]]]] = [
            ("phase 1: commands", lambda a: deposit(http, command_url, a, throughput)),
            (
                "phase 2: command then read",
                lambda a: deposit_then_read(http, command_url, query_url, a, visibility),
            ),
        ]
        for phase, step in phases:
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task(f"{title}{phase}", total=seconds)
                await run_phase(progress, task, seconds, accounts, step)
    return CommandFigures(clients, seconds, throughput, visibility)


def bench_client(token: str, clients: int) -> httpx.AsyncClient:
    """An HTTP client for `clients` concurrent clients, as the bearer of `token`. Idle
    connections are dropped before uvicorn closes them (after 5 s): a request sent as the
    server closes its connection would fail for the bench's sake, not the API's."""
    limits = httpx.Limits(
        max_connections=clients * 2,
        max_keepalive_connections=clients * 2,
        keepalive_expiry=KEEPALIVE_SECONDS,
    )
    return httpx.AsyncClient(limits=limits, timeout=30, headers=bearer(token))


async def run_phase(
    progress: Progress,
    task: TaskID,
    seconds: float,
    accounts: list[str],
    step: Callable[[str], Awaitable[object]],
) -> None:
    """Every client runs `step` on its account, again and again, for `seconds`."""
    deadline = time.monotonic() + seconds

    async def client(account_id: str) -> None:
        while time.monotonic() < deadline:
            await step(account_id)

    async def tick() -> None:
        start = time.monotonic()
        while time.monotonic() < deadline:
            progress.update(task, completed=time.monotonic() - start)
            await asyncio.sleep(0.2)

    await asyncio.gather(tick(), *(client(a) for a in accounts))


async def open_account(http: httpx.AsyncClient, url: str, index: int) -> str:
    response = await http.post(
        f"{url}/accounts", json={"owner": f"bench-{index}", "currency": "EUR"}
    )
    return str(expect(response, "the accounts API").json()["account_id"])


async def deposit(http: httpx.AsyncClient, url: str, account_id: str, tally: Tally) -> str | None:
    sent = time.perf_counter()
    try:
        response = await http.post(f"{url}/accounts/{account_id}/deposits", json={"amount": 1})
    except DROPPED:
        tally.failed += 1
        return None
    if response.is_success:
        tally.latency_ms.append((time.perf_counter() - sent) * 1000)
        tally.accepted += 1
        return response.headers[TOKEN_HEADER]
    tally.failed += 1
    return None


async def deposit_then_read(
    http: httpx.AsyncClient, command_url: str, query_url: str, account_id: str, tally: Tally
) -> None:
    token = await deposit(http, command_url, account_id, tally)
    if token is None:
        return
    accepted = time.perf_counter()
    try:
        response = await http.get(
            f"{query_url}/accounts/{account_id}", headers={TOKEN_HEADER: token}
        )
    except DROPPED:
        tally.failed += 1
        return
    if response.is_success:
        tally.visibility_ms.append((time.perf_counter() - accepted) * 1000)
    else:
        tally.failed += 1


def _report(console: Console, figures: CommandFigures) -> None:
    throughput, visibility = figures.throughput, figures.visibility
    console.print(f"clients: {figures.clients}, duration per phase: {figures.seconds:.0f}s")
    console.print(
        f"phase 1: {figures.per_second:.0f} commands/s accepted"
        f" ({throughput.accepted} accepted, {throughput.failed} failed)"
        + _spread(" command latency", throughput.latency_ms)
    )
    samples = visibility.visibility_ms
    if not samples:
        console.print("phase 2: no samples")
        return
    console.print(
        "phase 2: command accepted -> visible in query API:"
        + _spread("", samples)
        + f" over {counted(len(samples), 'command')} ({visibility.failed} failed)"
    )


def _spread(what: str, samples: list[float]) -> str:
    """`<what> p50 x ms, p99 y ms` (nearest rank), or nothing without samples."""
    if not samples:
        return ""
    return f"{what} p50 {percentile(samples, 50):.1f} ms, p99 {percentile(samples, 99):.1f} ms"
