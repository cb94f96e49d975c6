"""`paystream bench payments`: payments completed per second, end to end.

`clients` concurrent clients request payments (amount 1, between random funded
accounts) for `seconds`; then every payment is polled on the payments query API
until it is finished. The figure is finished payments divided by the time from the
first request to the last payment's final event (`updated_at` in the read model).
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from rich.console import Console

from api.consistency import HEADER as TOKEN_HEADER
from scripts.benchmarks.commands import bench_client
from scripts.benchmarks.gateway_stack import expect
from scripts.plural import counted

ACCOUNTS = 64
FUNDS = 10**12
FINISH_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True)
class PaymentFigures:
    requested: int
    finished: int
    completed: int
    span_seconds: float  # from the first request to the last payment's final event

    @property
    def completed_per_second(self) -> float:
        return self.completed / self.span_seconds if self.span_seconds > 0 else 0.0


def print_payments(figures: PaymentFigures, clients: int, seconds: float, console: Console) -> None:
    """What `paystream bench payments` prints of a run's figures."""
    console.print(
        f"clients: {clients}, request phase: {seconds:.0f}s, payments: {figures.requested}"
    )
    console.print(
        f"finished: {figures.finished} ({figures.completed} completed) in"
        f" {figures.span_seconds:.1f}s from the first request to the last final event"
    )
    console.print(f"payments completed per second, end to end: {figures.completed_per_second:.1f}")


async def measure_payments(
    command_url: str,
    payments_url: str,
    query_url: str,
    clients: int,
    seconds: float,
    console: Console,
    token: str,
) -> PaymentFigures:
    """Request payments from `clients` clients for `seconds`, as the customer whose bearer
    `token` it is (it holds every account paid from); the figures of the run."""
    async with bench_client(token, clients) as http:
        accounts, consistency = await _funded_accounts(http, command_url)
        started = datetime.now(UTC)
        with console.status(
            f"requesting payments for {seconds:.0f}s with {counted(clients, 'client')}"
        ):
            payment_ids = await _request_for(
                http, payments_url, accounts, consistency, clients, seconds
            )
        with console.status(f"waiting for {counted(len(payment_ids), 'payment')} to finish"):
            finished = await _wait_finished(http, query_url, payment_ids)
    last = max((p["updated_at"] for p in finished.values()), default=started.isoformat())
    span = (datetime.fromisoformat(last) - started).total_seconds()
    completed = sum(1 for p in finished.values() if p["status"] == "completed")
    return PaymentFigures(len(payment_ids), len(finished), completed, span)


async def _funded_accounts(http: httpx.AsyncClient, url: str) -> tuple[list[str], str]:
    accounts, token = [], ""
    for i in range(ACCOUNTS):
        opened = expect(
            await http.post(f"{url}/accounts", json={"owner": f"bench-{i}", "currency": "EUR"}),
            "the accounts API",
        ).json()
        deposit = expect(
            await http.post(
                f"{url}/accounts/{opened['account_id']}/deposits", json={"amount": FUNDS}
            ),
            "the accounts API",
        )
        accounts.append(opened["account_id"])
        token = deposit.headers[TOKEN_HEADER]
    return accounts, token


async def _request_for(
    http: httpx.AsyncClient,
    url: str,
    accounts: list[str],
    token: str,
    clients: int,
    seconds: float,
) -> list[str]:
    deadline = time.monotonic() + seconds
    ids: list[str] = []

    async def client(seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < deadline:
            source, destination = rng.sample(accounts, 2)
            response = await http.post(
                f"{url}/payments",
                headers={TOKEN_HEADER: token},
                json={
                    "source": source,
                    "destination": destination,
                    "amount": 1,
                    "currency": "EUR",
                    "reference": "bench",
                },
            )
            if response.status_code == 202:
                ids.append(response.json()["payment_id"])

    await asyncio.gather(*(client(i) for i in range(clients)))
    return ids


async def _wait_finished(
    http: httpx.AsyncClient, url: str, payment_ids: list[str]
) -> dict[str, dict[str, str]]:
    finished: dict[str, dict[str, str]] = {}
    pending = list(payment_ids)
    deadline = time.monotonic() + FINISH_TIMEOUT_SECONDS
    semaphore = asyncio.Semaphore(32)

    async def poll(payment_id: str) -> None:
        async with semaphore:
            response = await http.get(f"{url}/payments/{payment_id}")
        if response.status_code == 200 and response.json()["status"] in ("completed", "failed"):
            finished[payment_id] = response.json()

    while pending and time.monotonic() < deadline:
        await asyncio.gather(*(poll(p) for p in pending))
        pending = [p for p in pending if p not in finished]
    if pending:
        raise TimeoutError(f"{counted(len(pending), 'payment')} did not finish in time")
    return finished
