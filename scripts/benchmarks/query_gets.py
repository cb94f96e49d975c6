"""`bench suite`'s query GET figure: closed-loop GETs through the gateway at N connections,
`GET /accounts/{id}` (the account summary query API, on accounts the bench opened) against
`GET /bench/hello` (`paystream up --bench`'s hello-world route on the same server stack,
api/bench_hello.py), in alternating rounds so both meet the same machine."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from rich.console import Console
from rich.progress import Progress

from api.consistency import HEADER as TOKEN_HEADER
from gateway.routes import BENCH_HELLO_ROUTE
from scripts.benchmarks.commands import DROPPED, Tally, bench_client, run_phase
from scripts.benchmarks.gateway_stack import expect
from scripts.benchmarks.latency import percentile

HELLO_PATH = BENCH_HELLO_ROUTE.template
ROUNDS = 2  # of each kind, alternating; each round lasts half the run's seconds


class NoBenchHello(Exception):
    """The gateway has no hello-world route: the stack was not started with --bench."""


@dataclass
class QueryGets:
    """GETs answered per kind over the run, and each answered one's latency (ms)."""

    seconds: float = 0.0  # per kind, all its rounds together
    query: Tally = field(default_factory=Tally)
    hello: Tally = field(default_factory=Tally)

    def rate(self, tally: Tally) -> float:
        return tally.accepted / self.seconds if self.seconds else 0.0


def spread(tally: Tally) -> str:
    """`p50 x / p99 y ms`, or `no answers`."""
    if not tally.latency_ms:
        return "no answers"
    p50, p99 = percentile(tally.latency_ms, 50), percentile(tally.latency_ms, 99)
    return f"p50 {p50:.1f} / p99 {p99:.1f} ms"


async def check_bench_hello(http: httpx.AsyncClient, gateway_url: str) -> None:
    """NoBenchHello when the gateway routes no GET /bench/hello (404); another failure
    as UnexpectedAnswer."""
    response = await http.get(f"{gateway_url}{HELLO_PATH}")
    if response.status_code == 404:
        raise NoBenchHello(f"the gateway at {gateway_url} has no route GET {HELLO_PATH}")
    expect(response, "the bench's hello-world route")


async def readable_account(http: httpx.AsyncClient, gateway_url: str, index: int) -> str:
    """A new account, once its summary answers (read with the opening's consistency token)."""
    opened = await http.post(
        f"{gateway_url}/accounts", json={"owner": f"bench-get-{index}", "currency": "EUR"}
    )
    account_id = str(expect(opened, "the accounts API").json()["account_id"])
    token = {TOKEN_HEADER: opened.headers[TOKEN_HEADER]}
    expect(await http.get(f"{gateway_url}/accounts/{account_id}", headers=token), "a query")
    return account_id


async def get(http: httpx.AsyncClient, url: str, tally: Tally) -> None:
    """One GET: its latency when it succeeds, else counted as failed."""
    sent = time.perf_counter()
    try:
        response = await http.get(url)
    except DROPPED:
        tally.failed += 1
        return
    if response.is_success:
        tally.latency_ms.append((time.perf_counter() - sent) * 1000)
        tally.accepted += 1
    else:
        tally.failed += 1


async def measure_query_gets(
    gateway_url: str, token: str, clients: int, seconds: float, console: Console
) -> QueryGets:
    """`clients` accounts, then ROUNDS rounds of each kind, alternating, `clients`
    connections each GETting as fast as answered; every kind gets `seconds` in all."""
    result = QueryGets(seconds=seconds)
    kinds: list[tuple[str, Callable[[str], str], Tally]] = [
        ("GET /accounts/{id}", lambda account: f"{gateway_url}/accounts/{account}", result.query),
        (f"GET {HELLO_PATH}", lambda account: f"{gateway_url}{HELLO_PATH}", result.hello),
    ]
    async with bench_client(token, clients) as http:
        await check_bench_hello(http, gateway_url)
        accounts = list(
            await asyncio.gather(*(readable_account(http, gateway_url, i) for i in range(clients)))
        )
        for number in range(1, ROUNDS + 1):
            for name, url_of, tally in kinds:
                title = f"{name} through the gateway, round {number} of {ROUNDS}"
                await _round(http, accounts, url_of, tally, seconds / ROUNDS, title, console)
    return result


async def _round(
    http: httpx.AsyncClient,
    accounts: list[str],
    url_of: Callable[[str], str],
    tally: Tally,
    seconds: float,
    title: str,
    console: Console,
) -> None:
    """One client per account GETs `url_of(account)` again and again for `seconds`."""
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(title, total=seconds)
        await run_phase(progress, task, seconds, accounts, lambda a: get(http, url_of(a), tally))
    console.print(f"done: {title}")
