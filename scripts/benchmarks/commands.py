"""`paystream bench commands`: throughput of the command API and time to visibility.

Phase 1: `clients` concurrent clients post deposits for `seconds`; commands/s counts
accepted (2xx) commands. Phase 2: the same clients post a deposit, then read the
account from the query API with the command's consistency token; the figure is the
time from the command's answer to the query's answer showing it (p50/p99).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
from rich.console import Console
from rich.progress import Progress, TaskID

from api.consistency import HEADER as TOKEN_HEADER
from scripts.benchmarks.gateway_stack import bearer, expect
from scripts.plural import counted


@dataclass
class Tally:
    accepted: int = 0
    failed: int = 0
    visibility_ms: list[float] = field(default_factory=list)


def run_command_bench(
    command_url: str, query_url: str, clients: int, seconds: float, console: Console, token: str
) -> None:
    """Run both phases against running services, as the customer whose bearer `token` it
    is (the accounts are theirs), and print the figures."""
    asyncio.run(_bench(command_url, query_url, clients, seconds, console, token))


async def _bench(
    command_url: str, query_url: str, clients: int, seconds: float, console: Console, token: str
) -> None:
    limits = httpx.Limits(max_connections=clients * 2, max_keepalive_connections=clients * 2)
    async with httpx.AsyncClient(limits=limits, timeout=30, headers=bearer(token)) as http:
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
        for title, step in phases:
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task(title, total=seconds)
                await run_phase(progress, task, seconds, accounts, step)
    _report(console, clients, seconds, throughput, visibility)


def bench_client(token: str, clients: int) -> httpx.AsyncClient:
    """An HTTP client for `clients` concurrent clients, as the bearer of `token`."""
    limits = httpx.Limits(max_connections=clients * 2, max_keepalive_connections=clients * 2)
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
    response = await http.post(f"{url}/accounts/{account_id}/deposits", json={"amount": 1})
    if response.is_success:
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
    response = await http.get(f"{query_url}/accounts/{account_id}", headers={TOKEN_HEADER: token})
    if response.is_success:
        tally.visibility_ms.append((time.perf_counter() - accepted) * 1000)
    else:
        tally.failed += 1


def _report(
    console: Console, clients: int, seconds: float, throughput: Tally, visibility: Tally
) -> None:
    console.print(f"clients: {clients}, duration per phase: {seconds:.0f}s")
    console.print(
        f"phase 1: {throughput.accepted / seconds:.0f} commands/s accepted"
        f" ({throughput.accepted} accepted, {throughput.failed} failed)"
    )
    samples = sorted(visibility.visibility_ms)
    if not samples:
        console.print("phase 2: no samples")
        return
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    console.print(
        "phase 2: command accepted -> visible in query API:"
        f" p50 {statistics.median(samples):.1f} ms,"
        f" p99 {p99:.1f} ms over {counted(len(samples), 'command')} ({visibility.failed} failed)"
    )
