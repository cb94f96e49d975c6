"""After a payments run: every account's summary, statement and notifications agree
with the event store, and every notification exists once."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any
from uuid import UUID

import httpx

from domains.accounts.application import AccountsService
from domains.payments.application import PaymentsService
from eventstore.contexts import ACCOUNTS, PAYMENTS, application_env
from tests.e2e.payments_workload import Ledger
from tests.stack import Stack

MONEY_EVENTS = {
    "MoneyDeposited.v1": "deposit",
    "MoneyWithdrawn.v1": "withdrawal",
    "AccountDebited.v1": "payment_sent",
    "AccountCredited.v1": "payment_received",
    "AccountDebitRefunded.v1": None,
}


def url(stack: Stack, name: str) -> str:
    return next(p.url for p in reversed(stack.processes) if p.spec.name == name)


def latest_tokens(stack: Stack) -> dict[str, str]:
    return {c.name: f"{c.name}:{stack.max_position(c)}" for c in (ACCOUNTS, PAYMENTS)}


def read_all(http: httpx.Client, path: str, token: str, items: str) -> list[dict[str, Any]]:
    """Every item of a paginated feed, following next_cursor, read at `token`."""
    collected: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 200}
    while True:
        response = http.get(path, params=params, headers={"X-Consistency-Token": token})
        assert response.status_code == 200, response.text
        page = response.json()
        collected.extend(page[items])
        if page["next_cursor"] is None:
            return collected
        params["cursor"] = page["next_cursor"]


def money_events(stack: Stack) -> dict[str, Counter[str]]:
    """Per account, how many events of each money type the event store holds."""
    counts: defaultdict[str, Counter[str]] = defaultdict(Counter)
    with stack.admin() as conn:
        rows = conn.execute(
            f"SELECT originator_id::text, topic FROM {ACCOUNTS.schema}.{ACCOUNTS.events_table}"
            " WHERE topic = ANY(%s)",
            (list(MONEY_EVENTS),),
        ).fetchall()
    for account, topic in rows:
        counts[account][topic] += 1
    return counts


def failed_payments_by_source(stack: Stack, ledger: Ledger) -> Counter[str]:
    service = PaymentsService(env=application_env(PAYMENTS, stack.db, pool_size=2))
    failed = Counter(
        payment.source
        for payment in (service.get_payment(UUID(p)) for p in ledger.payments)
        if payment.status == "failed"
    )
    service.close()
    return failed


def check_read_models_agree(stack: Stack, ledger: Ledger) -> None:
    tokens = latest_tokens(stack)
    events = money_events(stack)
    failed = failed_payments_by_source(stack, ledger)
    accounts = AccountsService(env=application_env(ACCOUNTS, stack.db, pool_size=2))
    with httpx.Client(timeout=30) as http:
        for account_id in ledger.accounts:
            folded = accounts.get_account(UUID(account_id))
            summary = http.get(
                f"{url(stack, 'account-summary-query-api')}/accounts/{account_id}",
                headers={"X-Consistency-Token": tokens["accounts"]},
            ).json()
            assert (summary["balance"], summary["version"]) == (folded.balance, folded.version)

            statement = read_all(
                http,
                f"{url(stack, 'account-statement-query-api')}/accounts/{account_id}/statement",
                tokens["accounts"],
                "entries",
            )
            assert len(statement) == sum(events[account_id].values())
            assert statement[0]["balance_after"] == folded.balance
            assert sum(entry["amount"] for entry in statement) == folded.balance

            feeds = f"{url(stack, 'notifications-query-api')}/accounts/{account_id}/notifications"
            read_all(http, feeds, tokens["payments"], "notifications")  # caught up on payments
            feed = read_all(http, feeds, tokens["accounts"], "notifications")
            ids = [n["id"] for n in feed]
            assert len(ids) == len(set(ids)), "a notification exists more than once"
            expected = Counter(
                {kind: events[account_id][topic] for topic, kind in MONEY_EVENTS.items() if kind}
            )
            expected["payment_failed"] = failed[account_id]
            assert Counter(n["kind"] for n in feed) == +expected
    accounts.close()
