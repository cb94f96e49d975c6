"""A concurrent payments workload over HTTP, and the checks every run must pass."""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from uuid import UUID

import httpx

from domains.accounts.application import AccountsService
from domains.payments.aggregates import TERMINAL
from domains.payments.application import PaymentsService
from eventstore.contexts import ACCOUNTS, PAYMENTS, application_env
from tests.support.stack import Stack

OPENING_DEPOSIT = 10_000


@dataclass
class Ledger:
    """What the workload did, to check the system against."""

    accounts: list[str] = field(default_factory=list)
    deposited: int = 0
    withdrawn: int = 0
    payments: list[str] = field(default_factory=list)
    closed: str | None = None  # the account closed while payments ran
    unavailable: int = 0  # 503s the payments API answered (it could not check accounts)


def open_funded_accounts(api: str, count: int, ledger: Ledger, auth: dict[str, str]) -> str:
    """Open `count` EUR accounts with an opening deposit (the caller of `auth`, its
    Authorization header, opens them); the last consistency token."""
    token = ""
    with httpx.Client(base_url=api, timeout=30, headers=auth) as http:
        for i in range(count):
            opened = http.post("/accounts", json={"owner": f"p{i}", "currency": "EUR"}).json()
            ledger.accounts.append(opened["account_id"])
            deposit = http.post(
                f"/accounts/{opened['account_id']}/deposits", json={"amount": OPENING_DEPOSIT}
            )
            assert deposit.status_code == 200, deposit.text
            token = deposit.json()["consistency_token"]
            ledger.deposited += OPENING_DEPOSIT
    return token


def send_payments(
    payments_api: str, ledger: Ledger, count: int, token: str, seed: int, auth: dict[str, str]
) -> None:
    """`count` payments between random pairs, some overdrawing, 16 at a time, each asked
    by the caller of `auth`."""
    rng = random.Random(seed)
    requests = []
    for i in range(count):
        source, destination = rng.sample(ledger.accounts, 2)
        amount = rng.choice([rng.randint(1, 2_000), rng.randint(9_000, 30_000)])
        requests.append(
            {
                "source": source,
                "destination": destination,
                "amount": amount,
                "currency": "EUR",
                "reference": f"payment {seed}-{i}",
            }
        )

    def send(body: dict[str, object]) -> str:
        with httpx.Client(base_url=payments_api, timeout=30, headers=auth) as http:
            key = f"workload-{str(body['reference']).replace(' ', '-')}"
            deadline = time.monotonic() + 60  # the accounts may be down for a while
            while time.monotonic() < deadline:
                response = http.post(
                    "/payments",
                    json=body,
                    headers={"Idempotency-Key": key, "X-Consistency-Token": token},
                )
                if response.status_code == 202:
                    return str(response.json()["payment_id"])
                assert response.status_code == 503, response.text
                ledger.unavailable += 1
                time.sleep(0.1)  # a client backing off before it tries again
            raise AssertionError("payment never accepted")

    with ThreadPoolExecutor(16) as pool:
        ledger.payments.extend(pool.map(send, requests))


def disturb_accounts(
    api: str, ledger: Ledger, auth: dict[str, str], operator: dict[str, str]
) -> None:
    """Freeze two accounts, and empty and close a third, while payments run (the holder,
    `auth`, freezes, withdraws and closes; an operator, `operator`, unfreezes)."""
    with httpx.Client(base_url=api, timeout=30, headers=auth) as http:
        for account in ledger.accounts[:2]:
            assert http.post(f"/accounts/{account}/freeze").status_code == 200
        closing = ledger.accounts[2]
        for _ in range(50):  # payments keep moving its balance: empty it, then close
            frozen = http.post(f"/accounts/{closing}/freeze")
            assert frozen.status_code == 200, frozen.text
            balance = frozen.json()["balance"]
            unfrozen = http.post(f"/accounts/{closing}/unfreeze", headers=operator)
            assert unfrozen.status_code == 200, unfrozen.text
            if (
                balance
                and http.post(
                    f"/accounts/{closing}/withdrawals", json={"amount": balance}
                ).status_code
                == 200
            ):
                ledger.withdrawn += balance
            if http.post(f"/accounts/{closing}/close").status_code == 200:
                ledger.closed = closing
                return
        raise AssertionError(f"account {closing} could not be closed in 50 tries")


def payments_in_flight(stack: Stack) -> int:
    """How many payments the payments log holds that have not ended yet."""
    with stack.admin() as conn:
        row = conn.execute(
            f"SELECT count(DISTINCT originator_id) FROM {PAYMENTS.schema}.{PAYMENTS.events_table}"
            " WHERE originator_id NOT IN (SELECT originator_id"
            f"  FROM {PAYMENTS.schema}.{PAYMENTS.events_table} WHERE topic = ANY(%s))",
            (["PaymentCompleted.v1", "PaymentFailed.v1"],),
        ).fetchone()
    return int(row[0]) if row else 0


def payment_statuses(stack: Stack, ledger: Ledger) -> Counter[str]:
    service = PaymentsService(env=application_env(PAYMENTS, stack.db, pool_size=2))
    try:
        return Counter(service.get_payment(UUID(p)).status for p in ledger.payments)
    finally:
        service.close()


def all_finished(stack: Stack, ledger: Ledger) -> bool:
    statuses = payment_statuses(stack, ledger)
    return sum(statuses[s] for s in TERMINAL) == len(ledger.payments)


def balances(stack: Stack, ledger: Ledger) -> dict[str, int]:
    service = AccountsService(env=application_env(ACCOUNTS, stack.db, pool_size=2))
    try:
        return {a: service.get_account(UUID(a)).balance for a in ledger.accounts}
    finally:
        service.close()


# Each account step of a payment, and the payment event that records it.
STEP_RECORDS = {
    "AccountDebited.v1": "PaymentSourceDebited.v1",
    "AccountCredited.v1": "PaymentDestinationCredited.v1",
    "AccountDebitRefunded.v1": "PaymentSourceRefunded.v1",
}


def account_steps(stack: Stack) -> defaultdict[str, Counter[str]]:
    """Per payment id, how many times each payment step event appears in the accounts log
    (under the payment event type that records that step)."""
    steps: defaultdict[str, Counter[str]] = defaultdict(Counter)
    with stack.admin() as conn:
        rows = conn.execute(
            f"SELECT topic, convert_from(state, 'UTF8')::jsonb->>'payment_id'"
            f" FROM {ACCOUNTS.schema}.{ACCOUNTS.events_table} WHERE topic = ANY(%s)",
            (list(STEP_RECORDS),),
        ).fetchall()
    for topic, payment_id in rows:
        steps[payment_id][STEP_RECORDS[topic]] += 1
    return steps


def recorded_steps(stack: Stack) -> defaultdict[str, Counter[str]]:
    """Per payment id, the step events the payment itself recorded."""
    steps: defaultdict[str, Counter[str]] = defaultdict(Counter)
    with stack.admin() as conn:
        rows = conn.execute(
            f"SELECT originator_id::text, topic FROM {PAYMENTS.schema}.{PAYMENTS.events_table}"
            " WHERE topic = ANY(%s)",
            (list(STEP_RECORDS.values()),),
        ).fetchall()
    for payment_id, topic in rows:
        steps[payment_id][topic] += 1
    return steps


def causal_events(stack: Stack, payment_id: str) -> list[dict[str, str]]:
    """The payment's events and the account events it caused, oldest first, with their
    ids (`<context>:<position>`) and metadata."""
    meta = "convert_from(state, 'UTF8')::jsonb->'__meta__'"
    queries = {
        PAYMENTS: "originator_id = %s::uuid",
        ACCOUNTS: "convert_from(state, 'UTF8')::jsonb->>'payment_id' = %s",
    }
    events: list[dict[str, str]] = []
    with stack.admin() as conn:
        for context, where in queries.items():
            rows = conn.execute(
                f"SELECT notification_id, {meta} FROM {context.schema}.{context.events_table}"
                f" WHERE {where}",
                (payment_id,),
            ).fetchall()
            events += [
                {
                    "id": f"{context.name}:{position}",
                    "recorded": m["recorded_at"],
                    "correlation_id": m["correlation_id"],
                    "causation_id": m["causation_id"] or "",
                    "actor": m["actor"],
                }
                for position, m in rows
            ]
    return sorted(events, key=lambda e: e["recorded"])
