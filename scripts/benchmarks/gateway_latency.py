"""`paystream bench gateway`: the latency the gateway adds, in one run on the same data.

One client (concurrency 1) sends each request twice, straight to the service and through
Envoy, alternating request by request and swapping the order every pair, so drift hits
both paths alike: (a) GET /accounts/{id} on the account summary query API, (b) POST
/accounts/{id}/deposits with a unique Idempotency-Key. The accounts are the subjects'
own. The first `warmup` pairs of each kind are discarded. Pairs are paced to stay
under the gateway's rate limits (several subjects share the client address's rate).
"""

from __future__ import annotations

import os
import platform
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from rich.console import Console

from scripts.benchmarks.gateway_stack import (
    Mint,
    StackUrls,
    bearer,
    check_reachable,
    configured_limits,
    own_account,
    paced_subjects,
    unique_subject,
)
from scripts.benchmarks.latency import HEADER, Comparison, Path, comparison_lines
from scripts.cli.progress import progress_bar

Send = Callable[[httpx.Client, str, str, dict[str, str]], httpx.Response]  # base, account


@dataclass(frozen=True)
class Plan:
    """How many measured pairs per kind of request, after how many discarded ones."""

    requests: int
    warmup: int


def read(http: httpx.Client, base: str, account_id: str, headers: dict[str, str]) -> httpx.Response:
    return http.get(f"{base}/accounts/{account_id}", headers=headers)


def deposit(
    http: httpx.Client, base: str, account_id: str, headers: dict[str, str]
) -> httpx.Response:
    keyed = headers | {"Idempotency-Key": uuid.uuid4().hex}
    return http.post(f"{base}/accounts/{account_id}/deposits", json={"amount": 1}, headers=keyed)


def run_gateway_bench(urls: StackUrls, mint: Mint, plan: Plan, console: Console) -> None:
    """Measure both kinds of request on both paths and print the figures."""
    load_before = os.getloadavg()
    with httpx.Client(timeout=30) as http:
        check_reachable(http, urls.probes())
        subjects, pace = paced_subjects(configured_limits(http, urls.admin))
        with console.status(f"opening {subjects} accounts, one per subject"):
            tokens = [mint(unique_subject("bench-gateway")) for _ in range(subjects)]
            accounts = [(own_account(http, urls, token), bearer(token)) for token in tokens]
        kinds = [
            (Comparison("read"), urls.query, read),
            (Comparison("deposit"), urls.command, deposit),
        ]
        with progress_bar(console, "pairs") as progress:
            for comparison, direct_url, send in kinds:
                task = progress.add_task(comparison.kind, total=plan.warmup + plan.requests)
                for index in range(plan.warmup + plan.requests):
                    started = time.perf_counter()
                    kept = comparison if index >= plan.warmup else Comparison("warm-up")
                    routes = [(direct_url, kept.direct), (urls.gateway, kept.gateway)]
                    account_id, headers = accounts[index % len(accounts)]
                    for base, path in routes if index % 2 == 0 else reversed(routes):
                        _timed(path, send, http, base, account_id, headers)
                    progress.advance(task)
                    time.sleep(max(0.0, started + 1 / pace - time.perf_counter()))
    console.print(HEADER + "   (ms)")
    for comparison, _, _ in kinds:
        for line in comparison_lines(comparison):
            console.print(line, highlight=False)
    console.print(_how(plan, subjects, pace, load_before), highlight=False, soft_wrap=True)


def _timed(
    path: Path, send: Send, http: httpx.Client, base: str, account_id: str, headers: dict[str, str]
) -> None:
    started = time.perf_counter()
    response = send(http, base, account_id, headers)
    path.record(response.status_code, (time.perf_counter() - started) * 1000)


def _how(plan: Plan, subjects: int, pace: float, load_before: tuple[float, ...]) -> str:
    load_after = os.getloadavg()
    return (
        f"machine: {os.cpu_count()} cores ({platform.machine()}, {platform.system()}),"
        f" load average {load_before[0]:.2f} before, {load_after[0]:.2f} after;"
        f" concurrency 1; {plan.requests} requests per kind and path after {plan.warmup}"
        " warm-up pairs discarded; direct and gateway alternating request by request;"
        f" at most {pace:.0f} pairs/s over {subjects} subjects (under the gateway's rate limits)"
    )
