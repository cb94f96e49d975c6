"""Payments in parallel: the saga (in process, on the real database, NATS and accounts
API) drives many payments at once. One payment whose accounts step the test holds does
not hold the others: they all end meanwhile, and it ends once released. Every payment
ends once: its account steps are the steps it recorded, each once, money is conserved,
and nothing is left tracked or unacked."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from uuid import UUID

import httpx
import nats
import pytest

from domains.accounts.application import AccountsService
from domains.payments.application import PaymentsService
from eventstore.contexts import PAYMENTS, application_env
from saga.accounts_client import AccountsClient
from saga.worker import CONSUMER, PaymentSaga
from tests.support.issuer import Bearer, saga_token
from tests.support.payments_workload import account_steps, recorded_steps
from tests.support.stack import Stack
from tests.support.workload import accounts_service

pytestmark = pytest.mark.integration

BOUND_SECONDS = 120.0  # a bound on a hang, not a timing claim
POLL_SECONDS = 0.1
FUNDED, FUNDS, PAYMENTS_AT_ONCE = 8, 1_000, 40


class HeldPayment(httpx.AsyncBaseTransport):
    """The network to the accounts API, except that the steps of one payment wait there
    until the test releases them."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.payment_id = ""
        self.reached, self.released = asyncio.Event(), asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if json.loads(request.content).get("payment_id") == self.payment_id:
            self.reached.set()
            await self.released.wait()
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def until(check: Callable[[], Awaitable[bool]], saga: asyncio.Task[None], what: str) -> None:
    """Poll `check` (a condition, never a fixed wait) until it holds, while the saga runs."""
    async with asyncio.timeout(BOUND_SECONDS):
        while not await check():  # a condition in another process
            assert not saga.done(), f"the saga ended ({saga.exception()!r}) before {what}"
            await asyncio.sleep(POLL_SECONDS)


def open_accounts(stack: Stack) -> tuple[list[UUID], UUID, UUID]:
    """Funded accounts, an empty one (its payments are refused: insufficient funds) and a
    frozen one (payments to it are refused at the credit and refunded)."""
    accounts: AccountsService = accounts_service(stack)
    try:
        funded = [accounts.open_account(f"p{i}", "EUR").account_id for i in range(FUNDED)]
        for account_id in funded:
            accounts.deposit(account_id, FUNDS)
        empty = accounts.open_account("empty", "EUR").account_id
        frozen = accounts.open_account("frozen", "EUR").account_id
        accounts.freeze_account(frozen)
    finally:
        accounts.close()
    return funded, empty, frozen


def balances(stack: Stack, account_ids: list[UUID]) -> list[int]:
    accounts = accounts_service(stack)
    try:
        return [accounts.get_account(account_id).balance for account_id in account_ids]
    finally:
        accounts.close()


def pending_rows(stack: Stack) -> int:
    with stack.admin() as conn:
        row = conn.execute(f"SELECT count(*) FROM {PAYMENTS.schema}.saga_pending").fetchone()
    return int(row[0]) if row else -1  # count(*) always answers a row


async def unacked(nats_url: str) -> int:
    nc = await nats.connect(nats_url)
    try:
        info = await nc.jetstream().consumer_info(PAYMENTS.stream, CONSUMER)
        return int(info.num_ack_pending) + int(info.num_pending or 0)
    finally:
        await nc.close()


def test_one_held_payment_holds_no_other_and_every_payment_ends_once(stack: Stack) -> None:
    stack.start_all(("relay-payments", "accounts-api"))
    funded, empty, frozen = open_accounts(stack)
    service = PaymentsService(env=application_env(PAYMENTS, stack.db, pool_size=8))
    saga_service = PaymentsService(env=application_env(PAYMENTS, stack.db, pool_size=8))
    network = HeldPayment()

    def request(source: UUID, destination: UUID) -> str:
        result = service.request_payment(str(source), str(destination), 3, "EUR", "")
        return str(result.payment_id)

    def status(payment_id: str) -> str:
        return service.get_payment(UUID(payment_id)).status

    async def statuses(payment_ids: list[str]) -> list[str]:
        return [await asyncio.to_thread(status, payment_id) for payment_id in payment_ids]

    async def run() -> tuple[list[str], list[str], str]:
        held = network.payment_id = request(funded[0], funded[1])
        accounts = AccountsClient(
            stack.url_of("accounts-api"),
            Bearer(saga_token(stack.issuer_dir, stack.url_of("issuer"))),
            transport=network,
        )
        saga = PaymentSaga(
            saga_service, accounts, stack.db.role_conninfo(PAYMENTS.role), stack.nats_url
        )
        stop = asyncio.Event()
        running = asyncio.create_task(saga.run(stop))
        await asyncio.wait_for(network.reached.wait(), BOUND_SECONDS)
        pairs = [(funded[i % FUNDED], funded[(i + 1) % FUNDED]) for i in range(PAYMENTS_AT_ONCE)]
        pairs += [(empty, funded[0]), (funded[2], frozen), (funded[3], frozen)]
        others = [await asyncio.to_thread(request, *pair) for pair in pairs]

        async def others_ended() -> bool:
            return all(s in ("completed", "failed") for s in await statuses(others))

        await until(others_ended, running, "every other payment to end while one is held")
        held_meanwhile = await asyncio.to_thread(status, held)
        network.released.set()
        await until(held_completed, running, "the held payment to end")
        await until(nothing_tracked, running, "every payment untracked")
        await until(unacked_is_zero, running, "every message acked")
        stop.set()
        await asyncio.wait_for(running, BOUND_SECONDS)
        await accounts.close()
        return [held, *others], await statuses(others), held_meanwhile

    async def held_completed() -> bool:
        return await asyncio.to_thread(status, network.payment_id) == "completed"

    async def nothing_tracked() -> bool:
        return await asyncio.to_thread(pending_rows, stack) == 0

    async def unacked_is_zero() -> bool:
        return await unacked(stack.nats_url) == 0

    try:
        payments, others, held_meanwhile = asyncio.run(run())
    finally:
        service.close()
        saga_service.close()

    assert held_meanwhile == "requested"
    assert others == ["completed"] * PAYMENTS_AT_ONCE + ["failed"] * 3
    done, recorded = account_steps(stack), recorded_steps(stack)
    for payment_id in payments:
        assert done[payment_id] == recorded[payment_id], payment_id
        assert set(done[payment_id].values()) <= {1}, payment_id
    refunded = [p for p in payments if done[p]["PaymentSourceRefunded.v1"]]
    assert len(refunded) == 2
    final = balances(stack, [*funded, empty, frozen])
    assert sum(final) == FUNDED * FUNDS and min(final) >= 0
